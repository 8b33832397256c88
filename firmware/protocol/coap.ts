/**
 * CoAP message codec (RFC 7252 Section 3): 4-byte header, token, options with delta/length extensions, payload
 * marker. Options are kept as (number, value) pairs sorted by number; repeated options keep their order.
 * Decoding is strict and bounds-checked and throws only ProtocolError. A decoded message's token, option values
 * and payload are views into the decoded bytes, not copies (a datagram is decoded once and then only read; copies
 * cost the gateway time for every datagram and the terminal RAM): whoever reuses those bytes copies first.
 */
import { ByteWriter } from './bytes';
import { ProtocolError } from './errors';

export const COAP_VERSION = 1;

/** Message types (RFC 7252 Section 3): 0 confirmable, 1 non-confirmable, 2 acknowledgement, 3 reset. */
export type CoapType = 0 | 1 | 2 | 3;
export const CoapTypes = {
  Confirmable: 0 as CoapType,
  NonConfirmable: 1 as CoapType,
  Acknowledgement: 2 as CoapType,
  Reset: 3 as CoapType,
};

/** Codes as the single byte class.detail = (class << 5) | detail. */
export const CoapCode = {
  Empty: 0x00,
  Get: 0x01,
  Post: 0x02,
  Put: 0x03,
  Delete: 0x04,
  Fetch: 0x05,
  Created: 0x41, // 2.01
  Changed: 0x44, // 2.04
  Content: 0x45, // 2.05
  BadRequest: 0x80, // 4.00
  Unauthorized: 0x81, // 4.01
  BadOption: 0x82, // 4.02
  NotFound: 0x84, // 4.04
  RequestEntityTooLarge: 0x8d, // 4.13
  UnsupportedContentFormat: 0x8f, // 4.15
  InternalServerError: 0xa0, // 5.00
  ServiceUnavailable: 0xa3, // 5.03
};

export const CoapOption = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  Oscore: 9,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
};

/** application/senml+cbor (RFC 8428 Section 12.3). */
export const CONTENT_FORMAT_SENML_CBOR = 112;
export const CONTENT_FORMAT_CBOR = 60;

export interface CoapOptionEntry {
  number: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: CoapType;
  code: number;
  messageId: number;
  token: Uint8Array;
  options: CoapOptionEntry[];
  /** Empty when there is no payload (no marker is written then). */
  payload: Uint8Array;
}

/** Writes options in number order (stable for equal numbers), with the delta/length encoding of RFC 7252 Section 3.1. */
export function writeOptions(writer: ByteWriter, options: CoapOptionEntry[]): void {
  const sorted = sortOptions(options);
  let previous = 0;
  for (let index = 0; index < sorted.length; index++) {
    const option = sorted[index];
    const delta = option.number - previous;
    const length = option.value.length;
    if (delta < 0 || option.number > 0xffff + 269 || length > 0xffff + 269) {
      throw new ProtocolError('invalid-argument', 'CoAP option number or length out of range');
    }
    writer.byte((nibble(delta) << 4) | nibble(length));
    writeExtension(writer, delta);
    writeExtension(writer, length);
    writer.append(option.value);
    previous = option.number;
  }
}

function nibble(value: number): number {
  return value < 13 ? value : value < 269 ? 13 : 14;
}

function writeExtension(writer: ByteWriter, value: number): void {
  if (value >= 269) writer.uint(value - 269, 2);
  else if (value >= 13) writer.byte(value - 13);
}

/** Insertion sort: stable, and option lists are short. */
export function sortOptions(options: CoapOptionEntry[]): CoapOptionEntry[] {
  const sorted = options.slice(0);
  for (let index = 1; index < sorted.length; index++) {
    const current = sorted[index];
    let position = index - 1;
    while (position >= 0 && sorted[position].number > current.number) {
      sorted[position + 1] = sorted[position];
      position--;
    }
    sorted[position + 1] = current;
  }
  return sorted;
}

export function encodeCoap(message: CoapMessage): Uint8Array {
  if (message.token.length > 8) throw new ProtocolError('invalid-argument', 'CoAP token longer than 8 bytes');
  if (message.messageId < 0 || message.messageId > 0xffff || message.messageId !== Math.floor(message.messageId)) {
    throw new ProtocolError('invalid-argument', 'CoAP message id out of range');
  }
  const writer = new ByteWriter(32 + message.payload.length);
  writer.byte((COAP_VERSION << 6) | ((message.type & 3) << 4) | message.token.length);
  writer.byte(message.code);
  writer.uint(message.messageId, 2);
  writer.append(message.token);
  writeOptions(writer, message.options);
  if (message.payload.length > 0) {
    writer.byte(0xff);
    writer.append(message.payload);
  }
  return writer.bytes();
}

