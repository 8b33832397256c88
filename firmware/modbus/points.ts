/**
 * Point decoding: turn register bytes into engineering values (and back, for writes).
 * Types u16, s16, u32, s32, float32; for 32-bit types the word order says which register holds the
 * high half ("big" = high word first, the Modbus convention; "little" = low word first), and the byte
 * order says how the two bytes of each register are laid out ("big" = high byte first, as the spec
 * sends them; "little" = swapped). Value = raw * scale + offset. ES5-safe: DataView, no Math.pow.
 */

export type PointType = 'u16' | 's16' | 'u32' | 's32' | 'float32' | 'bool';
export type Order = 'big' | 'little';
export type RegisterTable = 'coil' | 'discrete' | 'holding' | 'input';

export interface PointDefinition {
  name: string;
  table: RegisterTable;
  address: number;
  type: PointType;
  wordOrder?: Order;
  byteOrder?: Order;
  scale?: number;
  offset?: number;
  unit?: string;
}

/** Registers a point occupies (bits count as one item of their table). */
export function pointWidth(type: PointType): number {
  return type === 'u32' || type === 's32' || type === 'float32' ? 2 : 1;
}

const scratch = new DataView(new ArrayBuffer(4));

/**
 * Load the point's register bytes from `bytes` at `offset` into `scratch` as big-endian (high byte of
 * the high word first), undoing word and byte order.
 */
function loadCanonical(bytes: Uint8Array, offset: number, words: number, wordOrder: Order, byteOrder: Order): void {
  for (let word = 0; word < words; word++) {
    const source = offset + (wordOrder === 'little' ? words - 1 - word : word) * 2;
    const high = byteOrder === 'little' ? bytes[source + 1] : bytes[source];
    const low = byteOrder === 'little' ? bytes[source] : bytes[source + 1];
    scratch.setUint8(word * 2, high);
    scratch.setUint8(word * 2 + 1, low);
  }
}

/** The raw (unscaled) value of a register point whose first register starts at `bytes[offset]`. */
export function decodeRaw(bytes: Uint8Array, offset: number, type: PointType, wordOrder?: Order, byteOrder?: Order): number {
  const words = pointWidth(type);
  loadCanonical(bytes, offset, words, wordOrder || 'big', byteOrder || 'big');
  switch (type) {
    case 'u16':
      return scratch.getUint16(0, false);
    case 's16':
      return scratch.getInt16(0, false);
    case 'u32':
      return scratch.getUint32(0, false);
    case 's32':
      return scratch.getInt32(0, false);
    case 'float32':
      return scratch.getFloat32(0, false);
    default:
      return scratch.getUint16(0, false) ? 1 : 0;
  }
}

export function applyScale(raw: number, point: { scale?: number; offset?: number }): number {
  const scale = point.scale === undefined ? 1 : point.scale;
  const offset = point.offset === undefined ? 0 : point.offset;
  return scale === 1 && offset === 0 ? raw : raw * scale + offset;
}

/** Engineering value of a register point from a read that started at register `firstAddress`. */
export function decodePoint(point: PointDefinition, bytes: Uint8Array, firstAddress: number): number {
  const raw = decodeRaw(bytes, (point.address - firstAddress) * 2, point.type, point.wordOrder, point.byteOrder);
  return applyScale(raw, point);
}

/**
 * Register words (as the wire carries them, in word order) for writing `value` to a point.
 * Integers are rounded after undoing scale and offset; out-of-range values are clamped.
 */
export function encodePoint(point: PointDefinition, value: number): number[] {
  const scale = point.scale === undefined ? 1 : point.scale;
  const offset = point.offset === undefined ? 0 : point.offset;
  let raw = (value - offset) / scale;
  const type = point.type;
  if (type !== 'float32') raw = Math.round(raw);
  if (type === 'u16' || type === 'bool') scratch.setUint16(0, Math.max(0, Math.min(0xffff, raw)), false);
  else if (type === 's16') scratch.setInt16(0, Math.max(-0x8000, Math.min(0x7fff, raw)), false);
  else if (type === 'u32') scratch.setUint32(0, Math.max(0, Math.min(4294967295, raw)), false);
  else if (type === 's32') scratch.setInt32(0, Math.max(-2147483648, Math.min(2147483647, raw)), false);
  else scratch.setFloat32(0, raw, false);
  const words = pointWidth(type);
  const result: number[] = [];
  for (let index = 0; index < words; index++) {
    const canonical = point.wordOrder === 'little' ? words - 1 - index : index;
    const high = scratch.getUint8(canonical * 2);
    const low = scratch.getUint8(canonical * 2 + 1);
    result.push(point.byteOrder === 'little' ? (low << 8) | high : (high << 8) | low);
  }
  return result;
}
