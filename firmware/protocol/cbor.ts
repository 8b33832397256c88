/**
 * A small CBOR (RFC 8949) encoder and decoder for the terminal and the gateway.
 *
 * Value model: unsigned/negative integers and floats are JS numbers (integers up to 2^53 - 1 in magnitude),
 * byte strings are Uint8Array, text strings are strings, arrays are arrays, maps are CborMap (keys are
 * integers or text), and false/true/null/undefined are themselves. Tags, indefinite lengths and other simple
 * values are not produced and are rejected when decoding, as are integers beyond 2^53 - 1: we never send them
 * and a hostile peer gains nothing from them.
 *
 * The decoder is written for hostile input: every read is bounds-checked against the end of the input, every
 * length is checked against the bytes that remain before anything is allocated, nesting depth and map sizes
 * are limited, and it throws only ProtocolError. Work is linear in the input length (every item consumes at
 * least one byte; duplicate-key checks are bounded by `maxMapEntries`).
 */
import { ByteWriter, utf8Decode, utf8Encode } from './bytes';
import { ProtocolError } from './errors';
import { copyBytes } from '../runtime/typed-arrays';

export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | CborMap;
export type CborKey = number | string;

/** An ordered CBOR map. Plain objects would turn integer keys into strings, so keys and values are kept in arrays. */
export class CborMap {
  readonly keys: CborKey[] = [];
  readonly values: CborValue[] = [];

  /** Appends an entry (or replaces the value of an existing key); returns the map for chaining. */
  set(key: CborKey, value: CborValue): CborMap {
    const index = this.indexOf(key);
    if (index >= 0) {
      this.values[index] = value;
    } else {
      this.keys.push(key);
      this.values.push(value);
    }
    return this;
  }

  get(key: CborKey): CborValue {
    const index = this.indexOf(key);
    return index >= 0 ? this.values[index] : undefined;
  }

  has(key: CborKey): boolean {
    return this.indexOf(key) >= 0;
  }

  get size(): number {
    return this.keys.length;
  }

  indexOf(key: CborKey): number {
    for (let index = 0; index < this.keys.length; index++) if (this.keys[index] === key) return index;
    return -1;
  }
}

const TWO_POWER_32 = 4294967296;
const MAX_SAFE = 9007199254740991;

export const MAJOR_UNSIGNED = 0;
export const MAJOR_NEGATIVE = 1;
export const MAJOR_BYTES = 2;
export const MAJOR_TEXT = 3;
export const MAJOR_ARRAY = 4;
export const MAJOR_MAP = 5;
export const MAJOR_SIMPLE = 7;

/** Writes an item head; `argument` is a non-negative integer up to 2^53 - 1. */
export function writeHead(writer: ByteWriter, major: number, argument: number): void {
  const prefix = major << 5;
  if (argument < 24) {
    writer.byte(prefix | argument);
  } else if (argument < 0x100) {
    writer.byte(prefix | 24);
    writer.byte(argument);
  } else if (argument < 0x10000) {
    writer.byte(prefix | 25);
    writer.uint(argument, 2);
  } else if (argument < TWO_POWER_32) {
    writer.byte(prefix | 26);
    writer.uint(argument, 4);
  } else {
    writer.byte(prefix | 27);
    const high = Math.floor(argument / TWO_POWER_32);
    writer.uint(high, 4);
    writer.uint(argument - high * TWO_POWER_32, 4);
  }
}

export function writeInteger(writer: ByteWriter, value: number): void {
  if (value >= 0) writeHead(writer, MAJOR_UNSIGNED, value);
  else writeHead(writer, MAJOR_NEGATIVE, -1 - value);
}

export function writeBytes(writer: ByteWriter, data: Uint8Array): void {
  writeHead(writer, MAJOR_BYTES, data.length);
  writer.append(data);
}

export function writeText(writer: ByteWriter, text: string): void {
  const encoded = utf8Encode(text);
  writeHead(writer, MAJOR_TEXT, encoded.length);
  writer.append(encoded);
}

const scratch = new DataView(new ArrayBuffer(8));

/** IEEE half-precision bits for `value` when it converts exactly, else -1. `value` must be exact in float32. */
function toHalfBits(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 31) << 15;
  const exponentBits = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponentBits === 0) return mantissa === 0 ? sign : -1;
  const exponent = exponentBits - 127;
  if (exponent > 15 || exponent < -24) return -1;
  if (exponent >= -14) {
    if ((mantissa & 0x1fff) !== 0) return -1;
    return sign | ((exponent + 15) << 10) | (mantissa >>> 13);
  }
  const shift = -exponent - 1;
  const full = 0x800000 | mantissa;
  if ((full & ((1 << shift) - 1)) !== 0) return -1;
  return sign | (full >>> shift);
}

