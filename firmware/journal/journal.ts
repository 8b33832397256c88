/**
 * The flash journal: where every reading waits until the gateway has acknowledged it.
 *
 * Layout (designed against Espruino Storage's failure modes, see docs/journal.md):
 * - A ring of pre-allocated segment files `<prefix>0 .. <prefix>N-1`, each `segmentBytes` long, created with
 *   Storage.write(name, firstRecord, 0, size) and then only written at offsets that are still erased (0xFF).
 *   No StorageFile (it finds its end by scanning for 0xFF and has been linked to corruption), no compact().
 * - Fixed 24-byte slots (magic, kind, flags, value count, id u32, time u32, value float64, source u8, position u8,
 *   CRC-16 of the 22 bytes before it; little-endian), one value each: an entry of n values takes n slots with the
 *   same id, so a torn slot never hides where the next one starts. A slot whose first byte
 *   is 0xFF is free; a slot with a bad CRC is torn (power cut mid-write) and is skipped and counted.
 * - The acknowledged position lives in a small separate file of 8-byte slots (see AcknowledgementLog).
 * - Bounded: when the ring is full, the oldest segment is reused and its unacknowledged records are dropped;
 *   the number dropped is itself journaled as a record of kind Dropped, so it reaches the gateway.
 *
 * Reading ids are the journal's: monotonic, never reused, surviving reboots (the next id after boot is one more
 * than the highest id found in the segments or in the acknowledgement log).
 */
import type { Storage } from '../../hal/interfaces';
import { crc16 } from '../modbus/crc16';
import { AcknowledgementLog } from './acknowledgement-log';
import { isErased } from './flash-slots';

export const recordBytes = 24;
const recordMagic = 0x5a;

export const RecordKind = {
  Reading: 0,
  Event: 1,
  /** values[0] = number of entries the journal had to drop because it was full (including ones reported by earlier Dropped entries that were themselves dropped). */
  Dropped: 2,
} as const;

export interface JournalEntry {
  id: number;
  kind: number;
  /** Which source produced it (an index the application assigns: a configured meter, sensor, input, event type). */
  source: number;
  /** Seconds since the Unix epoch, or 0 when the time was not known. */
  time: number;
  /** The values, in the source's channel order (at most 255). */
  values: number[];
  /** Application-defined flags (quality, alarm bits). */
  flags: number;
  /** False when a power cut tore the entry's last slots: `values` then holds the ones written before the cut. */
  complete?: boolean;
}

interface Slot {
  id: number;
  kind: number;
  flags: number;
  count: number;
  time: number;
  value: number;
  source: number;
  position: number;
}

export interface JournalOptions {
  prefix?: string;
  segments?: number;
  segmentBytes?: number;
}

export interface JournalStatistics {
  /** Records written and not yet acknowledged. */
  depth: number;
  nextId: number;
  acknowledgedId: number;
  /** Torn records found since boot (power cut during a write). */
  tornRecords: number;
  /** Entries dropped since boot because the journal was full. */
  droppedRecords: number;
  capacityRecords: number;
}

interface SegmentState {
  /** Slots in use (valid or torn); the next append goes to this slot. */
  usedSlots: number;
  firstId: number;
  lastId: number;
  exists: boolean;
}

export class Journal {
  private readonly prefix: string;
  private readonly segmentCount: number;
  private readonly segmentBytes: number;
  private readonly slotsPerSegment: number;
  private readonly segments: SegmentState[] = [];
  private readonly acknowledgements: AcknowledgementLog;
  private readonly slot = new Uint8Array(recordBytes);
  private readonly slotView = new DataView(this.slot.buffer);
  private head = 0;
  private nextRecordId = 1;
  private tornCount = 0;
  private droppedCount = 0;
  /** Entries lost to reclaiming and not yet reported by a Dropped entry. */
  private unreportedLoss = 0;

  constructor(
    private readonly storage: Storage,
    options?: JournalOptions,
  ) {
    const settings = options || {};
    this.prefix = settings.prefix || 'j';
    this.segmentCount = settings.segments || 4;
    this.segmentBytes = settings.segmentBytes || 2048;
    this.slotsPerSegment = Math.floor(this.segmentBytes / recordBytes);
    if (this.segmentCount < 2 || this.slotsPerSegment < 2) throw new Error('Journal: needs at least 2 segments of 2 slots');
    this.acknowledgements = new AcknowledgementLog(storage, this.prefix + 'ack');
    this.scan();
  }

