import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { encodeCbor } from '../../firmware/protocol/cbor';
import { CoapMessage, decodeCoap, encodeCoap } from '../../firmware/protocol/coap';
import { deriveOscoreKeys } from '../../firmware/protocol/derivation';
import { isProtocolError } from '../../firmware/protocol/errors';
import {
  buildAad,
  decodeOscoreOption,
  decodePartialIv,
  encodeOscoreOption,
  encodePartialIv,
  OscoreContext,
  OSCORE_MAX_SEQUENCE_NUMBER,
  ReplayWindow,
  REPLAY_WINDOW_SIZE,
  SenderSequence,
} from '../../firmware/protocol/oscore-context';
import { protectRequest, protectResponse, unprotectRequest, unprotectResponse } from '../../firmware/protocol/oscore';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { cryptoBackends, nodeHmacSha256, seeded } from './support';

const backends = cryptoBackends();

function contextPair(aeadIndex = 0): { terminal: OscoreContext; gateway: OscoreContext } {
  const master = { masterSecret: hexToBytes('00112233445566778899aabbccddeeff'), masterSalt: hexToBytes('a1a2a3a4'), idContext: null };
  const terminalKeys = deriveOscoreKeys(nodeHmacSha256, { ...master, senderId: hexToBytes('2a'), recipientId: new Uint8Array(0) });
  const gatewayKeys = deriveOscoreKeys(nodeHmacSha256, { ...master, senderId: new Uint8Array(0), recipientId: hexToBytes('2a') });
  const aead = backends[aeadIndex].aead;
  return {
    terminal: { keys: terminalKeys, aead, sequence: new SenderSequence(0, 16, () => true), replay: null },
    gateway: { keys: gatewayKeys, aead, sequence: new SenderSequence(0, 16, () => true), replay: new ReplayWindow() },
  };
}

const request = (payload: Uint8Array, messageId = 7): CoapMessage => ({
  type: 0, code: 2, messageId, token: new Uint8Array(0), options: [{ number: 11, value: hexToBytes('75') }], payload,
});

