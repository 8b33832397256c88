/**
 * How Espruino turns "data" arguments into bytes (jsvIterateCallback): strings one char per byte, numbers
 * and booleans one byte, arrays and typed arrays element by element (recursively), ArrayBuffers and
 * DataViews byte by byte, and `{data, count}` objects repeated `count` times. Values from the sandbox realm
 * are handled too (no instanceof across realms).
 */

export class DataConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataConversionError';
  }
}

function isArrayBufferLike(value: object): value is ArrayBuffer {
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

function isView(value: object): value is ArrayBufferView {
  return typeof (value as ArrayBufferView).byteLength === 'number' && isArrayBufferLike((value as ArrayBufferView).buffer ?? {});
}

function push(out: number[], value: unknown, depth: number): void {
  if (depth > 16) throw new DataConversionError('data nested too deeply');
  if (typeof value === 'string') {
    for (let index = 0; index < value.length; index++) out.push(value.charCodeAt(index) & 0xff);
  } else if (typeof value === 'number') {
    out.push((value | 0) & 0xff);
  } else if (typeof value === 'boolean') {
    out.push(value ? 1 : 0);
  } else if (value === undefined || value === null) {
    // Espruino iterates nothing for undefined/null.
  } else if (typeof value === 'object') {
    if (isArrayBufferLike(value)) {
      for (const byte of new Uint8Array(value)) out.push(byte);
    } else if (Object.prototype.toString.call(value) === '[object DataView]') {
      const view = value as DataView;
      for (const byte of new Uint8Array(view.buffer, view.byteOffset, view.byteLength)) out.push(byte);
    } else if (isView(value)) {
      const elements = value as unknown as ArrayLike<number>;
      for (let index = 0; index < elements.length; index++) out.push((Number(elements[index]) | 0) & 0xff);
    } else if (Array.isArray(value)) {
      for (const element of value) push(out, element, depth + 1);
    } else if ('data' in (value as object)) {
      const record = value as { data: unknown; count?: unknown };
      const count = typeof record.count === 'number' ? record.count : 1;
      for (let index = 0; index < count; index++) push(out, record.data, depth + 1);
    } else {
      throw new DataConversionError('cannot turn an object without "data" into bytes');
    }
  } else {
    throw new DataConversionError(`cannot turn a ${typeof value} into bytes`);
  }
}

export function toByteArray(...values: unknown[]): Uint8Array {
  // The common cases (one string, one Uint8Array) without the element-by-element path; same bytes.
  if (values.length === 1) {
    const value = values[0];
    if (typeof value === 'string') return latin1ToBytes(value);
    if (value !== null && typeof value === 'object' && Object.prototype.toString.call(value) === '[object Uint8Array]' && isView(value)) {
      return new Uint8Array(value as Uint8Array);
    }
  }
  const out: number[] = [];
  for (const value of values) push(out, value, 0);
  return Uint8Array.from(out);
}

export function bytesToLatin1(bytes: Uint8Array): string {
  if (bytes.length > 256) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

export function latin1ToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index) & 0xff;
  return bytes;
}

/** E.CRC32: the IEEE 802.3 CRC-32 (E.CRC32("abc") === 891568578 on 2v29). */
const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    table[index] = value >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