  /** Append an entry and return its reading id. The entry is in flash when this returns. */
  append(kind: number, source: number, time: number, values: number[], flags?: number): number {
    if (values.length < 1 || values.length > 255) throw new Error('Journal: an entry holds 1 to 255 values');
    const id = this.writeEntry(kind, source, time, values, flags || 0);
    // Space for this entry may have cost older unacknowledged entries; say so right behind it, so ids stay in
    // flash order. (A power cut between the two loses the count, not a reading.)
    while (this.unreportedLoss > 0) {
      const lost = this.unreportedLoss;
      this.unreportedLoss = 0;
      this.writeEntry(RecordKind.Dropped, 0, 0, [lost], 0);
    }
    return id;
  }

  private writeEntry(kind: number, source: number, time: number, values: number[], flags: number): number {
    const id = this.nextRecordId++;
    for (let position = 0; position < values.length; position++) {
      this.encode(id, kind, flags, values.length, time, values[position]!, source, position);
      this.writeSlot(id);
    }
    return id;
  }

  private writeSlot(id: number): void {
    let state = this.segments[this.head]!;
    if (state.exists && state.usedSlots >= this.slotsPerSegment) {
      this.head = (this.head + 1) % this.segmentCount;
      this.reclaim(this.head);
      state = this.segments[this.head]!;
    }
    const name = this.segmentName(this.head);
    if (!state.exists) {
      this.storage.write(name, this.slot, 0, this.segmentBytes);
      state.exists = true;
      state.usedSlots = 0;
      state.firstId = id;
    } else {
      this.storage.write(name, this.slot, state.usedSlots * recordBytes);
    }
    state.usedSlots++;
    state.lastId = id;
  }

  /** Up to `limit` unacknowledged entries, oldest first. */
  pending(limit: number): JournalEntry[] {
    const acknowledged = this.acknowledgements.value();
    const result: JournalEntry[] = [];
    let current: JournalEntry | null = null;
    let expected = 0;
    const order = this.segmentOrder();
    for (let position = 0; position < order.length; position++) {
      const index = order[position]!;
      const state = this.segments[index]!;
      if (!state.exists || state.lastId <= acknowledged) continue;
      const data = this.storage.read(this.segmentName(index));
      if (!data) continue;
      for (let slotIndex = 0; slotIndex < state.usedSlots; slotIndex++) {
        const slot = this.decode(data, slotIndex * recordBytes);
        if (!slot || slot.id <= acknowledged) continue;
        if (current && slot.id === current.id && slot.position === current.values.length) {
          current.values.push(slot.value);
        } else {
          if (current) current.complete = current.values.length === expected;
          if (result.length === limit) return result;
          current = { id: slot.id, kind: slot.kind, source: slot.source, time: slot.time, values: [slot.value], flags: slot.flags };
          expected = slot.count;
          result.push(current);
        }
      }
    }
    if (current) current.complete = current.values.length === expected;
    return result;
  }

  /** The gateway has stored every record up to and including `id`. */
  acknowledge(id: number): void {
    if (id >= this.nextRecordId) id = this.nextRecordId - 1;
    if (id <= this.acknowledgements.value()) return;
    this.acknowledgements.record(id);
  }

  statistics(): JournalStatistics {
    const acknowledged = this.acknowledgements.value();
    let depth = 0;
    for (let index = 0; index < this.segmentCount; index++) {
      const state = this.segments[index]!;
      if (!state.exists || state.lastId <= acknowledged) continue;
      depth += state.lastId - Math.max(state.firstId - 1, acknowledged);
    }
    return {
      depth,
      nextId: this.nextRecordId,
      acknowledgedId: acknowledged,
      tornRecords: this.tornCount,
      droppedRecords: this.droppedCount,
      capacityRecords: this.segmentCount * this.slotsPerSegment,
    };
  }

  private segmentName(index: number): string {
    return this.prefix + index;
  }

