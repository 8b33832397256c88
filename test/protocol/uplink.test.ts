import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CborMap, decodeCbor, encodeCbor } from '../../firmware/protocol/cbor';
import { isProtocolError } from '../../firmware/protocol/errors';
import { encodeSenmlPack, readSenmlPack, resolveSenmlPack, SenmlRecord } from '../../firmware/protocol/senml';
import {
  ChannelValue,
  decodeDownlink,
  decodeUplink,
  DownlinkMessage,
  encodeDownlink,
  encodeUplink,
  Reading,
  recordsToReadings,
  UplinkMessage,
} from '../../firmware/protocol/uplink';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { seeded } from './support';

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const channelValue: fc.Arbitrary<ChannelValue> = fc.oneof(
  finite,
  fc.integer({ min: -100000, max: 100000 }),
  fc.boolean(),
  fc.string({ maxLength: 8 }),
  fc.record(
    { name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), value: finite, unit: fc.constantFrom('V', 'A', 'Cel') },
    { requiredKeys: ['name', 'value'] },
  ),
);
const reading: fc.Arbitrary<Reading> = fc.record({
  id: fc.maxSafeNat(),
  time: fc.oneof(fc.integer({ min: 1_600_000_000, max: 2_100_000_000 }), fc.integer({ min: -86400, max: 0 })),
  values: fc.array(channelValue, { minLength: 1, maxLength: 8 }),
});
const uplink: fc.Arbitrary<UplinkMessage> = fc.record({
  readings: fc.array(reading, { maxLength: 6 }),
  commandResults: fc.array(fc.record({ commandId: fc.nat(), status: fc.nat({ max: 300 }), detail: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }) }, { requiredKeys: ['commandId', 'status'] }), { maxLength: 3 }),
});

/** Normalizes -0 (encoded as half-precision -0, decoded as -0; deepEqual distinguishes them from 0). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, inner) => (inner instanceof CborMap ? { keys: inner.keys, values: inner.values } : inner)));

describe('protocol: SenML packs and the uplink/downlink messages', () => {
  it('round-trips any batch of readings and command results (fast-check)', () => {
    fc.assert(
      fc.property(uplink, (message) => {
        const decoded = decodeUplink(encodeUplink(message));
        assert.deepEqual(plain(recordsToReadings(decoded.records)), plain(message.readings));
        assert.deepEqual(plain(decoded.commandResults), plain(message.commandResults));
      }),
      seeded(1000),
    );
  });

  it('round-trips any downlink (fast-check)', () => {
    const downlink: fc.Arbitrary<DownlinkMessage> = fc.record({
      acknowledgedReadingId: fc.option(fc.maxSafeNat(), { nil: null }),
      commands: fc.array(fc.record({ id: fc.nat(), name: fc.string({ maxLength: 10 }), arguments: fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 5 })) }), { maxLength: 3 }),
      configuration: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.integer()).map((entries) => {
        const map = new CborMap();
        for (const key of Object.keys(entries)) map.set(key, entries[key]);
        return map;
      }), { nil: null }),
      time: fc.option(fc.integer({ min: 0, max: 2 ** 32 }), { nil: null }),
      acknowledgedCommandResults: fc.array(fc.nat(), { maxLength: 4 }),
    });
    fc.assert(fc.property(downlink, (message) => assert.deepEqual(plain(decodeDownlink(encodeDownlink(message))), plain(message))), seeded(1000));
  });

  it('writes each reading as records whose first one carries the reading id and the time', () => {
    const payload = encodeUplink({ readings: [{ id: 7, time: 1767225600, values: [1.5, { name: 'door', value: 1 }] }, { id: 8, time: 1767225600, values: [2] }], commandResults: [] });
    // [{-3: 1767225600, -24: 7, 2: 1.5}, {0: "door", 2: 1}, {-24: 8, 2: 2}]
    assert.equal(bytesToHex(payload), '83' + 'a3221a6955b900370702f93e00' + 'a20064646f6f720201' + 'a237080202');
  });

  describe('resolution (RFC 8428 Section 4.6) with positional channel names', () => {
    const records = readSenmlPack(decodeCbor(encodeSenmlPack([
      { baseTime: 1767225600, baseReadingId: 10, value: 12.5 },
      { value: 230 },
      { name: 'tamper', booleanValue: true, time: 5 },
      { baseReadingId: 11, baseTime: -30, baseUnit: 'V', baseValue: 200, value: 31 },
      { baseName: 'aux/', name: 'temp', unit: 'Cel', value: 21.5 },
    ])));
    const resolved = resolveSenmlPack(records, 1767230000, ['energy', 'voltage']);
    it('names unnamed records by position within their reading', () => {
      assert.deepEqual(resolved.map((record) => record.name), ['energy', 'voltage', 'tamper', 'energy', 'aux/temp']);
    });
    it('applies base time, relative time, base value and base unit', () => {
      assert.deepEqual(resolved.map((record) => record.time), [1767225600, 1767225600, 1767225605, 1767229970, 1767229970]);
      assert.equal(resolved[3].value, 231);
      assert.equal(resolved[3].unit, 'V');
      assert.equal(resolved[4].unit, 'Cel');
      assert.deepEqual(resolved.map((record) => record.readingId), [10, 10, 10, 11, 11]);
    });
    it('rejects a record with no name and no channel at its position', () => {
      assert.throws(() => resolveSenmlPack(records, 0, ['energy']), (error: unknown) => isProtocolError(error) && error.code === 'malformed');
    });
  });

  describe('rejects malformed uplinks with ProtocolError', () => {
    const cases: Array<[string, string]> = [
      ['not an array or map', '01'],
      ['a record that is not a map', '8101'],
      ['value of the wrong type', '81a1026178'],
      ['two value fields', '81a2020104f5'],
      ['reading id that is not an unsigned integer', '81a237200201'],
      ['an unknown must-understand label', '81a262615f010201'],
      ['command results that are not an array', 'a200800101'],
      ['a command result with a text id', 'a20080018182616100'],
      ['trailing bytes', '8000'],
    ];
    for (const [what, hex] of cases) {
      it(what, () => assert.throws(() => decodeUplink(hexToBytes(hex)), (error: unknown) => isProtocolError(error)));
    }
    it('a record before the first reading id', () => {
      assert.throws(() => recordsToReadings(readSenmlPack(decodeCbor(hexToBytes('81a10201')))), (error: unknown) => isProtocolError(error));
    });
    it('ignores unknown labels that are not must-understand', () => {
      assert.deepEqual(readSenmlPack(decodeCbor(encodeCbor([new CborMap().set(2, 1).set(99, 'x').set('note', 1)]))), [{ value: 1 }]);
    });
  });

  it('refuses to encode readings without values or with bad ids', () => {
    assert.throws(() => encodeUplink({ readings: [{ id: 1, time: 0, values: [] }], commandResults: [] }), (error: unknown) => isProtocolError(error));
    assert.throws(() => encodeUplink({ readings: [{ id: -1, time: 0, values: [1] }], commandResults: [] }), (error: unknown) => isProtocolError(error));
  });

  it('decodes an empty downlink payload as an empty downlink and rejects a non-map', () => {
    assert.deepEqual(plain(decodeDownlink(new Uint8Array(0))), plain({ acknowledgedReadingId: null, commands: [], configuration: null, time: null, acknowledgedCommandResults: [] }));
    assert.throws(() => decodeDownlink(hexToBytes('80')), (error: unknown) => isProtocolError(error));
    assert.throws(() => decodeDownlink(hexToBytes('a10120')), (error: unknown) => isProtocolError(error));
  });

  void ({} as SenmlRecord);
});