/** Writes a number in the shortest form that keeps it exactly: integer, then half, single, double precision. */
export function writeNumber(writer: ByteWriter, value: number): void {
  if (value === Math.floor(value) && value <= MAX_SAFE && value >= -MAX_SAFE && !(value === 0 && 1 / value < 0)) {
    writeInteger(writer, value);
    return;
  }
  if (value !== value) {
    writer.byte(0xf9);
    writer.uint(0x7e00, 2);
    return;
  }
  if (value === Infinity || value === -Infinity) {
    writer.byte(0xf9);
    writer.uint(value > 0 ? 0x7c00 : 0xfc00, 2);
    return;
  }
  scratch.setFloat32(0, value);
  if (scratch.getFloat32(0) === value) {
    const half = toHalfBits(value);
    if (half >= 0) {
      writer.byte(0xf9);
      writer.uint(half, 2);
      return;
    }
    writer.byte(0xfa);
    writer.uint(scratch.getUint32(0), 4);
    return;
  }
  scratch.setFloat64(0, value);
  writer.byte(0xfb);
  writer.uint(scratch.getUint32(0), 4);
  writer.uint(scratch.getUint32(4), 4);
}

export function writeValue(writer: ByteWriter, value: CborValue): void {
  if (typeof value === 'number') {
    writeNumber(writer, value);
  } else if (typeof value === 'string') {
    writeText(writer, value);
  } else if (value === false) {
    writer.byte(0xf4);
  } else if (value === true) {
    writer.byte(0xf5);
  } else if (value === null) {
    writer.byte(0xf6);
  } else if (value === undefined) {
    writer.byte(0xf7);
  } else if (value instanceof Uint8Array) {
    writeBytes(writer, value);
  } else if (Array.isArray(value)) {
    writeHead(writer, MAJOR_ARRAY, value.length);
    for (let index = 0; index < value.length; index++) writeValue(writer, value[index]);
  } else if (value instanceof CborMap) {
    writeHead(writer, MAJOR_MAP, value.keys.length);
    for (let index = 0; index < value.keys.length; index++) {
      writeValue(writer, value.keys[index]);
      writeValue(writer, value.values[index]);
    }
  } else {
    throw new ProtocolError('invalid-argument', 'value cannot be encoded as CBOR');
  }
}

export function encodeCbor(value: CborValue): Uint8Array {
  const writer = new ByteWriter(32);
  writeValue(writer, value);
  return writer.bytes();
}

export interface CborLimits {
  /** Deepest nesting of arrays/maps (the top-level item is depth 1). */
  maxDepth: number;
  maxMapEntries: number;
  maxArrayItems: number;
  /** Longest byte or text string, in bytes. */
  maxStringLength: number;
}

export const DEFAULT_CBOR_LIMITS: CborLimits = { maxDepth: 8, maxMapEntries: 64, maxArrayItems: 512, maxStringLength: 1024 };

/** 2^exponent for small integer exponents, by multiplication (Math.pow is inexact on Espruino). */
function powerOfTwo(exponent: number): number {
  let result = 1;
  if (exponent >= 0) for (let step = 0; step < exponent; step++) result *= 2;
  else for (let step = 0; step > exponent; step--) result /= 2;
  return result;
}

export function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  let magnitude: number;
  if (exponent === 0) magnitude = mantissa * powerOfTwo(-24);
  else if (exponent === 31) magnitude = mantissa === 0 ? Infinity : NaN;
  else magnitude = (mantissa + 1024) * powerOfTwo(exponent - 25);
  return half & 0x8000 ? -magnitude : magnitude;
}

/**
 * Cursor over hostile bytes. Multi-byte heads are read byte by byte and floats through the module's scratch
 * DataView: a DataView over `data` itself would make V8 move a small array's bytes out of its heap (an allocation
 * per message on the gateway), and costs the terminal a variable per reader.
 */
export class CborReader {
  offset: number;

  constructor(
    readonly data: Uint8Array,
    start?: number,
    readonly end: number = data.length,
    readonly limits: CborLimits = DEFAULT_CBOR_LIMITS,
  ) {
    this.offset = start || 0;
  }

  atEnd(): boolean {
    return this.offset >= this.end;
  }

  private need(count: number): void {
    if (count > this.end - this.offset) throw new ProtocolError('truncated', 'CBOR item runs past the end of its input', this.offset);
  }

