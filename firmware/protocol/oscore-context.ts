/**
 * OSCORE (RFC 8613) building blocks: the security context, the OSCORE option, nonce and AAD construction,
 * the sender sequence number with flash checkpoints (Appendix B.1.1) and the receiver's replay window.
 * AEAD algorithm: 10 (AES-CCM-16-64-128), the only one this codec speaks.
 */
import { Aead } from './aesccm';
import { ByteWriter } from './bytes';
import { ProtocolError } from './errors';

export const OSCORE_ALGORITHM_AES_CCM_16_64_128 = 10;
export const OSCORE_NONCE_LENGTH = 13;
/** Sender IDs must fit the nonce: at most nonce length - 6 bytes (Section 3.3). */
export const OSCORE_MAX_ID_LENGTH = 7;
/** 2^40 - 1: the largest sequence number a 5-byte Partial IV can carry (Section 7.2.1). */
export const OSCORE_MAX_SEQUENCE_NUMBER = 1099511627775;

const TWO_POWER_32 = 4294967296;

/** Derived per-peer values; the terminal stores only these (derivation.ts computes them at provisioning). */
export interface OscoreKeys {
  senderId: Uint8Array;
  recipientId: Uint8Array;
  /** ID Context; null when the context has none. */
  idContext: Uint8Array | null;
  senderKey: Uint8Array;
  recipientKey: Uint8Array;
  commonIv: Uint8Array;
}

/** The OSCORE option value (Section 6.1). `partialIv`, `kid`, `kidContext` are null when absent. */
export interface OscoreOptionValue {
  partialIv: Uint8Array | null;
  kid: Uint8Array | null;
  kidContext: Uint8Array | null;
}

export function encodeOscoreOption(value: OscoreOptionValue): Uint8Array {
  const partialIvLength = value.partialIv ? value.partialIv.length : 0;
  if (partialIvLength > 5) throw new ProtocolError('invalid-argument', 'OSCORE Partial IV longer than 5 bytes');
  let flags = partialIvLength;
  if (value.kidContext) flags |= 0x10;
  if (value.kid) flags |= 0x08;
  // All flag bits zero means an empty option value (Section 6.1).
  if (flags === 0) return new Uint8Array(0);
  const writer = new ByteWriter(16);
  writer.byte(flags);
  if (value.partialIv) writer.append(value.partialIv);
  if (value.kidContext) {
    if (value.kidContext.length > 255) throw new ProtocolError('invalid-argument', 'OSCORE kid context longer than 255 bytes');
    writer.byte(value.kidContext.length);
    writer.append(value.kidContext);
  }
  if (value.kid) writer.append(value.kid);
  return writer.bytes();
}

/** The fields are views into `data` (see decodeCoap). */
export function decodeOscoreOption(data: Uint8Array): OscoreOptionValue {
  const result: OscoreOptionValue = { partialIv: null, kid: null, kidContext: null };
  if (data.length === 0) return result;
  const flags = data[0];
  if (flags & 0xe0) throw new ProtocolError('malformed', 'reserved OSCORE flag bits set', 0);
  if (flags === 0) throw new ProtocolError('malformed', 'OSCORE option with all flags zero must be empty', 0);
  const partialIvLength = flags & 0x07;
  if (partialIvLength > 5) throw new ProtocolError('malformed', 'reserved OSCORE Partial IV length', 0);
  let offset = 1;
  if (partialIvLength > 0) {
    if (offset + partialIvLength > data.length) throw new ProtocolError('truncated', 'OSCORE Partial IV runs past the option', offset);
    result.partialIv = data.subarray(offset, offset + partialIvLength);
    offset += partialIvLength;
  }
  if (flags & 0x10) {
    if (offset >= data.length) throw new ProtocolError('truncated', 'OSCORE kid context length missing', offset);
    const length = data[offset++];
    if (offset + length > data.length) throw new ProtocolError('truncated', 'OSCORE kid context runs past the option', offset);
    result.kidContext = data.subarray(offset, offset + length);
    offset += length;
  }
  if (flags & 0x08) {
    result.kid = data.subarray(offset, data.length);
    offset = data.length;
  }
  if (offset !== data.length) throw new ProtocolError('malformed', 'bytes after the OSCORE option fields', offset);
  return result;
}

