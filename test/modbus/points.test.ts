import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { decodePoint, decodeRaw, encodePoint, type Order, type PointDefinition, type PointType } from '../../firmware/modbus/points';

/** Wire bytes of a 32-bit big-endian value laid out in the given word and byte order, by Buffer, independently. */
function lay(big: Buffer, wordOrder: Order, byteOrder: Order): Uint8Array {
  const words = [big.subarray(0, 2), big.subarray(2, 4)].slice(0, big.length / 2);
  if (wordOrder === 'little') words.reverse();
  return Uint8Array.from(Buffer.concat(words.map((word) => (byteOrder === 'little' ? Buffer.from([word[1]!, word[0]!]) : word))));
}

const orders: Order[] = ['big', 'little'];

describe('Modbus point decoding', () => {
  it('decodes every type in every word and byte order', () => {
    fc.assert(
      fc.property(fc.integer(), fc.float({ noNaN: true }), fc.constantFrom(...orders), fc.constantFrom(...orders), (integer, float, wordOrder, byteOrder) => {
        const cases: Array<[PointType, Buffer, number]> = [];
        const u32 = Buffer.alloc(4);
        u32.writeUInt32BE(integer >>> 0);
        cases.push(['u32', u32, integer >>> 0]);
        const s32 = Buffer.alloc(4);
        s32.writeInt32BE(integer | 0);
        cases.push(['s32', s32, integer | 0]);
        const f32 = Buffer.alloc(4);
        f32.writeFloatBE(float);
        cases.push(['float32', f32, f32.readFloatBE(0)]);
        const u16 = Buffer.alloc(2);
        u16.writeUInt16BE(integer & 0xffff);
        cases.push(['u16', u16, integer & 0xffff]);
        const s16 = Buffer.alloc(2);
        s16.writeInt16BE((integer << 16) >> 16);
        cases.push(['s16', s16, (integer << 16) >> 16]);
        for (const [type, big, expected] of cases) {
          const bytes = lay(big, wordOrder, byteOrder);
          assert.ok(Object.is(decodeRaw(bytes, 0, type, wordOrder, byteOrder), expected), `${type} ${wordOrder}/${byteOrder}`);
          const point: PointDefinition = { name: 'p', table: 'holding', address: 0, type, wordOrder, byteOrder };
          const words = encodePoint(point, expected);
          const wire = Buffer.alloc(words.length * 2);
          words.forEach((word, index) => wire.writeUInt16BE(word, index * 2));
          assert.deepEqual(Uint8Array.from(wire), bytes, `encode ${type} ${wordOrder}/${byteOrder}`);
        }
      }),
    );
  });

  it('applies scale, offset and the position inside a merged read', () => {
    // Registers 100..103: [0x0001, 0x86A0 (100000 as u32 big), 0xFF38 (-200 as s16)]
    const bytes = Uint8Array.of(0xaa, 0xaa, 0x00, 0x01, 0x86, 0xa0, 0xff, 0x38);
    assert.equal(decodePoint({ name: 'energy', table: 'holding', address: 101, type: 'u32', scale: 0.01 }, bytes, 100), 1000);
    assert.equal(decodePoint({ name: 'temperature', table: 'holding', address: 103, type: 's16', scale: 0.1, offset: 20 }, bytes, 100), 0);
    assert.equal(encodePoint({ name: 't', table: 'holding', address: 0, type: 's16', scale: 0.1, offset: 20 }, 0)[0], 0xff38);
    assert.deepEqual(encodePoint({ name: 'big', table: 'holding', address: 0, type: 'u16' }, 1e9), [0xffff], 'clamped');
  });

  it('knows documented float32 examples (TUF-2000 REAL4 low word first, Eastron ABCD)', () => {
    // 230.0 V = 0x43660000 in an SDM630 answer; the same in TUF-2000 layout is 00 00 43 66.
    assert.equal(decodeRaw(Uint8Array.of(0x43, 0x66, 0, 0), 0, 'float32', 'big', 'big'), 230);
    assert.equal(decodeRaw(Uint8Array.of(0, 0, 0x43, 0x66), 0, 'float32', 'little', 'big'), 230);
    assert.equal(decodeRaw(Uint8Array.of(0x66, 0x43, 0, 0), 0, 'float32', 'big', 'little'), 230);
  });
});
