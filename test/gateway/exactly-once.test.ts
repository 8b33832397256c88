/**
 * The pieces of QoS 2 exactly-once that a SIGKILL run cannot aim at one by one: the release log (real SQLite files,
 * reopened as after a crash), the outgoing store's choice between PUBREL and PUBLISH after a restart, and the packet
 * ids that follow from the journal. The whole, under random kills, is test/gateway/sigkill.test.ts.
 */
import { strict as assert } from 'node:assert';
import type { Packet } from 'mqtt-packet';
import { JournalOutgoingStore, JournalPacketIds, packetIdFor } from '../../gateway/mqtt/exactly-once';
import { ReleaseLog, releaseLogFile } from '../../gateway/mqtt/release-log';
import { Database, databaseFile, openDatabase } from '../../gateway/store/database';
import { Journal, JournalRow } from '../../gateway/store/journal';
import { temporaryDirectory } from './support/harness';

function settle(log: ReleaseLog, sequence: number): Promise<Error | null> {
  return new Promise((resolve) => log.release(sequence, resolve));
}

function streamed(store: JournalOutgoingStore): Promise<Packet[]> {
  return new Promise((resolve, reject) => {
    const packets: Packet[] = [];
    const stream = store.createStream();
    stream.on('data', (packet: Packet) => packets.push(packet));
    stream.on('end', () => resolve(packets));
    stream.on('error', reject);
  });
}

