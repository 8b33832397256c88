/**
 * Byte helpers shared by the codecs. ES5-safe: plain loops over Uint8Array, no TextEncoder/TextDecoder
 * (absent on Espruino), no Array.from.
 */
import { ProtocolError } from './errors';
import { copyBytes } from '../runtime/typed-arrays';

/**
 * An append-only byte buffer that grows by doubling. `bytes()` returns what was written as a view into the
 * writer's array, not a copy: every codec function makes its writer, writes, and returns `bytes()`, so the array
 * has no other user; a copy would cost a second array per message (time on the gateway, RAM on the terminal) to
 * save the unused tail of the first (at most the initial capacity's slack, or half after growing).
 */
export class ByteWriter {
  private buffer: Uint8Array;
  length = 0;

  constructor(initialCapacity?: number) {
    this.buffer = new Uint8Array(initialCapacity && initialCapacity > 0 ? initialCapacity : 64);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
  }

  /** Big-endian unsigned integer of `width` bytes (1..4). */
  uint(value: number, width: number): void {
    this.reserve(width);
    for (let index = width - 1; index >= 0; index--) {
      this.buffer[this.length + index] = value & 0xff;
      value = value >>> 8;
    }
    this.length += width;
  }

  append(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (let index = 0; index < parts.length; index++) total += parts[index].length;
  const result = new Uint8Array(total);
  let offset = 0;
  for (let index = 0; index < parts.length; index++) {
    result.set(parts[index], offset);
    offset += parts[index].length;
  }
  return result;
}

export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** Comparison whose time does not depend on where the inputs differ (authentication tags). */
export function constantTimeEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index++) difference |= left[index] ^ right[index];
  return difference === 0;
}

/** A copy that owns its bytes (so callers may reuse or mutate what they passed in). */
export { copyBytes };

export function utf8Encode(text: string): Uint8Array {
  const writer = new ByteWriter(text.length + 8);
  for (let index = 0; index < text.length; index++) {
    let code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      throw new ProtocolError('invalid-argument', 'text contains a lone surrogate');
    }
    if (code < 0x80) {
      writer.byte(code);
    } else if (code < 0x800) {
      writer.byte(0xc0 | (code >> 6));
      writer.byte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      writer.byte(0xe0 | (code >> 12));
      writer.byte(0x80 | ((code >> 6) & 0x3f));
      writer.byte(0x80 | (code & 0x3f));
    } else {
      writer.byte(0xf0 | (code >> 18));
      writer.byte(0x80 | ((code >> 12) & 0x3f));
      writer.byte(0x80 | ((code >> 6) & 0x3f));
      writer.byte(0x80 | (code & 0x3f));
    }
  }
  return writer.bytes();
}

/** Strict UTF-8 decoding (RFC 3629): overlong forms, surrogates and code points above U+10FFFF are rejected. */
export function utf8Decode(data: Uint8Array, start: number, end: number): string {
  let text = '';
  let index = start;
  while (index < end) {
    const first = data[index];
    let code: number;
    let extra: number;
    let minimum: number;
    if (first < 0x80) {
      text += String.fromCharCode(first);
      index++;
      continue;
    } else if (first >= 0xc2 && first <= 0xdf) {
      code = first & 0x1f;
      extra = 1;
      minimum = 0x80;
    } else if (first >= 0xe0 && first <= 0xef) {
      code = first & 0x0f;
      extra = 2;
      minimum = 0x800;
    } else if (first >= 0xf0 && first <= 0xf4) {
      code = first & 0x07;
      extra = 3;
      minimum = 0x10000;
    } else {
      throw new ProtocolError('malformed', 'invalid UTF-8 lead byte', index);
    }
    if (index + extra >= end) {
      throw new ProtocolError('malformed', 'truncated UTF-8 sequence', index);
    }
    for (let next = 1; next <= extra; next++) {
      const continuation = data[index + next];
      if ((continuation & 0xc0) !== 0x80) throw new ProtocolError('malformed', 'invalid UTF-8 continuation byte', index + next);
      code = (code << 6) | (continuation & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new ProtocolError('malformed', 'invalid UTF-8 code point', index);
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      text += String.fromCharCode(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else {
      text += String.fromCharCode(code);
    }
    index += extra + 1;
  }
  return text;
}