describe('protocol: OSCORE (RFC 8613)', () => {
  describe('OSCORE option value (Section 6.1)', () => {
    const cases: Array<[string, { partialIv: string | null; kid: string | null; kidContext: string | null }]> = [
      ['', { partialIv: null, kid: null, kidContext: null }],
      ['090525', { partialIv: '05', kid: '25', kidContext: null }],
      ['0900', { partialIv: '00', kid: '', kidContext: null }],
      ['19050544616c656b', { partialIv: '05', kid: '', kidContext: '44616c656b' }],
      ['0107', { partialIv: '07', kid: null, kidContext: null }],
      ['0d0102030405abcd', { partialIv: '0102030405', kid: 'abcd', kidContext: null }],
    ];
    for (const [hex, fields] of cases) {
      it(`"${hex}"`, () => {
        const value = {
          partialIv: fields.partialIv === null ? null : hexToBytes(fields.partialIv),
          kid: fields.kid === null ? null : hexToBytes(fields.kid),
          kidContext: fields.kidContext === null ? null : hexToBytes(fields.kidContext),
        };
        assert.equal(bytesToHex(encodeOscoreOption(value)), hex);
        const decoded = decodeOscoreOption(hexToBytes(hex));
        assert.deepEqual(
          [decoded.partialIv, decoded.kid, decoded.kidContext].map((field) => (field === null ? null : bytesToHex(field))),
          [fields.partialIv, fields.kid, fields.kidContext],
        );
      });
    }
    it('rejects reserved bits, Partial IV lengths 6-7, a zero flag byte, truncated fields', () => {
      for (const hex of ['2100', '06000000000000', '00', '02ab', '1101', '110105aa']) {
        assert.throws(() => decodeOscoreOption(hexToBytes(hex)), (error: unknown) => isProtocolError(error), hex);
      }
    });
  });

  describe('AAD (Section 5.4)', () => {
    it('is the CBOR Enc_structure ["Encrypt0", h\'\', bstr(aad_array)] for every kid and Partial IV length a nonce can carry', () => {
      const generic = (kid: Uint8Array, partialIv: Uint8Array): Uint8Array =>
        encodeCbor(['Encrypt0', new Uint8Array(0), encodeCbor([1, [10], kid, partialIv, new Uint8Array(0)])]);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 7 }), fc.uint8Array({ maxLength: 5 }), (kid, partialIv) => bytesToHex(buildAad(kid, partialIv)) === bytesToHex(generic(kid, partialIv))),
        seeded(500),
      );
      for (const [kidLength, partialIvLength] of [[8, 1], [1, 6], [300, 0]]) {
        assert.throws(() => buildAad(new Uint8Array(kidLength), new Uint8Array(partialIvLength)), (error: unknown) => isProtocolError(error), `${kidLength}/${partialIvLength}`);
      }
    });
  });

  describe('Partial IV', () => {
    it('is the sequence number in the fewest big-endian bytes', () => {
      assert.equal(bytesToHex(encodePartialIv(0)), '00');
      assert.equal(bytesToHex(encodePartialIv(20)), '14');
      assert.equal(bytesToHex(encodePartialIv(256)), '0100');
      assert.equal(bytesToHex(encodePartialIv(4294967296)), '0100000000');
      assert.equal(bytesToHex(encodePartialIv(OSCORE_MAX_SEQUENCE_NUMBER)), 'ffffffffff');
      assert.throws(() => encodePartialIv(OSCORE_MAX_SEQUENCE_NUMBER + 1));
    });
    it('round-trips every number up to 2^40 - 1 and rejects leading zeros', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: OSCORE_MAX_SEQUENCE_NUMBER }), (number) => decodePartialIv(encodePartialIv(number)) === number), seeded(2000));
      assert.throws(() => decodePartialIv(hexToBytes('0014')));
    });
  });

  describe('sender sequence number checkpoints (Appendix B.1.1)', () => {
    it('writes flash once per checkpoint interval and resumes above every used number after a reboot', () => {
      const flash: number[] = [];
      const sequence = new SenderSequence(0, 10, (limit) => (flash.push(limit), true));
      const used = Array.from({ length: 25 }, () => sequence.take());
      assert.deepEqual(used, Array.from({ length: 25 }, (_, index) => index));
      assert.deepEqual(flash, [10, 20, 30]);
      const rebooted = new SenderSequence(flash[flash.length - 1], 10, (limit) => (flash.push(limit), true));
      assert.equal(rebooted.take(), 30);
      assert.deepEqual(flash, [10, 20, 30, 40]);
    });

    it('never reuses a number across random reboots, power cuts and failed flash writes (fast-check)', () => {
      const operation = fc.oneof(
        fc.record({ kind: fc.constant('send' as const), count: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ kind: fc.constant('reboot' as const) }),
        fc.record({ kind: fc.constant('flash-fails' as const) }),
      );
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 50 }), fc.array(operation, { maxLength: 30 }), (interval, operations) => {
          let flash = 0;
          let flashWorks = true;
          let writes = 0;
          const persist = (limit: number): boolean => {
            if (!flashWorks) return false;
            flash = limit;
            writes++;
            return true;
          };
          let sequence = new SenderSequence(flash, interval, persist);
          const used = new Set<number>();
          let sent = 0;
          for (const step of operations) {
            if (step.kind === 'reboot') {
              flashWorks = true;
              sequence = new SenderSequence(flash, interval, persist);
            } else if (step.kind === 'flash-fails') {
              flashWorks = false;
            } else {
              for (let index = 0; index < step.count; index++) {
                let number: number;
                try {
                  number = sequence.take();
                } catch (error) {
                  assert.ok(isProtocolError(error) && error.code === 'persist-failed');
                  assert.ok(!flashWorks, 'only a failing flash may stop sending');
                  continue;
                }
                assert.ok(!used.has(number), `sequence number ${number} reused`);
                assert.ok(number < flash, 'a number was used before a checkpoint above it was stored');
                used.add(number);
                sent++;
              }
            }
          }
          const reboots = operations.filter((step) => step.kind === 'reboot').length;
          assert.ok(writes <= Math.ceil(sent / interval) + reboots + 1, `too many flash writes: ${writes}`);
        }),
        seeded(500),
      );
    });

    it('stops at 2^40 - 1', () => {
      const sequence = new SenderSequence(OSCORE_MAX_SEQUENCE_NUMBER, 5, () => true);
      assert.equal(sequence.take(), OSCORE_MAX_SEQUENCE_NUMBER);
      assert.throws(() => sequence.take(), (error: unknown) => isProtocolError(error) && error.code === 'sequence-exhausted');
    });
  });

  describe('replay window (Section 7.4)', () => {
    it('matches a reference model on random arrival orders (fast-check)', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }), fc.boolean(), (arrivals, restore) => {
          let window = new ReplayWindow();
          const seen = new Set<number>();
          let highest = -1;
          for (const number of arrivals) {
            const expected = !seen.has(number) && number > highest - REPLAY_WINDOW_SIZE;
            assert.equal(window.isFresh(number), expected, `number ${number} after highest ${highest}`);
            if (expected) {
              window.accept(number);
              seen.add(number);
              highest = Math.max(highest, number);
            }
            if (restore) window = new ReplayWindow(JSON.parse(JSON.stringify(window.state())));
          }
        }),
        seeded(1000),
      );
    });
    it('handles jumps of exactly 32 and 64 and numbers beyond 2^32', () => {
      const window = new ReplayWindow();
      const base = 2 ** 33;
      for (const number of [base, base + 32, base + 96, base + 64]) {
        assert.ok(window.isFresh(number));
        window.accept(number);
      }
      assert.ok(!window.isFresh(base + 64));
      assert.ok(!window.isFresh(base + 32), 'older than the window');
      assert.ok(window.isFresh(base + 95));
    });
  });

  for (const [index, backend] of backends.entries()) {
    describe(`protect/unprotect with ${backend.name}`, () => {
      it('round-trips requests and responses, and rejects any bit flip, truncation or replay (fast-check)', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.nat(), (payload, responsePayload, ownPartialIv, flipSeed) => {
            const { terminal, gateway } = contextPair(index);
            const sent = protectRequest(terminal, request(payload));
            const datagram = encodeCoap(sent.message);
            const lookup = () => gateway;
            // any single bit flip in the datagram
            const bit = flipSeed % (datagram.length * 8);
            const flipped = datagram.slice();
            flipped[bit >> 3] ^= 1 << (bit & 7);
            // OSCORE does not protect the outer type (byte 0, bits 4-5) or message id (bytes 2-3): such a copy
            // carries the same authenticated content, and the replay window admits it or the original, once.
            const unprotectedBit = ((bit >> 3) === 0 && ((bit & 7) === 4 || (bit & 7) === 5)) || (bit >> 3) === 2 || (bit >> 3) === 3;
            let outcome = tryUnprotect(flipped, lookup);
            if (unprotectedBit) {
              if (outcome.ok) assert.equal(bytesToHex(outcome.result.request.payload), bytesToHex(payload));
            } else {
              assert.ok(!outcome.ok, `bit ${bit} flipped and still accepted`);
            }
            // any truncation
            const cut = flipSeed % datagram.length;
            assert.ok(!tryUnprotect(datagram.subarray(0, cut), lookup).ok, `truncated to ${cut} and accepted`);
            // the genuine datagram, once
            const firstAcceptedEarlier = unprotectedBit && outcome.ok;
            outcome = tryUnprotect(datagram, lookup);
            if (firstAcceptedEarlier) {
              assert.ok(!outcome.ok && outcome.reason === 'replay');
              return;
            }
            assert.ok(outcome.ok, 'genuine request rejected');
            const received = outcome.result;
            assert.equal(bytesToHex(received.request.payload), bytesToHex(payload));
            assert.deepEqual(received.request.options.map((option) => option.number), [11]);
            const replay = tryUnprotect(datagram, lookup);
            assert.ok(!replay.ok && replay.reason === 'replay');
            // the response
            const response = protectResponse(gateway, received.binding, { type: 2, code: 0x44, messageId: 7, token: new Uint8Array(0), options: [], payload: responsePayload }, ownPartialIv);
            const responseBytes = encodeCoap(response);
            const opened = unprotectResponse(terminal, sent.binding, decodeCoap(responseBytes));
            assert.ok(opened.ok && bytesToHex(opened.response.payload) === bytesToHex(responsePayload));
            const responseBit = flipSeed % (responseBytes.length * 8);
            if (((responseBit >> 3) === 0 && ((responseBit & 7) === 4 || (responseBit & 7) === 5)) || (responseBit >> 3) === 2 || (responseBit >> 3) === 3) return;
            const badResponse = responseBytes.slice();
            badResponse[responseBit >> 3] ^= 1 << (responseBit & 7);
            let badOutcome = false;
            try {
              badOutcome = unprotectResponse(terminal, sent.binding, decodeCoap(badResponse)).ok;
            } catch (error) {
              assert.ok(isProtocolError(error));
            }
            assert.ok(!badOutcome, 'a flipped response was accepted');
          }),
          seeded(index === 0 ? 300 : 150),
        );
      });
    });
  }

  it('rejects a request for an unknown kid, without kid, without Partial IV, and a non-OSCORE message', () => {
    const { terminal, gateway } = contextPair();
    const sent = protectRequest(terminal, request(new Uint8Array([1, 2, 3])));
    assert.equal(failReason(unprotectRequest(sent.message, () => null)), 'unknown-kid');
    const withOption = (hex: string): CoapMessage => ({ ...sent.message, options: [{ number: 9, value: hexToBytes(hex) }] });
    assert.equal(failReason(unprotectRequest(withOption('0100'), () => gateway)), 'missing-kid');
    assert.equal(failReason(unprotectRequest(withOption('082a'), () => gateway)), 'missing-partial-iv');
    assert.equal(failReason(unprotectRequest(withOption('21'), () => gateway)), 'malformed-oscore-option');
    assert.equal(failReason(unprotectRequest({ ...sent.message, options: [] }, () => gateway)), 'not-oscore');
  });
});

function failReason(result: { ok: boolean; reason?: string }): string | undefined {
  return result.ok ? undefined : result.reason;
}

type Attempt =
  | { ok: true; result: Extract<ReturnType<typeof unprotectRequest>, { ok: true }> }
  | { ok: false; reason: string };

function tryUnprotect(datagram: Uint8Array, lookup: Parameters<typeof unprotectRequest>[1]): Attempt {
  let message: CoapMessage;
  try {
    message = decodeCoap(datagram);
  } catch (error) {
    assert.ok(isProtocolError(error));
    return { ok: false, reason: 'malformed-coap' };
  }
  const result = unprotectRequest(message, lookup);
  return result.ok ? { ok: true, result } : { ok: false, reason: result.reason };
}

void nodeCrypto;
