/**
 * Contract of hal Storage: whole-file write/read/erase/list/free, Espruino's pre-allocated writes
 * (write(name, data, offset, size)), append-only files without 0xFF, persistence across a reboot,
 * and typed errors (no-space, invalid-argument, io).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Storage } from '../../../hal/interfaces';
import { ascii, bytes } from '../rig';

export interface StorageFixture {
  storage: Storage;
  /** Reset the board and return the Storage of the new boot. */
  reboot(): Storage;
  capacityBytes: number;
}

export function storageContract(name: string, create: () => StorageFixture): void {
  describe(`Storage contract: ${name}`, () => {
    it('reads back what was written, null for missing files, and replaces on rewrite', () => {
      const { storage } = create();
      assert.equal(storage.read('config'), null);
      storage.write('config', Uint8Array.from([1, 2, 3, 0, 255]));
      assert.deepEqual(bytes(storage.read('config')), [1, 2, 3, 0, 255]);
      storage.write('config', 'v2');
      assert.deepEqual(bytes(storage.read('config')), Array.from(ascii('v2')));
    });

    it('fills a pre-allocated file piece by piece; unwritten bytes read 0xFF; rewriting written bytes fails', () => {
      const { storage } = create();
      storage.write('journal', ascii('head'), 0, 16);
      storage.write('journal', ascii('tail'), 12);
      const data = bytes(storage.read('journal'))!;
      assert.equal(data.length, 16);
      assert.deepEqual(data.slice(0, 4), Array.from(ascii('head')));
      assert.deepEqual(data.slice(4, 12), new Array(8).fill(0xff));
      assert.deepEqual(data.slice(12), Array.from(ascii('tail')));
      assert.throws(() => storage.write('journal', ascii('XX'), 2), { name: 'HalError', code: 'io' });
      assert.throws(() => storage.write('journal', ascii('toolong'), 12), { name: 'HalError' });
      assert.throws(() => storage.write('missing', ascii('x'), 4), { name: 'HalError', code: 'not-found' });
    });

    it('lists whole files (optionally by prefix) and erases them', () => {
      const { storage } = create();
      storage.write('rec.1', 'a');
      storage.write('rec.2', 'b');
      storage.write('cfg', 'c');
      storage.append('log', 'x\n');
      assert.deepEqual(storage.list('rec.'), ['rec.1', 'rec.2']);
      assert.ok(storage.list().includes('cfg'));
      assert.ok(!storage.list().some((file) => file.startsWith('log')), 'append-only files are not whole files');
      storage.erase('rec.1');
      assert.deepEqual(storage.list('rec.'), ['rec.2']);
      assert.equal(storage.read('rec.1'), null);
      storage.erase('never-existed');
    });

    it('accounts free space: a file costs its header and its size rounded to the flash word', () => {
      const { storage } = create();
      const before = storage.free();
      storage.write('f', ascii('12345'));
      const used = before - storage.free();
      assert.ok(used >= 32 + 5 && used <= 32 + 8, `used ${used}`);
    });

    it('reports no-space when a file cannot fit', () => {
      const { storage, capacityBytes } = create();
      assert.throws(() => storage.write('huge', new Uint8Array(1), 0, capacityBytes), { name: 'HalError', code: 'no-space' });
    });

    it('appends to append-only files and refuses the byte 0xFF', () => {
      const { storage } = create();
      assert.equal(storage.readAppended('events'), null);
      storage.append('events', 'one\n');
      storage.append('events', 'two\n');
      assert.equal(storage.readAppended('events'), 'one\ntwo\n');
      assert.throws(() => storage.append('events', 'bad\xff'), { name: 'HalError', code: 'invalid-argument' });
      storage.eraseAppended('events');
      assert.equal(storage.readAppended('events'), null);
    });

    it('appends across StorageFile chunk boundaries', () => {
      const { storage } = create();
      const line = 'x'.repeat(99) + '\n';
      for (let index = 0; index < 60; index++) storage.append('big', line);
      assert.equal(storage.readAppended('big'), line.repeat(60));
    });

    it('keeps everything across a reboot', () => {
      const fixture = create();
      fixture.storage.write('keep', Uint8Array.from([9, 8, 7]));
      fixture.storage.append('keep-log', 'a\n');
      const after = fixture.reboot();
      assert.deepEqual(bytes(after.read('keep')), [9, 8, 7]);
      assert.equal(after.readAppended('keep-log'), 'a\n');
    });

    it('rejects bad names and data', () => {
      const { storage } = create();
      assert.throws(() => storage.read(''), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => storage.write('x'.repeat(29), 'a'), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => storage.write('ok', 42 as unknown as string), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => storage.write('ok', ''), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => storage.write('ok', 'a', -1), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => storage.append('x'.repeat(28), 'a'), { name: 'HalError', code: 'invalid-argument' });
    });

    it('behaves like a map of names to bytes under any sequence of writes and erases (property)', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ kind: fc.constant('write' as const), name: fc.constantFrom('a', 'b', 'c', 'd'), data: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
              fc.record({ kind: fc.constant('erase' as const), name: fc.constantFrom('a', 'b', 'c', 'd') }),
            ),
            { maxLength: 40 },
          ),
          (operations) => {
            const { storage } = create();
            const model = new Map<string, number[]>();
            for (const operation of operations) {
              if (operation.kind === 'write') {
                storage.write(operation.name, operation.data);
                model.set(operation.name, Array.from(operation.data));
              } else {
                storage.erase(operation.name);
                model.delete(operation.name);
              }
            }
            for (const name of ['a', 'b', 'c', 'd']) assert.deepEqual(bytes(storage.read(name)), model.get(name) ?? null);
            assert.deepEqual(storage.list().filter((file) => !file.startsWith('.')), [...model.keys()].sort());
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