/**
 * Reads options from `start` up to a payload marker or `end`. Returns the options and the offset of the first
 * payload byte (equal to `end` when there is no payload). A marker followed by nothing is malformed (Section 3).
 */
export function readOptions(data: Uint8Array, start: number, end: number): { options: CoapOptionEntry[]; payloadStart: number } {
  const options: CoapOptionEntry[] = [];
  let offset = start;
  let number = 0;
  while (offset < end) {
    const head = data[offset];
    if (head === 0xff) {
      if (offset + 1 >= end) throw new ProtocolError('malformed', 'CoAP payload marker without payload', offset);
      return { options: options, payloadStart: offset + 1 };
    }
    const headOffset = offset;
    offset++;
    let delta = head >> 4;
    let length = head & 0x0f;
    if (delta === 15 || length === 15) throw new ProtocolError('malformed', 'reserved CoAP option nibble', headOffset);
    if (delta === 13) {
      if (offset >= end) throw new ProtocolError('truncated', 'CoAP option delta extension missing', offset);
      delta = data[offset++] + 13;
    } else if (delta === 14) {
      if (offset + 2 > end) throw new ProtocolError('truncated', 'CoAP option delta extension missing', offset);
      delta = ((data[offset] << 8) | data[offset + 1]) + 269;
      offset += 2;
    }
    if (length === 13) {
      if (offset >= end) throw new ProtocolError('truncated', 'CoAP option length extension missing', offset);
      length = data[offset++] + 13;
    } else if (length === 14) {
      if (offset + 2 > end) throw new ProtocolError('truncated', 'CoAP option length extension missing', offset);
      length = ((data[offset] << 8) | data[offset + 1]) + 269;
      offset += 2;
    }
    if (length > end - offset) throw new ProtocolError('truncated', 'CoAP option value runs past the end', headOffset);
    number += delta;
    if (number > 0xffff) throw new ProtocolError('malformed', 'CoAP option number above 65535', headOffset);
    options.push({ number: number, value: data.subarray(offset, offset + length) });
    offset += length;
  }
  return { options: options, payloadStart: end };
}

export function decodeCoap(data: Uint8Array): CoapMessage {
  if (data.length < 4) throw new ProtocolError('truncated', 'CoAP message shorter than its header', 0);
  const first = data[0];
  if (first >> 6 !== COAP_VERSION) throw new ProtocolError('malformed', 'unknown CoAP version', 0);
  const tokenLength = first & 0x0f;
  if (tokenLength > 8) throw new ProtocolError('malformed', 'reserved CoAP token length', 0);
  if (4 + tokenLength > data.length) throw new ProtocolError('truncated', 'CoAP token runs past the end', 4);
  const code = data[1];
  const type = ((first >> 4) & 3) as CoapType;
  if (code === CoapCode.Empty && (data.length !== 4 || tokenLength !== 0)) {
    throw new ProtocolError('malformed', 'CoAP empty message with token, options or payload', 0);
  }
  const codeClass = code >> 5;
  if (codeClass === 1 || codeClass === 6 || codeClass === 7) throw new ProtocolError('malformed', 'reserved CoAP code class', 1);
  const parsed = readOptions(data, 4 + tokenLength, data.length);
  return {
    type: type,
    code: code,
    messageId: (data[2] << 8) | data[3],
    token: data.subarray(4, 4 + tokenLength),
    options: parsed.options,
    payload: data.subarray(parsed.payloadStart, data.length),
  };
}

export function findOption(options: CoapOptionEntry[], number: number): CoapOptionEntry | null {
  for (let index = 0; index < options.length; index++) if (options[index].number === number) return options[index];
  return null;
}

/** Unsigned integer option value (RFC 7252 Section 3.2: big-endian, no leading zero bytes). */
export function encodeUintOption(value: number): Uint8Array {
  const bytes: number[] = [];
  while (value > 0) {
    bytes.unshift(value & 0xff);
    value = value >>> 8;
  }
  return new Uint8Array(bytes);
}

export function decodeUintOption(value: Uint8Array): number {
  if (value.length > 4) throw new ProtocolError('malformed', 'CoAP uint option longer than 4 bytes', 0);
  let result = 0;
  for (let index = 0; index < value.length; index++) result = result * 256 + value[index];
  return result;
}

/** Human-readable code like "2.04" for logs and errors. */
export function codeToString(code: number): string {
  const detail = code & 0x1f;
  return (code >> 5) + '.' + (detail < 10 ? '0' : '') + detail;
}
