/**
 * CRC-16/MODBUS (polynomial 0xA001 reflected, initial value 0xFFFF), as in the Modbus over Serial Line
 * specification V1.02, section 6.2.2. Table-driven: 256 entries computed once, on first use, so the
 * bundle carries no 512-byte literal and a board that never talks Modbus never spends the RAM.
 */
let table: Uint16Array | null = null;

function buildTable(): Uint16Array {
  const result = new Uint16Array(256);
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? (value >>> 1) ^ 0xa001 : value >>> 1;
    result[index] = value;
  }
  return result;
}

/** CRC of `data[start .. end)`. The frame carries it low byte first. */
export function crc16(data: Uint8Array, start?: number, end?: number): number {
  if (!table) table = buildTable();
  const lookup = table;
  const from = start === undefined ? 0 : start;
  const to = end === undefined ? data.length : end;
  let crc = 0xffff;
  for (let index = from; index < to; index++) crc = (crc >>> 8) ^ lookup[(crc ^ data[index]) & 0xff];
  return crc & 0xffff;
}

/** True when the last two bytes of `frame` are the CRC of the bytes before them. */
export function hasValidCrc(frame: Uint8Array): boolean {
  if (frame.length < 3) return false;
  const crc = crc16(frame, 0, frame.length - 2);
  return frame[frame.length - 2] === (crc & 0xff) && frame[frame.length - 1] === crc >>> 8;
}
