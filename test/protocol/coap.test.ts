import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CoapMessage, CoapOption, CoapType, decodeCoap, encodeCoap, sortOptions } from '../../firmware/protocol/coap';
import { isProtocolError } from '../../firmware/protocol/errors';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { seeded } from './support';

function rejects(hex: string, code: string): void {
  assert.throws(() => decodeCoap(hexToBytes(hex)), (error: unknown) => isProtocolError(error) && error.code === code);
}

const message: fc.Arbitrary<CoapMessage> = fc.record({
  type: fc.constantFrom<CoapType>(0, 1, 2, 3),
  code: fc.oneof(fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0x40, max: 0xbf })),
  messageId: fc.integer({ min: 0, max: 0xffff }),
  token: fc.uint8Array({ maxLength: 8 }),
  options: fc.array(fc.record({ number: fc.integer({ min: 0, max: 2000 }), value: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 6 }),
  payload: fc.uint8Array({ maxLength: 100 }),
});

describe('protocol: CoAP messages (RFC 7252 Section 3)', () => {
  it('decodes and re-encodes the request of RFC 8613 Appendix C.4', () => {
    const hex = '44015d1f00003974396c6f63616c686f737483747631';
    const decoded = decodeCoap(hexToBytes(hex));
    assert.equal(decoded.type, 0);
    assert.equal(decoded.code, 0x01);
    assert.equal(decoded.messageId, 0x5d1f);
    assert.equal(bytesToHex(decoded.token), '00003974');
    assert.deepEqual(decoded.options.map((option) => [option.number, Buffer.from(option.value).toString()]), [[3, 'localhost'], [11, 'tv1']]);
    assert.equal(decoded.payload.length, 0);
    assert.equal(bytesToHex(encodeCoap(decoded)), hex);
  });

  it('uses the 13 and 14 delta/length extensions (Section 3.1)', () => {
    const encoded = encodeCoap({
      type: 0, code: 2, messageId: 1, token: new Uint8Array(0),
      options: [{ number: 300, value: new Uint8Array(269) }, { number: 12, value: new Uint8Array([0x70]) }, { number: 60, value: new Uint8Array(13) }],
      payload: new Uint8Array([1]),
    });
    // option 12: delta 12, length 1; option 60: delta 48 -> 13 + 35, length 13 -> 13 + 0; option 300: delta 240 -> 13 + 227, length 269 -> 14 + 0x0000
    assert.equal(bytesToHex(encoded.subarray(4, 9)), 'c170dd2300');
    assert.equal(bytesToHex(encoded.subarray(22, 26)), 'dee30000');
    const decoded = decodeCoap(encoded);
    assert.deepEqual(decoded.options.map((option) => [option.number, option.value.length]), [[12, 1], [60, 13], [300, 269]]);
  });

  it('keeps repeated options in order while sorting by number', () => {
    const options = [{ number: 11, value: new Uint8Array([1]) }, { number: 3, value: new Uint8Array([2]) }, { number: 11, value: new Uint8Array([3]) }];
    assert.deepEqual(sortOptions(options).map((option) => option.value[0]), [2, 1, 3]);
  });

  it('round-trips random messages (fast-check)', () => {
    fc.assert(
      fc.property(message, (original) => {
        const decoded = decodeCoap(encodeCoap(original));
        assert.deepEqual(
          { ...decoded, options: decoded.options.map((option) => [option.number, bytesToHex(option.value)]), token: bytesToHex(decoded.token), payload: bytesToHex(decoded.payload) },
          { ...original, options: sortOptions(original.options).map((option) => [option.number, bytesToHex(option.value)]), token: bytesToHex(original.token), payload: bytesToHex(original.payload) },
        );
      }),
      seeded(1000),
    );
  });

  describe('rejects malformed messages', () => {
    it('shorter than the header', () => rejects('4401', 'truncated'));
    it('version other than 1', () => rejects('84015d1f', 'malformed'));
    it('token length 9-15 (reserved)', () => rejects('49015d1f000000000000000000', 'malformed'));
    it('token past the end', () => rejects('44015d1f0000', 'truncated'));
    it('option nibble 15 (reserved)', () => rejects('40015d1ff1', 'malformed'));
    it('delta extension missing', () => rejects('40015d1fd0', 'truncated'));
    it('option value past the end', () => rejects('40015d1f3561', 'truncated'));
    it('payload marker without payload', () => rejects('40015d1fff', 'malformed'));
    it('empty message with a token or payload', () => rejects('41005d1f01', 'malformed'));
    it('reserved code classes 1, 6, 7', () => {
      rejects('40205d1f', 'malformed');
      rejects('40c05d1f', 'malformed');
    });
    it('option numbers above 65535', () => rejects('40015d1fe0ffff' + 'e0ffff', 'malformed'));
    it('random bytes give a message or a ProtocolError, nothing else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
          try {
            decodeCoap(bytes);
          } catch (error) {
            assert.ok(isProtocolError(error), String(error));
          }
        }),
        seeded(20000),
      );
    });
  });

  it('refuses to encode tokens over 8 bytes and bad message ids', () => {
    const base = { type: 0 as CoapType, code: 1, messageId: 1, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
    assert.throws(() => encodeCoap({ ...base, token: new Uint8Array(9) }), (error: unknown) => isProtocolError(error) && error.code === 'invalid-argument');
    assert.throws(() => encodeCoap({ ...base, messageId: 70000 }), (error: unknown) => isProtocolError(error) && error.code === 'invalid-argument');
    assert.equal(CoapOption.Oscore, 9);
  });
});