  /** Reads an item head; returns the argument and leaves the major type and additional info in `lastMajor`/`lastInfo`. */
  lastMajor = 0;
  lastInfo = 0;
  readHead(): number {
    this.need(1);
    const start = this.offset;
    const initial = this.data[this.offset++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    this.lastMajor = major;
    this.lastInfo = info;
    if (info < 24) return info;
    if (info === 24) {
      this.need(1);
      return this.data[this.offset++];
    }
    if (info <= 27) {
      // 2, 4 or 8 bytes, big-endian; an 8-byte argument in two 32-bit halves.
      const width = 1 << (info - 24);
      this.need(width);
      let high = 0;
      let value = 0;
      for (let index = 0; index < width; index++) {
        if (index === 4) {
          high = value;
          value = 0;
        }
        value = value * 256 + this.data[this.offset++];
      }
      if (width < 8) return value;
      if (major !== MAJOR_SIMPLE && high >= 0x200000) {
        throw new ProtocolError('unsupported', 'CBOR integer beyond 2^53 - 1', start);
      }
      return high * TWO_POWER_32 + value;
    }
    if (info === 31) throw new ProtocolError('unsupported', 'indefinite-length CBOR items are not accepted', start);
    throw new ProtocolError('malformed', 'reserved CBOR additional information', start);
  }

  /** Reads one complete item. `depth` is the nesting depth of the item being read (1 for a top-level item). */
  readValue(depth?: number): CborValue {
    const level = depth || 1;
    if (level > this.limits.maxDepth) throw new ProtocolError('limit', 'CBOR nesting too deep', this.offset);
    const start = this.offset;
    const argument = this.readHead();
    const major = this.lastMajor;
    switch (major) {
      case MAJOR_UNSIGNED:
        return argument;
      case MAJOR_NEGATIVE:
        return -1 - argument;
      case MAJOR_BYTES:
      case MAJOR_TEXT: {
        if (argument > this.limits.maxStringLength) throw new ProtocolError('limit', 'CBOR string too long', start);
        this.need(argument);
        const from = this.offset;
        this.offset += argument;
        if (major === MAJOR_BYTES) return copyBytes(this.data, from, from + argument);
        return utf8Decode(this.data, from, from + argument);
      }
      case MAJOR_ARRAY: {
        if (argument > this.limits.maxArrayItems) throw new ProtocolError('limit', 'CBOR array too long', start);
        this.need(argument);
        const items: CborValue[] = [];
        for (let index = 0; index < argument; index++) items.push(this.readValue(level + 1));
        return items;
      }
      case MAJOR_MAP: {
        if (argument > this.limits.maxMapEntries) throw new ProtocolError('limit', 'CBOR map too large', start);
        this.need(argument * 2);
        const map = new CborMap();
        for (let index = 0; index < argument; index++) {
          const keyOffset = this.offset;
          const key = this.readValue(level + 1);
          if (typeof key !== 'number' && typeof key !== 'string') {
            throw new ProtocolError('unsupported', 'CBOR map keys must be integers or text', keyOffset);
          }
          if (typeof key === 'number' && key !== Math.floor(key)) {
            throw new ProtocolError('unsupported', 'CBOR map keys must be integers or text', keyOffset);
          }
          if (map.has(key)) throw new ProtocolError('malformed', 'duplicate CBOR map key', keyOffset);
          map.keys.push(key);
          map.values.push(this.readValue(level + 1));
        }
        return map;
      }
      case MAJOR_SIMPLE:
        return this.readSimple(argument, start);
      default:
        throw new ProtocolError('unsupported', 'CBOR tags are not accepted', start);
    }
  }

  private readSimple(argument: number, start: number): CborValue {
    const info = this.lastInfo;
    if (info === 25) return halfToNumber(argument);
    if (info === 26 || info === 27) {
      const width = info === 26 ? 4 : 8;
      for (let index = 0; index < width; index++) scratch.setUint8(index, this.data[this.offset - width + index]);
      return width === 4 ? scratch.getFloat32(0) : scratch.getFloat64(0);
    }
    if (info < 24) {
      if (argument === 20) return false;
      if (argument === 21) return true;
      if (argument === 22) return null;
      if (argument === 23) return undefined;
    }
    throw new ProtocolError('unsupported', 'CBOR simple value not accepted', start);
  }
}

/** Decodes exactly one item that must fill `data` from `start` to `end`. */
export function decodeCbor(data: Uint8Array, limits?: CborLimits, start?: number, end?: number): CborValue {
  const reader = new CborReader(data, start || 0, end === undefined ? data.length : end, limits || DEFAULT_CBOR_LIMITS);
  const value = reader.readValue(1);
  if (!reader.atEnd()) throw new ProtocolError('malformed', 'bytes after the CBOR item', reader.offset);
  return value;
}

export function isCborMap(value: CborValue): value is CborMap {
  return value instanceof CborMap;
}
