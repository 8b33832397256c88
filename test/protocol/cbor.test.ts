import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decoder, Encoder } from 'cbor-x';
import { CborMap, CborValue, decodeCbor, encodeCbor } from '../../firmware/protocol/cbor';
import { isProtocolError, ProtocolError } from '../../firmware/protocol/errors';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { seeded } from './support';

function throwsProtocolError(run: () => unknown, code?: string): void {
  try {
    run();
  } catch (error) {
    assert.ok(isProtocolError(error), `expected a ProtocolError, got ${String(error)}`);
    if (code) assert.equal((error as ProtocolError).code, code);
    return;
  }
  assert.fail('expected a ProtocolError');
}

/** Arbitrary values of the codec's value model. */
const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
    fc.maxSafeInteger(),
    fc.double(),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 24 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), fc.string({ maxLength: 4 })), tie('value')), {
        maxLength: 5,
        selector: (entry) => entry[0],
      })
      .map((entries) => {
        const map = new CborMap();
        for (const [key, value] of entries) map.set(key, value);
        return map;
      }),
  ),
})).value;

/** Converts our model and cbor-x's output to one comparable shape. */
function normalize(value: unknown): unknown {
  if (value instanceof CborMap) return { map: value.keys.map((key, index) => [key, normalize(value.values[index])]) };
  if (value instanceof Map) return { map: [...value.entries()].map(([key, inner]) => [key, normalize(inner)]) };
  if (value instanceof Uint8Array) return { bytes: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  return value;
}

describe('protocol: CBOR (RFC 8949)', () => {
  describe('encodes the RFC 8949 Appendix A examples', () => {
    const examples: Array<[CborValue, string]> = [
      [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
      [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'], [-1, '20'], [-10, '29'], [-100, '3863'],
      [-1000, '3903e7'], [-0, 'f98000'], [1.1, 'fb3ff199999999999a'], [1.5, 'f93e00'], [3.4028234663852886e38, 'fa7f7fffff'],
      [1.0e300, 'fb7e37e43c8800759c'], [5.960464477539063e-8, 'f90001'], [0.00006103515625, 'f90400'], [-4.1, 'fbc010666666666666'],
      [Infinity, 'f97c00'], [NaN, 'f97e00'], [-Infinity, 'f9fc00'], [false, 'f4'], [true, 'f5'], [null, 'f6'], [undefined, 'f7'],
      [new Uint8Array(0), '40'], [hexToBytes('01020304'), '4401020304'], ['', '60'], ['a', '6161'], ['IETF', '6449455446'],
      ['"\\', '62225c'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'], ['\ud800\udd51', '64f0908591'], [[], '80'], [[1, 2, 3], '83010203'],
      [[1, [2, 3], [4, 5]], '8301820203820405'],
      [Array.from({ length: 25 }, (_, index) => index + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
      [new CborMap(), 'a0'], [new CborMap().set(1, 2).set(3, 4), 'a201020304'], [new CborMap().set('a', 1).set('b', [2, 3]), 'a26161016162820203'],
    ];
    for (const [value, hex] of examples) {
      it(`${hex}`, () => {
        assert.equal(bytesToHex(encodeCbor(value)), hex);
        assert.deepEqual(normalize(decodeCbor(hexToBytes(hex))), normalize(value));
      });
    }
    it('decodes the Appendix A floats that it would encode as integers', () => {
      assert.equal(decodeCbor(hexToBytes('f90000')), 0);
      assert.equal(decodeCbor(hexToBytes('f93c00')), 1);
      assert.equal(decodeCbor(hexToBytes('f97bff')), 65504);
      assert.equal(decodeCbor(hexToBytes('fa47c35000')), 100000);
      assert.equal(decodeCbor(hexToBytes('f9c400')), -4);
      assert.equal(decodeCbor(hexToBytes('1b001fffffffffffff')), 2 ** 53 - 1);
    });
  });

  it('round-trips any value of its model (fast-check)', () => {
    fc.assert(
      fc.property(cborValue, (value) => {
        assert.deepEqual(normalize(decodeCbor(encodeCbor(value))), normalize(value));
      }),
      seeded(2000),
    );
  });

  it('agrees with cbor-x in both directions', () => {
    const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
    const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, variableMapSize: true });
    fc.assert(
      fc.property(cborValue, (value) => {
        assert.deepEqual(normalize(decoder.decode(encodeCbor(value))), normalize(value));
        const theirs = encoder.encode(toCborX(value));
        // cbor-x writes -0 as the integer 0; everything else must survive exactly.
        const withoutNegativeZero = (shape: unknown): unknown =>
          shape === '-0' ? 0 : Array.isArray(shape) ? shape.map(withoutNegativeZero) : shape && typeof shape === 'object'
            ? Object.fromEntries(Object.entries(shape).map(([key, inner]) => [key, withoutNegativeZero(inner)])) : shape;
        assert.deepEqual(withoutNegativeZero(normalize(decodeCbor(new Uint8Array(theirs)))), withoutNegativeZero(normalize(value)));
      }),
      seeded(1000),
    );
  });

  it('encodes numbers in the shortest exact form', () => {
    assert.equal(encodeCbor(230.5).length, 3); // half
    assert.equal(encodeCbor(Math.fround(12345.67)).length, 5); // single
    assert.equal(encodeCbor(12345.67).length, 9); // double: not exact in single precision
    assert.equal(encodeCbor(2 ** 53 - 1).length, 9);
    assert.equal(bytesToHex(encodeCbor(2 ** 53)), 'fa5a000000'); // beyond integers: an exact float
  });

  describe('rejects hostile input with ProtocolError only', () => {
    it('truncation of any valid encoding at any point', () => {
      fc.assert(
        fc.property(cborValue, (value) => {
          const encoded = encodeCbor(value);
          for (let length = 0; length < encoded.length; length++) throwsProtocolError(() => decodeCbor(encoded.subarray(0, length)));
        }),
        seeded(500),
      );
    });
    it('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            decodeCbor(bytes);
          } catch (error) {
            assert.ok(isProtocolError(error), String(error));
          }
        }),
        seeded(20000),
      );
    });
    it('nesting deeper than the limit', () => throwsProtocolError(() => decodeCbor(new Uint8Array(100).fill(0x81)), 'limit'));
    it('lengths larger than the input, without allocating them', () => {
      throwsProtocolError(() => decodeCbor(hexToBytes('5a7fffffff00')), 'limit');
      throwsProtocolError(() => decodeCbor(hexToBytes('9a7fffffff00')), 'limit');
      throwsProtocolError(() => decodeCbor(hexToBytes('bb001fffffffffffff00')), 'limit');
      throwsProtocolError(() => decodeCbor(hexToBytes('98ff00')), 'truncated');
      throwsProtocolError(() => decodeCbor(hexToBytes('5810aa')), 'truncated');
    });
    it('indefinite lengths, tags, other simple values, reserved additional information', () => {
      throwsProtocolError(() => decodeCbor(hexToBytes('9f01ff')), 'unsupported');
      throwsProtocolError(() => decodeCbor(hexToBytes('c11a514b67b0')), 'unsupported');
      throwsProtocolError(() => decodeCbor(hexToBytes('f0')), 'unsupported');
      throwsProtocolError(() => decodeCbor(hexToBytes('f818')), 'unsupported');
      throwsProtocolError(() => decodeCbor(hexToBytes('1c')), 'malformed');
    });
    it('integers beyond 2^53 - 1', () => throwsProtocolError(() => decodeCbor(hexToBytes('1b0020000000000000')), 'unsupported'));
    it('duplicate map keys and non-integer/text keys', () => {
      throwsProtocolError(() => decodeCbor(hexToBytes('a201020103')), 'malformed');
      throwsProtocolError(() => decodeCbor(hexToBytes('a1f401')), 'unsupported');
      throwsProtocolError(() => decodeCbor(hexToBytes('a1f93e0001')), 'unsupported');
    });
    it('invalid UTF-8: overlong, surrogates, truncated sequences', () => {
      for (const hex of ['62c0af', '63eda080', '61c3', '64f4908080', '61ff']) throwsProtocolError(() => decodeCbor(hexToBytes(hex)), 'malformed');
    });
    it('bytes after the item', () => throwsProtocolError(() => decodeCbor(hexToBytes('0101')), 'malformed'));
    it('refuses to encode what it cannot represent', () => {
      throwsProtocolError(() => encodeCbor({} as unknown as CborValue), 'invalid-argument');
      throwsProtocolError(() => encodeCbor('\ud800'), 'invalid-argument');
    });
  });
});

function toCborX(value: CborValue): unknown {
  if (value instanceof CborMap) return new Map(value.keys.map((key, index) => [key, toCborX(value.values[index])]));
  if (Array.isArray(value)) return value.map(toCborX);
  // cbor-x tags a Uint8Array (RFC 8746 typed array); a Buffer is a plain byte string.
  if (value instanceof Uint8Array) return Buffer.from(value);
  return value;
}
