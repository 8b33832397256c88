/**
 * Fuzz target: the terminal's downlink path, codec level (firmware/protocol); the application's command handler
 * that consumes the decoded commands has its own target (commands.ts).
 * - decodeDownlink on random bytes, CBOR-shaped bytes and mutations of genuine downlinks: returns or throws
 *   ProtocolError only, what it returns has the documented shape, and it takes bounded time per input;
 * - encodeDownlink/decodeDownlink round trip on random messages;
 * - readUplinkResponse (what the terminal does with a datagram from the gateway) on mutations of a genuine
 *   protected response: never throws, and accepts nothing but the genuine response's content.
 */
import fc from 'fast-check';
import { CborMap, CborValue, encodeCbor } from '../../../firmware/protocol/cbor';
import { buildUplinkRequest, readUplinkResponse } from '../../../firmware/protocol/client';
import { isProtocolError } from '../../../firmware/protocol/errors';
import { buildDownlinkResponse, receiveUplink } from '../../../firmware/protocol/server';
import { decodeDownlink, DownlinkMessage, encodeDownlink } from '../../../firmware/protocol/uplink';
import { exampleContexts, exampleDownlink, typicalReport } from '../../protocol/fixtures/examples';
import type { FuzzTarget } from '../support/runner';

/** Slowest single decode seen, in microseconds (reported by the bench). */
export const downlinkTiming = { slowestMicroseconds: 0, slowestLength: 0 };
const TIME_LIMIT_MICROSECONDS = 50_000;

const cborKey = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.string({ maxLength: 8 }));
const { cborValue } = fc.letrec<{ cborValue: CborValue }>((tie) => ({
  cborValue: fc.oneof(
    // Nesting stays within DOWNLINK_CBOR_LIMITS (root map, commands, command, then at most four levels).
    { depthSize: 'small', withCrossShrink: true, maxDepth: 4 },
    fc.integer({ min: -1e6, max: 1e12 }),
    fc.double({ noNaN: true }),
    fc.string({ maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 12 }),
    fc.array(tie('cborValue'), { maxLength: 4 }),
    fc.array(fc.tuple(cborKey, tie('cborValue')), { maxLength: 4 }).map((entries) => {
      const map = new CborMap();
      for (const [key, value] of entries) map.set(key, value);
      return map;
    }),
  ),
})) as { cborValue: fc.Arbitrary<CborValue> };

const downlinkMessage: fc.Arbitrary<DownlinkMessage> = fc.record({
  acknowledgedReadingId: fc.option(fc.nat(), { nil: null }),
  commands: fc.array(fc.record({ id: fc.nat(), name: fc.string({ maxLength: 12 }), arguments: cborValue }), { maxLength: 4 }),
  configuration: fc.option(
    fc.array(fc.tuple(fc.string({ maxLength: 10 }), cborValue), { maxLength: 4 }).map((entries) => {
      const map = new CborMap();
      for (const [key, value] of entries) map.set(key, value);
      return map;
    }),
    { nil: null },
  ),
  time: fc.option(fc.integer({ min: 0, max: 4e9 }), { nil: null }),
  acknowledgedCommandResults: fc.array(fc.nat(), { maxLength: 4 }),
});

/** Bytes that are often CBOR items with hostile heads (huge lengths, deep nesting, reserved values). */
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x9f, 0xbf, 0x5f, 0x7f, 0xff, 0x1b, 0x3b, 0x9b, 0xbb, 0x5b, 0x7b, 0xfb, 0xf9, 0xc0, 0xd8, 0x81, 0xa1)), { maxLength: 200 }).map((bytes) => Uint8Array.from(bytes)),
  fc.integer({ min: 1, max: 5000 }).map((depth) => Uint8Array.from({ length: depth }, () => 0x81)),
  downlinkMessage.chain((message) => {
    const bytes = encodeDownlink(message);
    return fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.nat() }).map(({ at, value, cut }) => {
      const out = bytes.slice(0, bytes.length - (cut % 3 === 0 ? cut % Math.max(1, bytes.length) : 0));
      if (out.length > 0) out[at % out.length] = value;
      return out;
    });
  }),
);

/** What the codec promises today (expectUnsigned in uplink.ts): a non-negative whole number. */
function isUnsignedInteger(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && Math.floor(value) === value;
}

/** What the protocol means by an id: a CBOR unsigned integer, so at most 2^53 - 1 here and never a float. */
function idsAreExactIntegers(message: DownlinkMessage): void {
  const ids = [...message.commands.map((command) => command.id), ...message.acknowledgedCommandResults];
  if (message.acknowledgedReadingId !== null) ids.push(message.acknowledgedReadingId);
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new Error(`accepted id ${id}, beyond 2^53 - 1 (sent as a float)`);
}

/** A downlink whose ids are integer-valued floats (CBOR major type 7), e.g. 2^64 as a float64. */
const floatIds = fc
  .record({ key: fc.constantFrom(1, 5), value: fc.constantFrom(2 ** 53 + 2, 2 ** 64, 1e30, 3.0e29) })
  .map(({ key, value }) => encodeCbor(new CborMap().set(key, key === 5 ? [value] : value)));

function floatIdsRefused(bytes: Uint8Array): void {
  let message: DownlinkMessage;
  try {
    message = decodeDownlink(bytes);
  } catch (error) {
    if (isProtocolError(error)) return;
    throw error;
  }
  idsAreExactIntegers(message);
}