/** The sequence number as a Partial IV: big-endian, shortest form, 0 as one zero byte (Section 6.1). */
export function encodePartialIv(sequenceNumber: number): Uint8Array {
  if (sequenceNumber < 0 || sequenceNumber > OSCORE_MAX_SEQUENCE_NUMBER || sequenceNumber !== Math.floor(sequenceNumber)) {
    throw new ProtocolError('invalid-argument', 'sequence number out of range');
  }
  const bytes: number[] = [];
  const high = Math.floor(sequenceNumber / TWO_POWER_32);
  let low = sequenceNumber - high * TWO_POWER_32;
  for (let index = 0; index < 4; index++) {
    bytes.unshift(low & 0xff);
    low = low >>> 8;
  }
  if (high > 0) bytes.unshift(high & 0xff);
  while (bytes.length > 1 && bytes[0] === 0) bytes.shift();
  return new Uint8Array(bytes);
}

export function decodePartialIv(partialIv: Uint8Array): number {
  if (partialIv.length === 0 || partialIv.length > 5) throw new ProtocolError('malformed', 'OSCORE Partial IV length out of range', 0);
  if (partialIv.length > 1 && partialIv[0] === 0) throw new ProtocolError('malformed', 'OSCORE Partial IV with a leading zero byte', 0);
  let value = 0;
  for (let index = 0; index < partialIv.length; index++) value = value * 256 + partialIv[index];
  return value;
}

/** AEAD nonce (Section 5.2): (length of ID_PIV | ID_PIV left-padded to 7 | PIV left-padded to 5) XOR Common IV. */
export function buildNonce(idPiv: Uint8Array, partialIv: Uint8Array, commonIv: Uint8Array): Uint8Array {
  if (idPiv.length > OSCORE_MAX_ID_LENGTH) throw new ProtocolError('invalid-argument', 'OSCORE sender ID longer than 7 bytes');
  if (partialIv.length > 5) throw new ProtocolError('invalid-argument', 'OSCORE Partial IV longer than 5 bytes');
  if (commonIv.length !== OSCORE_NONCE_LENGTH) throw new ProtocolError('invalid-argument', 'OSCORE Common IV must be 13 bytes');
  const nonce = new Uint8Array(OSCORE_NONCE_LENGTH);
  nonce[0] = idPiv.length;
  nonce.set(idPiv, 1 + OSCORE_MAX_ID_LENGTH - idPiv.length);
  nonce.set(partialIv, OSCORE_NONCE_LENGTH - partialIv.length);
  for (let index = 0; index < OSCORE_NONCE_LENGTH; index++) nonce[index] ^= commonIv[index];
  return nonce;
}

/**
 * The AEAD additional data (Section 5.4): Enc_structure ["Encrypt0", h'', external_aad] where external_aad is
 * the bstr-wrapped aad_array [1, [alg], request_kid, request_piv, h''] (no Class I options are used). It is built
 * for every message on both sides, so it is written straight into one array: with a kid of at most 7 bytes and a
 * Partial IV of at most 5 (what a nonce can carry, Section 5.2) every CBOR head is one byte.
 */
export function buildAad(requestKid: Uint8Array, requestPartialIv: Uint8Array): Uint8Array {
  const kidLength = requestKid.length;
  const partialIvLength = requestPartialIv.length;
  if (kidLength > OSCORE_MAX_ID_LENGTH || partialIvLength > 5) throw new ProtocolError('invalid-argument', 'AAD field too long');
  const aad = new Uint8Array(19 + kidLength + partialIvLength);
  // 0x83 "Encrypt0" h'' bstr(aad_array: 0x85 1 [alg] bstr(kid) ...
  aad.set([0x83, 0x68, 0x45, 0x6e, 0x63, 0x72, 0x79, 0x70, 0x74, 0x30, 0x40, 0x47 + kidLength + partialIvLength, 0x85, 1, 0x81, OSCORE_ALGORITHM_AES_CCM_16_64_128, 0x40 | kidLength], 0);
  aad.set(requestKid, 17);
  aad[17 + kidLength] = 0x40 | partialIvLength;
  aad.set(requestPartialIv, 18 + kidLength);
  // ... bstr(piv) h'')
  aad[18 + kidLength + partialIvLength] = 0x40;
  return aad;
}

/**
 * The sender sequence number with checkpoints in flash (RFC 8613 Appendix B.1.1). `storedLimit` is the value
 * last persisted (0 for a fresh context). Every number below it may have been used before a reboot, so counting
 * resumes there. Before a number at or above the persisted limit is used, `limit = number + checkpointInterval`
 * is persisted; if that fails, nothing is sent. A power cut at any point therefore never causes reuse; it only
 * skips at most `checkpointInterval` numbers, and flash is written once per `checkpointInterval` messages.
 */
