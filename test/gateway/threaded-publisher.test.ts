import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { packRows, unpackRows } from '../../gateway/mqtt/threaded-publisher';
import type { JournalRow } from '../../gateway/store/journal';

describe('gateway: journal rows handed to the MQTT worker thread', () => {
  it('pack into one buffer of their own and unpack unchanged (topics in any script, empty payloads, retain flags)', () => {
    const row = fc.record({
      sequence: fc.integer({ min: 1, max: 2 ** 52 }),
      topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      retain: fc.boolean(),
      receivedAt: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), (rows: JournalRow[]) => {
        const packed = packRows(rows);
        assert.equal(packed.buffer.byteLength > 0, true);
        const unpacked = unpackRows(structuredClone(packed, { transfer: [packed.buffer] }));
        assert.deepEqual(
          unpacked.map((item) => ({ ...item, payload: Buffer.from(item.payload) })),
          rows.map((item) => ({ ...item, payload: Buffer.from(item.payload) })),
        );
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it('never sends a pooled Buffer (a post would copy its whole 8 KB pool)', () => {
    const pooled = Buffer.from('{"readingId":1}');
    const packed = packRows([{ sequence: 1, topic: 'udt/1/up', payload: pooled, retain: false, receivedAt: 0 }]);
    assert.equal(packed.buffer.byteLength, 25 + 'udt/1/up'.length + pooled.length);
  });
});
