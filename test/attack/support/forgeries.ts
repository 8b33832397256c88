/**
 * What the attacker sends: variants of captured genuine uplinks (replays, replays under a new message id, every
 * single-bit flip, every truncation), uplinks protected with wrong keys or unknown kids, and junk for the flood.
 * Forged readings carry ids from FORGED_READING_ID up and the value FORGED_VALUE, so a published forgery is
 * recognised at once by the oracle.
 */
import nodeCrypto from 'node:crypto';
import { createNodeCcmAead } from '../../../firmware/protocol/crypto-backends';
import { buildUplinkRequest } from '../../../firmware/protocol/client';
import { OscoreContext, SenderSequence } from '../../../firmware/protocol/oscore-context';
import { fromHex } from './genuine-terminal';
import type { DeviceSecrets } from '../../../gateway/store/registry';

export const FORGED_READING_ID = 1_000_000_000;
export const FORGED_VALUE = 666;

export interface Datagram {
  category: string;
  bytes: Uint8Array;
}

/** The same bytes again. */
export function* replays(category: string, captured: Uint8Array[]): Generator<Datagram> {
  for (const bytes of captured) yield { category, bytes: bytes.slice() };
}

/** The same OSCORE content under another CoAP message id: not a retransmission, so it reaches the replay window. */
export function* replaysWithNewMessageId(category: string, captured: Uint8Array[]): Generator<Datagram> {
  for (const bytes of captured) {
    const copy = bytes.slice();
    copy[3] = copy[3]! ^ 0x5a;
    yield { category, bytes: copy };
  }
}

export function* singleBitFlips(category: string, captured: Uint8Array[]): Generator<Datagram> {
  for (const bytes of captured) {
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
      yield { category, bytes: copy };
    }
  }
}

export function* truncations(category: string, captured: Uint8Array[]): Generator<Datagram> {
  for (const bytes of captured) for (let length = 0; length < bytes.length; length++) yield { category, bytes: bytes.slice(0, length) };
}

function forgedReadings(count: number, offset: number): { id: number; time: number; values: number[] }[] {
  return Array.from({ length: count }, (_, index) => ({ id: FORGED_READING_ID + offset + index, time: Math.floor(Date.now() / 1000), values: [FORGED_VALUE] }));
}

function contextWith(senderId: Uint8Array, senderKey: Uint8Array, commonIv: Uint8Array, sequenceStart: number): OscoreContext {
  return {
    keys: { senderId, recipientId: new Uint8Array(0), idContext: null, senderKey, recipientKey: nodeCrypto.randomBytes(16), commonIv },
    aead: createNodeCcmAead(nodeCrypto),
    sequence: new SenderSequence(sequenceStart, 1, () => true),
    replay: null,
  };
}

/**
 * Uplinks from impostors: a genuine device's kid with a wrong key (and a wrong common IV half the time), and
 * kids nobody was given. Sequence numbers far ahead of the genuine ones, so only the key can stop them.
 */
export function* wrongKeyUplinks(category: string, victims: DeviceSecrets[], perVictim: number): Generator<Datagram> {
  for (const [victimIndex, victim] of victims.entries()) {
    const commonIv = victimIndex % 2 === 0 ? fromHex(victim.oscore.commonIv) : nodeCrypto.randomBytes(13);
    const impostor = contextWith(fromHex(victim.oscore.senderId), nodeCrypto.randomBytes(16), new Uint8Array(commonIv), 1_000_000 + victimIndex);
    for (let index = 0; index < perVictim; index++) {
      yield { category, bytes: buildUplinkRequest(impostor, (victimIndex * 1000 + index) & 0xffff, { readings: forgedReadings(1 + (index % 3), index * 4), commandResults: [] }).datagram };
    }
  }
}

export function* unknownKidUplinks(category: string, count: number, knownKids: Set<string>): Generator<Datagram> {
  for (let index = 0; index < count; index++) {
    let kid: Uint8Array;
    do kid = nodeCrypto.randomBytes(1 + (index % 7));
    while (knownKids.has(Buffer.from(kid).toString('hex')));
    const impostor = contextWith(kid, nodeCrypto.randomBytes(16), nodeCrypto.randomBytes(13), index);
    yield { category, bytes: buildUplinkRequest(impostor, index & 0xffff, { readings: forgedReadings(1, index * 4), commandResults: [] }).datagram };
  }
}

/** xorshift32, so the junk of a run is the same every time. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(limit: number): number {
    return this.next() % limit;
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.next() & 0xff);
  }
}

/**
 * Junk for the flood: random bytes, CoAP-shaped requests with random options and payloads, the smallest
 * requests that draw an error response (plain POST, OSCORE option with an unknown kid, a bad OSCORE option),
 * pings, oversized datagrams, and mutated captures.
 */
export function* junk(category: string, count: number, seed: number, captured: Uint8Array[]): Generator<Datagram> {
  const random = new Random(seed);
  for (let index = 0; index < count; index++) {
    const kind = random.below(10);
    // Unique message ids and (for NON) tokens per datagram, so every answer can be matched to its request.
    const messageId = [(index >> 8) & 0xff, index & 0xff];
    let bytes: Uint8Array;
    if (kind === 0) bytes = random.bytes(random.below(64));
    else if (kind === 1) bytes = Uint8Array.from([0x40, 0x02, ...messageId]); // plain POST, no options
    else if (kind === 2) bytes = Uint8Array.from([0x40, 0x02, ...messageId, 0x93, 0x09, random.below(256), random.below(256)]); // OSCORE, kid of 1 byte
    else if (kind === 3) bytes = Uint8Array.from([0x40, 0x02, ...messageId, 0x91, 0xe0]); // reserved OSCORE flag bits
    else if (kind === 4) bytes = Uint8Array.from([0x40, 0x00, ...messageId]); // ping
    else if (kind === 5) bytes = random.bytes(1281 + random.below(200)); // over the datagram limit
    else if (kind === 6 && captured.length > 0) {
      bytes = captured[random.below(captured.length)]!.slice();
      for (let flips = 0; flips < 3; flips++) bytes[random.below(bytes.length)] = random.next() & 0xff;
    } else {
      const tokenLength = 3 + random.below(6);
      const token = [(index >> 16) & 0xff, ...messageId, ...random.bytes(tokenLength - 3)];
      const body = random.bytes(random.below(80));
      bytes = Uint8Array.from([0x40 | (random.below(2) << 4) | tokenLength, 0x02, ...messageId, ...token, 0x90 | random.below(13), ...body]);
    }
    yield { category, bytes };
  }
}