  /** Segment indexes from oldest to newest by the ids they hold. */
  private segmentOrder(): number[] {
    const order: number[] = [];
    for (let step = 1; step <= this.segmentCount; step++) order.push((this.head + step) % this.segmentCount);
    return order;
  }

  /**
   * Make segment `index` empty for reuse. Unacknowledged entries in it are lost: their number (plus the numbers
   * carried by Dropped entries lost with them, so no loss goes unreported) is journaled as a Dropped entry.
   */
  private reclaim(index: number): void {
    const state = this.segments[index]!;
    if (!state.exists) return;
    const released = this.acknowledgements.value();
    let lost = 0;
    if (state.lastId > released) {
      const data = this.storage.read(this.segmentName(index));
      let previousId = 0;
      for (let slotIndex = 0; data && slotIndex < state.usedSlots; slotIndex++) {
        const slot = this.decode(data, slotIndex * recordBytes);
        if (!slot || slot.id <= released || slot.id === previousId) continue;
        previousId = slot.id;
        lost += slot.kind === RecordKind.Dropped ? slot.value : 1;
      }
      // The reclaimed segment is the oldest, so every id up to its last one is now released: acknowledged or lost.
      this.acknowledgements.record(state.lastId);
    }
    this.storage.erase(this.segmentName(index));
    state.exists = false;
    state.usedSlots = 0;
    state.firstId = 0;
    state.lastId = 0;
    this.droppedCount += lost;
    this.unreportedLoss += lost;
  }

  private scan(): void {
    let highestId = this.acknowledgements.value();
    let newestSegment = -1;
    for (let index = 0; index < this.segmentCount; index++) {
      const state: SegmentState = { usedSlots: 0, firstId: 0, lastId: 0, exists: false };
      this.segments.push(state);
      const data = this.storage.read(this.segmentName(index));
      if (!data) continue;
      state.exists = true;
      const slots = Math.min(this.slotsPerSegment, Math.floor(data.length / recordBytes));
      // A segment of another size (the journal was configured differently) is read but never appended to.
      const foreignSize = data.length !== this.segmentBytes;
      for (let slot = 0; slot < slots; slot++) {
        const offset = slot * recordBytes;
        if (isErased(data, offset, recordBytes)) break;
        state.usedSlots = slot + 1;
        const record = this.decode(data, offset);
        if (!record) {
          this.tornCount++;
          continue;
        }
        if (state.firstId === 0) state.firstId = record.id;
        state.lastId = record.id;
      }
      if (foreignSize) state.usedSlots = this.slotsPerSegment;
      // An entry can straddle two segments; of two segments ending in the same id, the later-started is newer.
      const newest = newestSegment >= 0 ? this.segments[newestSegment]! : null;
      if (state.lastId > highestId || (newest && state.lastId === highestId && state.firstId > newest.firstId)) {
        highestId = state.lastId;
        newestSegment = index;
      }
    }
    this.nextRecordId = highestId + 1;
    this.head = newestSegment >= 0 ? newestSegment : 0;
  }

  private encode(id: number, kind: number, flags: number, count: number, time: number, value: number, source: number, position: number): void {
    const view = this.slotView;
    view.setUint8(0, recordMagic);
    view.setUint8(1, kind);
    view.setUint8(2, flags);
    view.setUint8(3, count);
    view.setUint32(4, id, true);
    view.setUint32(8, time, true);
    view.setFloat64(12, value, true);
    view.setUint8(20, source);
    view.setUint8(21, position);
    view.setUint16(22, crc16(this.slot, 0, 22), true);
  }

  private decode(data: Uint8Array, offset: number): Slot | null {
    if (data[offset] !== recordMagic) return null;
    const view = new DataView(data.buffer, data.byteOffset + offset, recordBytes);
    if (view.getUint16(22, true) !== crc16(data, offset, offset + 22)) return null;
    return {
      id: view.getUint32(4, true),
      kind: view.getUint8(1),
      flags: view.getUint8(2),
      count: view.getUint8(3),
      time: view.getUint32(8, true),
      value: view.getFloat64(12, true),
      source: view.getUint8(20),
      position: view.getUint8(21),
    };
  }
}