function checkDecode(bytes: Uint8Array): void {
  const started = performance.now();
  let message: DownlinkMessage | null = null;
  try {
    message = decodeDownlink(bytes);
  } catch (error) {
    if (!isProtocolError(error)) throw new Error('decodeDownlink threw a non-ProtocolError: ' + String(error));
  }
  const elapsed = (performance.now() - started) * 1000;
  if (elapsed > downlinkTiming.slowestMicroseconds) {
    downlinkTiming.slowestMicroseconds = elapsed;
    downlinkTiming.slowestLength = bytes.length;
  }
  if (elapsed > TIME_LIMIT_MICROSECONDS) {
    // Wall time includes garbage collection pauses: time the input again on its own before calling it slow.
    const again = performance.now();
    for (let repeat = 0; repeat < 5; repeat++) {
      try {
        decodeDownlink(bytes);
      } catch {
        // rejections are expected
      }
    }
    const alone = ((performance.now() - again) * 1000) / 5;
    if (alone > TIME_LIMIT_MICROSECONDS) throw new Error(`decoding ${bytes.length} bytes takes ${alone.toFixed(0)} µs`);
  }
  if (!message) return;
  if (message.acknowledgedReadingId !== null && !isUnsignedInteger(message.acknowledgedReadingId)) throw new Error('acknowledged reading id not an unsigned integer');
  for (const command of message.commands) {
    if (!isUnsignedInteger(command.id) || typeof command.name !== 'string') throw new Error('command without an unsigned id and a name');
  }
  if (message.configuration !== null && !(message.configuration instanceof CborMap)) throw new Error('configuration is not a map');
  if (message.time !== null && !(typeof message.time === 'number' && message.time >= 0 && Number.isFinite(message.time))) throw new Error('time not a finite non-negative number');
  for (const id of message.acknowledgedCommandResults) if (!isUnsignedInteger(id)) throw new Error('acknowledged command result not an unsigned integer');
}

function roundTrip(message: DownlinkMessage): void {
  const decoded = decodeDownlink(encodeDownlink(message));
  const canonical = (value: DownlinkMessage): string => Buffer.from(encodeCbor([value.acknowledgedReadingId, value.commands.map((command) => [command.id, command.name, command.arguments]), value.configuration, value.time, value.acknowledgedCommandResults])).toString('hex');
  if (canonical(decoded) !== canonical(message)) throw new Error('round trip changed the message');
}

interface ResponseFixture {
  contexts: ReturnType<typeof exampleContexts>;
  request: ReturnType<typeof buildUplinkRequest>;
  response: Uint8Array;
  downlink: string;
}

let fixture: ResponseFixture | null = null;

/** One genuine exchange (built once per process): the terminal's request and the gateway's protected response. */
function genuineExchange(): ResponseFixture {
  if (fixture) return fixture;
  const contexts = exampleContexts();
  const request = buildUplinkRequest(contexts.terminal, 77, typicalReport);
  const accepted = receiveUplink(request.datagram, () => contexts.gateway);
  if (!accepted.ok) throw new Error('the genuine request was refused: ' + accepted.reason);
  const response = buildDownlinkResponse(accepted, exampleDownlink, false);
  fixture = { contexts, request, response, downlink: Buffer.from(encodeDownlink(exampleDownlink)).toString('hex') };
  return fixture;
}

type Change = { kind: 'flip'; bit: number } | { kind: 'truncate'; keep: number } | { kind: 'overwrite'; at: number; value: number } | { kind: 'append'; bytes: Uint8Array };
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), bit: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function forgedResponse(changes: Change[]): void {
  const { contexts, request, response, downlink } = genuineExchange();
  let datagram = response.slice();
  for (const entry of changes) {
    if (datagram.length === 0) break;
    if (entry.kind === 'flip') datagram[(entry.bit >> 3) % datagram.length]! ^= 1 << (entry.bit & 7);
    else if (entry.kind === 'truncate') datagram = datagram.slice(0, entry.keep % datagram.length);
    else if (entry.kind === 'overwrite') datagram[entry.at % datagram.length] = entry.value;
    else datagram = Uint8Array.from([...datagram, ...entry.bytes]);
  }
  let result: ReturnType<typeof readUplinkResponse>;
  try {
    result = readUplinkResponse(contexts.terminal, request, datagram);
  } catch (error) {
    throw new Error('readUplinkResponse threw: ' + String(error));
  }
  if (!result.ok) return;
  // Accepted: it must carry exactly the gateway's downlink (a change in the CoAP header outside the AAD, such as
  // the message id, can leave the authenticated content intact; nothing else may pass).
  if (Buffer.from(encodeDownlink(result.downlink)).toString('hex') !== downlink) throw new Error('a forged downlink was accepted: ' + Buffer.from(datagram).toString('hex'));
}

export const downlinkTarget: FuzzTarget = {
  name: 'downlink',
  description: 'terminal downlink path: decodeDownlink on hostile bytes, round trip, readUplinkResponse on mutated protected responses',
  properties: [
    { name: 'decodeDownlink: only ProtocolError, well-formed result, bounded time', property: () => fc.property(hostileBytes, checkDecode) as fc.IRawProperty<unknown>, runs: 10000 },
    { name: 'encode/decode round trip', property: () => fc.property(downlinkMessage, roundTrip) as fc.IRawProperty<unknown>, runs: 2000 },
    {
      name: 'readUplinkResponse: never throws, accepts no forged downlink',
      property: () => fc.property(fc.array(change, { minLength: 1, maxLength: 3 }), forgedResponse) as fc.IRawProperty<unknown>,
      runs: 10000,
    },
    {
      name: 'ids sent as floats beyond 2^53 are refused',
      property: () => fc.property(floatIds, floatIdsRefused) as fc.IRawProperty<unknown>,
      runs: 20,
    },
  ],
};