describe('gateway: exactly once at QoS 2 (release log, outgoing store, packet ids)', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let database: Database;
  let journal: Journal;
  const logs: ReleaseLog[] = [];

  function openLog(): ReleaseLog {
    const log = new ReleaseLog(releaseLogFile(directory.path), {
      sync: true,
      journalSequencesBetween: (first, last) => journal.sequencesBetween(first, last),
      journalWalFile: `${databaseFile(directory.path)}-wal`,
    });
    logs.push(log);
    return log;
  }

  function appendRows(count: number): JournalRow[] {
    return database.transaction(() =>
      journal.append(Array.from({ length: count }, (_, index) => ({ topic: `udt/1/up`, payload: Buffer.from(`{"readingId":${index + 1}}`), retain: false, receivedAt: index }))),
    )();
  }

  beforeEach(() => {
    directory = temporaryDirectory('udt-exactly-once-');
    database = openDatabase(databaseFile(directory.path));
    journal = new Journal(database);
  });

  afterEach(() => {
    for (const log of logs.splice(0)) log.close();
    database.close();
    directory.remove();
  });

  it('settles a release once it is written, and a reopened log (after a crash) names it', async () => {
    const log = openLog();
    assert.deepEqual(log.releasedBefore, []);
    assert.deepEqual(await Promise.all([settle(log, 7), settle(log, 8)]), [null, null]);
    // Not closed: as after a SIGKILL, only what was written counts.
    const reopened = openLog();
    assert.deepEqual(reopened.releasedBefore, [7, 8]);
  });

  it('forgets a completed row only once the journal no longer holds it', async () => {
    const rows = appendRows(3);
    const log = openLog();
    for (const row of rows) assert.equal(await settle(log, row.sequence), null);
    for (const row of rows) log.completed(row.sequence);
    // The broker completed all three, but the gateway has deleted only the first from its journal so far.
    database.transaction(() => journal.remove([rows[0]!.sequence]))();
    await log.prune();
    assert.deepEqual(openLog().releasedBefore, [rows[1]!.sequence, rows[2]!.sequence], 'rows still in the journal keep their release');
    database.transaction(() => journal.remove([rows[1]!.sequence, rows[2]!.sequence]))();
    await log.prune();
    assert.deepEqual(openLog().releasedBefore, []);
  });

  it('refuses a release once closed, so no PUBREL goes out unrecorded', async () => {
    const log = openLog();
    log.close();
    const error = await settle(log, 1);
    assert.ok(error && /closed/.test(error.message));
  });

  it('finishes a row released before a restart with a PUBREL, and with a PUBLISH when the broker lost the session', async () => {
    const [row] = appendRows(1);
    const log = openLog();
    const completed: number[] = [];
    const store = new JournalOutgoingStore(log, { recoveredCompleted: (done) => completed.push(done.sequence), releaseFailed: () => assert.fail('no release fails') });
    store.recover(row!, 2);
    const packetId = packetIdFor(row!.sequence);
    assert.deepEqual(await streamed(store), [{ cmd: 'pubrel', messageId: packetId }]);
    store.sessionPresent = false;
    const [publish] = (await streamed(store)) as Array<Packet & { payload: Buffer; dup: boolean; qos: number; topic: string }>;
    assert.equal(publish!.cmd, 'publish');
    assert.equal(publish!.messageId, packetId, 'the packet id it had before');
    assert.equal(publish!.dup, true);
    assert.equal(publish!.qos, 2);
    assert.equal(publish!.payload.toString(), row!.payload.toString());
    await new Promise<void>((resolve) => store.del({ messageId: packetId }, () => resolve()));
    assert.deepEqual(completed, [row!.sequence]);
  });

  it('lets MQTT.js send a PUBREL only after the release is written', async () => {
    const [row] = appendRows(1);
    const log = openLog();
    const store = new JournalOutgoingStore(log, { recoveredCompleted: () => undefined, releaseFailed: () => undefined });
    const packetId = packetIdFor(row!.sequence);
    store.expect(packetId, row!);
    store.put({ cmd: 'publish', topic: row!.topic, payload: row!.payload, qos: 2, retain: false, dup: false, messageId: packetId }, () => undefined);
    let released = false;
    const written = new Promise<void>((resolve) =>
      store.put({ cmd: 'pubrel', messageId: packetId }, (error) => {
        assert.equal(error, undefined);
        released = true;
        resolve();
      }),
    );
    assert.equal(released, false, 'not before the write');
    await written;
    assert.deepEqual(openLog().releasedBefore, [row!.sequence]);
  });

  it('reports a release it could not write, and keeps the PUBLISH to send again', async () => {
    const [row] = appendRows(1);
    const log = openLog();
    const failures: string[] = [];
    const store = new JournalOutgoingStore(log, { recoveredCompleted: () => undefined, releaseFailed: (failed, error) => failures.push(`${failed.sequence}: ${error.message}`) });
    const packetId = packetIdFor(row!.sequence);
    store.expect(packetId, row!);
    store.put({ cmd: 'publish', topic: row!.topic, payload: row!.payload, qos: 2, retain: false, dup: false, messageId: packetId }, () => undefined);
    log.close();
    const error = await new Promise<Error | undefined>((resolve) => store.put({ cmd: 'pubrel', messageId: packetId }, resolve));
    assert.ok(error);
    assert.equal(failures.length, 1);
    assert.deepEqual((await streamed(store)).map((packet) => packet.cmd), ['publish']);
  });

  it('gives a journal row the packet id its sequence number says, round 1…65535, and other messages free ids', () => {
    assert.deepEqual([1, 2, 65535, 65536, 65537, 131071].map(packetIdFor), [1, 2, 65535, 1, 2, 1]);
    const ids = new JournalPacketIds();
    ids.claim(42);
    assert.equal(ids.allocate(), 42);
    assert.equal(ids.claimTaken(), true);
    const status = ids.allocate();
    assert.ok(status !== null && status !== 42 && status > 60000, 'a free id far from the journal');
    ids.claim(42);
    assert.notEqual(ids.allocate(), 42, 'an id in use is never handed out twice');
    ids.deallocate(42);
    ids.claim(42);
    assert.equal(ids.allocate(), 42);
    ids.claim(7);
    assert.equal(ids.claimTaken(), false, 'a claim nobody took is reported');
  });
});