export class SenderSequence {
  private nextNumber: number;
  private persistedLimit: number;

  constructor(
    storedLimit: number,
    readonly checkpointInterval: number,
    private readonly persist: (limit: number) => boolean,
  ) {
    if (!(storedLimit >= 0) || storedLimit !== Math.floor(storedLimit)) throw new ProtocolError('invalid-argument', 'stored sequence limit invalid');
    if (!(checkpointInterval >= 1)) throw new ProtocolError('invalid-argument', 'checkpoint interval must be at least 1');
    this.nextNumber = storedLimit;
    this.persistedLimit = storedLimit;
  }

  /** The number the next message will use (for status displays; does not reserve it). */
  peek(): number {
    return this.nextNumber;
  }

  /** The limit currently in flash. */
  limit(): number {
    return this.persistedLimit;
  }

  /** Reserves and returns the next sequence number. Throws ProtocolError 'persist-failed' or 'sequence-exhausted'. */
  take(): number {
    const number = this.nextNumber;
    if (number > OSCORE_MAX_SEQUENCE_NUMBER) throw new ProtocolError('sequence-exhausted', 'OSCORE sequence numbers used up; re-key the device');
    if (number >= this.persistedLimit) {
      let limit = number + this.checkpointInterval;
      if (limit > OSCORE_MAX_SEQUENCE_NUMBER + 1) limit = OSCORE_MAX_SEQUENCE_NUMBER + 1;
      if (!this.persist(limit)) throw new ProtocolError('persist-failed', 'could not store the sequence number checkpoint');
      this.persistedLimit = limit;
    }
    this.nextNumber = number + 1;
    return number;
  }
}

/** Persistable state of a replay window. */
export interface ReplayWindowState {
  /** Highest sequence number accepted, or -1 before the first. */
  highest: number;
  /** Bit i set: (highest - i) was accepted; bits 0..31 in `low`, 32..63 in `high`. */
  low: number;
  high: number;
}

export const REPLAY_WINDOW_SIZE = 64;

/**
 * A 64-entry sliding replay window (RFC 8613 Section 7.4) kept in two 32-bit integers. `isFresh` only checks;
 * `accept` records, and must be called only after the message authenticated, so forged messages cannot
 * move the window.
 */
export class ReplayWindow {
  private highest: number;
  private low: number;
  private high: number;

  constructor(state?: ReplayWindowState) {
    this.highest = state ? state.highest : -1;
    this.low = state ? state.low >>> 0 : 0;
    this.high = state ? state.high >>> 0 : 0;
  }

  isFresh(sequenceNumber: number): boolean {
    if (sequenceNumber > this.highest) return true;
    const distance = this.highest - sequenceNumber;
    if (distance >= REPLAY_WINDOW_SIZE) return false;
    if (distance < 32) return ((this.low >>> distance) & 1) === 0;
    return ((this.high >>> (distance - 32)) & 1) === 0;
  }

  accept(sequenceNumber: number): void {
    if (sequenceNumber > this.highest) {
      const shift = this.highest < 0 ? REPLAY_WINDOW_SIZE : sequenceNumber - this.highest;
      if (shift >= REPLAY_WINDOW_SIZE) {
        this.low = 0;
        this.high = 0;
      } else if (shift >= 32) {
        this.high = shift === 32 ? this.low : (this.low << (shift - 32)) >>> 0;
        this.low = 0;
      } else {
        this.high = ((this.high << shift) | (this.low >>> (32 - shift))) >>> 0;
        this.low = (this.low << shift) >>> 0;
      }
      this.low = (this.low | 1) >>> 0;
      this.highest = sequenceNumber;
      return;
    }
    const distance = this.highest - sequenceNumber;
    if (distance >= REPLAY_WINDOW_SIZE) return;
    if (distance < 32) this.low = (this.low | (1 << distance)) >>> 0;
    else this.high = (this.high | (1 << (distance - 32))) >>> 0;
  }

  state(): ReplayWindowState {
    return { highest: this.highest, low: this.low, high: this.high };
  }
}

/** Everything one endpoint needs to protect and verify messages with one peer. */
export interface OscoreContext {
  keys: OscoreKeys;
  aead: Aead;
  /** Needed to send requests, or responses that carry their own Partial IV. */
  sequence: SenderSequence | null;
  /** Needed to receive requests (the gateway keeps one per device). */
  replay: ReplayWindow | null;
  /** Send the ID Context in requests (flag h); off by default to save bytes. */
  sendIdContext?: boolean;
}
