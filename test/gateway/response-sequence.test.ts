import { strict as assert } from 'node:assert';
import { isProtocolError } from '../../firmware/protocol/errors';
import { GroupCommitter } from '../../gateway/store/committer';
import { Database, databaseFile, openDatabase } from '../../gateway/store/database';
import { Journal } from '../../gateway/store/journal';
import { RESPONSE_SEQUENCE_BLOCK, ResponseSequence } from '../../gateway/store/response-sequence';
import { temporaryDirectory } from './support/harness';

function storedLimit(file: string): number {
  const reader = openDatabase(file);
  try {
    const row = reader.prepare("SELECT value FROM meta WHERE key = 'response_sequence_limit'").get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  } finally {
    reader.close();
  }
}

describe("gateway: its own OSCORE sequence numbers for responses that cannot reuse the request's nonce", () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let file: string;
  const open: Array<{ database: Database; committer: GroupCommitter }> = [];

  function start(blockSize?: number): { sequence: ResponseSequence; committer: GroupCommitter; database: Database; syncs: () => number } {
    const database = openDatabase(file, { synchronous: 'NORMAL' });
    const committer = new GroupCommitter(database, new Journal(database), { batchLimit: 100, maximumPending: 100, walFile: `${file}-wal` });
    open.push({ database, committer });
    const sequence = new ResponseSequence(database, committer, blockSize);
    let syncs = 0;
    sequence.reserveFirstBlock(() => {
      syncs++;
      committer.syncWalNow();
    });
    return { sequence, committer, database, syncs: () => syncs };
  }

  beforeEach(() => {
    directory = temporaryDirectory();
    file = databaseFile(directory.path);
  });

  afterEach(() => {
    for (const { database, committer } of open.splice(0)) {
      committer.close();
      committer.releaseWal();
      if (database.open) database.close();
    }
    directory.remove();
  });

  it('reserves a block on disk (fsynced) before the first number is used, and never reuses a number after a restart or a crash', () => {
    const first = start();
    assert.equal(first.syncs(), 1);
    assert.equal(storedLimit(file), RESPONSE_SEQUENCE_BLOCK);
    const used = [first.sequence.sequence.take(), first.sequence.sequence.take(), first.sequence.sequence.take()];
    assert.deepEqual(used, [0, 1, 2]);
    // A crash: nothing else is written; the next start resumes above everything the first one could have used.
    const second = start();
    const next = second.sequence.sequence.take();
    assert.equal(next, RESPONSE_SEQUENCE_BLOCK);
    assert.equal(storedLimit(file), 2 * RESPONSE_SEQUENCE_BLOCK);
  });

  it('reserves the next block in an ordinary commit while half a block is left, and uses it only once it is on disk', async () => {
    const { sequence, committer } = start(8);
    const taken: number[] = [];
    for (let index = 0; index < 5; index++) taken.push(sequence.sequence.take());
    assert.deepEqual(taken, [0, 1, 2, 3, 4]);
    // The reservation of [8, 16) is staged, not yet committed: only 8 numbers are usable so far.
    assert.equal(sequence.remaining, 3);
    assert.equal(storedLimit(file), 8);
    await committer.whenSettled();
    assert.equal(storedLimit(file), 16);
    assert.equal(sequence.remaining, 11);
    for (let index = 0; index < 11; index++) {
      const number = sequence.sequence.take();
      assert.ok(number < storedLimit(file), `number ${number} used before it was reserved on disk`);
      await committer.whenSettled();
    }
  });

  it('sends nothing once the reserved numbers are used up and no more can be stored', async () => {
    const { sequence, database, committer } = start(4);
    // Storage fails from now on: every commit (and so every further reservation) is rolled back.
    database.exec("CREATE TRIGGER fail_meta BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    const taken: number[] = [];
    let refusal: unknown = null;
    for (let index = 0; index < 6 && refusal === null; index++) {
      try {
        taken.push(sequence.sequence.take());
      } catch (error) {
        refusal = error;
      }
    }
    assert.deepEqual(taken, [0, 1, 2, 3]);
    assert.ok(isProtocolError(refusal) && refusal.code === 'persist-failed', String(refusal));
    await committer.whenSettled();
    assert.equal(sequence.remaining, 0, 'the failed reservation gave nothing');
    assert.throws(() => sequence.sequence.take(), (error: unknown) => isProtocolError(error) && error.code === 'persist-failed');
    await committer.whenSettled();
  });
});
