/**
 * A number that only grows (the journal's acknowledged reading id), kept in flash without wearing it out and
 * without a window where a power cut loses it.
 *
 * Two pre-allocated files `<name>0` and `<name>1` of 8-byte slots: magic, 0, value u32, CRC-16 (little-endian).
 * Each new value goes into the next free slot of the current file; when it is full, the other file is erased and
 * restarted with the value, so the newest value is always in at least one intact slot. The value is the largest
 * valid one in either file; torn slots (power cut mid-write) fail their CRC and are ignored.
 */
import type { Storage } from '../../hal/interfaces';
import { crc16 } from '../modbus/crc16';
import { isErased } from './flash-slots';

const slotBytes = 8;
const slotsPerFile = 32;
const magic = 0xa7;

export class AcknowledgementLog {
  private current = 0;
  private nextSlot = 0;
  private latest = 0;
  private readonly slot = new Uint8Array(slotBytes);

  constructor(
    private readonly storage: Storage,
    private readonly name: string,
  ) {
    for (let file = 0; file < 2; file++) {
      const data = storage.read(name + file);
      if (!data) continue;
      let used = 0;
      let highest = -1;
      for (let slot = 0; slot < slotsPerFile && (slot + 1) * slotBytes <= data.length; slot++) {
        if (isErased(data, slot * slotBytes, slotBytes)) break;
        used = slot + 1;
        const value = decode(data, slot * slotBytes);
        if (value !== null && value > highest) highest = value;
      }
      if (highest >= this.latest) {
        this.latest = highest;
        this.current = file;
        this.nextSlot = used;
      }
    }
  }

  value(): number {
    return this.latest;
  }

  record(value: number): void {
    if (value <= this.latest) return;
    const view = new DataView(this.slot.buffer);
    view.setUint8(0, magic);
    view.setUint8(1, 0);
    view.setUint32(2, value, true);
    view.setUint16(6, crc16(this.slot, 0, 6), true);
    if (this.nextSlot >= slotsPerFile || !this.storage.read(this.name + this.current)) {
      if (this.nextSlot >= slotsPerFile) this.current = 1 - this.current;
      this.storage.erase(this.name + this.current);
      this.storage.write(this.name + this.current, this.slot, 0, slotBytes * slotsPerFile);
      this.nextSlot = 1;
    } else {
      this.storage.write(this.name + this.current, this.slot, this.nextSlot * slotBytes);
      this.nextSlot++;
    }
    this.latest = value;
  }
}

function decode(data: Uint8Array, offset: number): number | null {
  if (data[offset] !== magic) return null;
  const view = new DataView(data.buffer, data.byteOffset + offset, slotBytes);
  if (view.getUint16(6, true) !== crc16(data, offset, offset + 6)) return null;
  return view.getUint32(2, true);
}
