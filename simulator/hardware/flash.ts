/**
 * NOR flash as the Espruino Storage area sees it: erased bytes are 0xFF, programming can only clear bits
 * (the stored byte becomes old AND new), and only whole pages can be erased back to 0xFF.
 *
 * Power-cut injection: `cutPowerAfterBytes(n)` lets the next n bytes of programming through (counted over
 * every write that follows, byte by byte in address order) and then cuts the power in the middle of the write
 * that would program byte n+1. The contents stay exactly as far as they got; `onPowerCut` tells the board, which
 * goes dead, and the write throws PowerCutSignal so nothing after it runs. Page erases are atomic here.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Thrown through the firmware's stack when the power goes; the board catches it at its event boundary. */
export class PowerCutSignal extends Error {
  constructor(readonly reason: string) {
    super(`power cut: ${reason}`);
    this.name = 'PowerCutSignal';
  }
}

export interface FlashStatistics {
  bytesProgrammed: number;
  writes: number;
  pageErases: number;
  /** Erase count of the most-erased page (wear). */
  maximumPageErases: number;
}

export class NorFlash {
  readonly bytes: Uint8Array;
  private readonly pageErases: Uint32Array;
  private cutBudget: number | null = null;
  private statistics = { bytesProgrammed: 0, writes: 0, pageErases: 0 };
  /** Set by the board: called once when an injected cut fires (before PowerCutSignal is thrown). */
  onPowerCut: ((detail: { address: number; bytesWritten: number }) => void) | null = null;
  /** Called after every completed or cut write, for tests that watch the flash traffic. */
  onWrite: ((address: number, length: number) => void) | null = null;

  constructor(
    readonly size: number,
    readonly pageSize: number,
  ) {
    if (!(size > 0) || !(pageSize > 0) || size % pageSize !== 0) {
      throw new Error(`flash size ${size} must be a positive multiple of the page size ${pageSize}`);
    }
    this.bytes = new Uint8Array(size).fill(0xff);
    this.pageErases = new Uint32Array(size / pageSize);
  }

  /** Arm the injector: the power goes after `bytes` more bytes have been programmed (0 = at the next write's first byte). */
  cutPowerAfterBytes(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`cutPowerAfterBytes needs a non-negative integer, got ${bytes}`);
    this.cutBudget = bytes;
  }

  cancelPowerCut(): void {
    this.cutBudget = null;
  }

  powerCutArmed(): boolean {
    return this.cutBudget !== null;
  }

  read(address: number, length: number): Uint8Array {
    this.checkRange(address, length);
    return this.bytes.slice(address, address + length);
  }

  readByte(address: number): number {
    return this.bytes[address]!;
  }

  readUint32(address: number): number {
    const bytes = this.bytes;
    return (bytes[address]! | (bytes[address + 1]! << 8) | (bytes[address + 2]! << 16) | (bytes[address + 3]! << 24)) >>> 0;
  }

  /** Program `data` at `address` (NOR: AND with what is there). May throw PowerCutSignal part way. */
  write(address: number, data: Uint8Array): void {
    this.checkRange(address, data.length);
    this.statistics.writes++;
    let count = data.length;
    let cut = false;
    if (this.cutBudget !== null && this.cutBudget < count) {
      count = this.cutBudget;
      cut = true;
    }
    for (let index = 0; index < count; index++) this.bytes[address + index]! &= data[index]!;
    this.statistics.bytesProgrammed += count;
    if (this.cutBudget !== null) this.cutBudget -= count;
    this.onWrite?.(address, count);
    if (cut) {
      this.cutBudget = null;
      this.onPowerCut?.({ address: address + count, bytesWritten: count });
      throw new PowerCutSignal(`flash write of ${data.length} bytes at 0x${address.toString(16)} stopped after ${count}`);
    }
  }

  erasePage(address: number): void {
    const page = Math.floor(address / this.pageSize);
    if (page < 0 || page >= this.pageErases.length) throw new Error(`erase of page at 0x${address.toString(16)} outside the flash`);
    this.bytes.fill(0xff, page * this.pageSize, (page + 1) * this.pageSize);
    this.pageErases[page]!++;
    this.statistics.pageErases++;
  }

  /** Erase every page touched by [address, address + length). */
  eraseRange(address: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(address / this.pageSize);
    const last = Math.floor((address + length - 1) / this.pageSize);
    for (let page = first; page <= last; page++) this.erasePage(page * this.pageSize);
  }

  /** Start of the page holding `address` and its length (jshFlashGetPage). */
  pageOf(address: number): { start: number; length: number } | null {
    if (address < 0 || address >= this.size) return null;
    const start = Math.floor(address / this.pageSize) * this.pageSize;
    return { start, length: this.pageSize };
  }

  stats(): FlashStatistics {
    let maximumPageErases = 0;
    for (const count of this.pageErases) maximumPageErases = Math.max(maximumPageErases, count);
    return { ...this.statistics, maximumPageErases };
  }

  /** True when every byte is 0xFF. */
  isBlank(): boolean {
    return this.bytes.every((value) => value === 0xff);
  }

  saveToFile(file: string): void {
    writeFileSync(file, this.bytes);
  }

  /** Load an image saved by saveToFile (or Espruino Linux's espruino.flash) of the same size. */
  loadFromFile(file: string): void {
    const image = readFileSync(file);
    if (image.length !== this.size) throw new Error(`${file}: flash image is ${image.length} bytes, this flash has ${this.size}`);
    this.bytes.set(image);
  }

  private checkRange(address: number, length: number): void {
    if (!Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 || address + length > this.size) {
      throw new Error(`flash access 0x${address.toString(16)}+${length} outside 0..0x${this.size.toString(16)}`);
    }
  }
}
