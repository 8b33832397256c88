/**
 * Power-cut-safe persistence of a counter without wearing out flash.
 *
 * Two pre-allocated Storage files (`<name>.a`, `<name>.b`) each hold a ring of fixed 12-byte records:
 *   0x43 'C' | sequence u32 BE | count u32 BE | CRC-16/MODBUS of bytes 0..8, LE | 0x00
 * A save writes one record into erased space of the active file (Storage.write with an offset: no new file,
 * no erase, no compaction). When the active file is full the next save recreates the other file, whose
 * records are all older, so the newest record always survives somewhere. Loading takes the valid record with
 * the highest sequence; a record torn by a power cut fails its CRC and is skipped. So a cut at any byte of any
 * write loses at most what was not yet saved.
 */
import type { HalError, Storage } from '../../hal/interfaces';
import { crc16 } from '../modbus/crc16';

export const recordBytes = 12;
const marker = 0x43;

export interface StoredCounter {
  count: number;
  sequence: number;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) >>> 0) + (bytes[offset + 1] << 16) + (bytes[offset + 2] << 8) + bytes[offset + 3];
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

function isErased(bytes: Uint8Array, offset: number): boolean {
  for (let index = 0; index < recordBytes; index++) if (bytes[offset + index] !== 0xff) return false;
  return true;
}

export function encodeRecord(sequence: number, count: number): Uint8Array {
  const record = new Uint8Array(recordBytes);
  record[0] = marker;
  writeU32(record, 1, sequence);
  writeU32(record, 5, count);
  const crc = crc16(record, 0, 9);
  record[9] = crc & 0xff;
  record[10] = crc >>> 8;
  record[11] = 0;
  return record;
}

function isValidRecord(bytes: Uint8Array, offset: number): boolean {
  if (bytes[offset] !== marker || bytes[offset + 11] !== 0) return false;
  const crc = crc16(bytes, offset, offset + 9);
  return bytes[offset + 9] === (crc & 0xff) && bytes[offset + 10] === crc >>> 8;
}

export class CounterStore {
  readonly fileBytes: number;
  private readonly files: string[];
  private activeFile = 0;
  /** Offset of the next erased slot in the active file, or -1 when it is full (or does not exist). */
  private nextOffset = -1;
  private sequence = 0;
  /** Records written since boot (flash wear accounting). */
  writes = 0;
  /** Files created since boot. */
  fileCreations = 0;

  constructor(
    private readonly storage: Storage,
    name: string,
    recordsPerFile?: number,
  ) {
    this.fileBytes = (recordsPerFile || 170) * recordBytes;
    this.files = [name + '.a', name + '.b'];
  }

  /** The newest intact record, or count 0 when there is none. Also finds where the next record goes. */
  load(): StoredCounter {
    let best: StoredCounter = { count: 0, sequence: 0 };
    let bestFile = -1;
    let bestOffset = -1;
    const contents: Array<Uint8Array | null> = [];
    for (let file = 0; file < 2; file++) {
      const bytes = this.storage.read(this.files[file]);
      contents.push(bytes && bytes.length === this.fileBytes ? bytes : null);
      const data = contents[file];
      if (!data) continue;
      for (let offset = 0; offset + recordBytes <= data.length; offset += recordBytes) {
        if (!isValidRecord(data, offset)) continue;
        const sequence = readU32(data, offset + 1);
        if (sequence > best.sequence) {
          best = { count: readU32(data, offset + 5), sequence };
          bestFile = file;
          bestOffset = offset;
        }
      }
    }
    this.sequence = best.sequence;
    this.activeFile = bestFile < 0 ? 0 : bestFile;
    this.nextOffset = -1;
    const active = contents[this.activeFile];
    if (active) {
      for (let offset = bestOffset + recordBytes; offset + recordBytes <= active.length; offset += recordBytes) {
        if (isErased(active, offset)) {
          this.nextOffset = offset;
          break;
        }
      }
    } else if (bestFile < 0) {
      this.activeFile = 1;
    }
    return best;
  }

  /** Persist `count`. Throws HalError when Storage refuses (no space). */
  save(count: number): void {
    this.sequence++;
    const record = encodeRecord(this.sequence, count);
    if (this.nextOffset < 0) {
      // Start the other file afresh: everything in it is older than what the active file holds.
      this.activeFile = 1 - this.activeFile;
      this.storage.write(this.files[this.activeFile], record, 0, this.fileBytes);
      this.fileCreations++;
      this.nextOffset = recordBytes;
    } else {
      try {
        this.storage.write(this.files[this.activeFile], record, this.nextOffset, this.fileBytes);
      } catch (error) {
        // The slot was not erased after all (torn by a cut we did not see): move on to a fresh file.
        if ((error as HalError).name !== 'HalError') throw error;
        this.nextOffset = -1;
        this.sequence--;
        this.save(count);
        return;
      }
      this.nextOffset += recordBytes;
    }
    this.writes++;
    if (this.nextOffset + recordBytes > this.fileBytes) this.nextOffset = -1;
  }

  erase(): void {
    this.storage.erase(this.files[0]);
    this.storage.erase(this.files[1]);
    this.sequence = 0;
    this.nextOffset = -1;
    this.activeFile = 1;
  }
}
