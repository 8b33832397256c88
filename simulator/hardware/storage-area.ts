/**
 * Espruino's flash file system (src/jsflash.c of 2v29), ported step for step onto NorFlash so that the bytes in
 * flash, the free-space figures, compaction and what a power cut leaves behind are those of a real board.
 *
 * Layout: files one after another from the start of the area, each a 32-byte header (uint32 size with flags in
 * the top byte, 28-byte zero-padded name) followed by the data, the next header at the next JSF_ALIGNMENT
 * boundary. Replacing or erasing a file zeroes the first 4 bytes of its name (it becomes trash); space comes
 * back only by compaction. The filename table of the Linux/Bangle.js builds is not modelled.
 */
import type { NorFlash } from './flash';
import { compactFrom } from './storage-compaction';

export const headerBytes = 32;
export const nameBytes = 28;
export const enum FileFlag {
  None = 0,
  FilenameTable = 32,
  StorageFile = 64,
  Compressed = 128,
}

/** An exception Espruino raises (jsExceptionHere); the message is the interpreter's. */
export class StorageException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Error';
  }
}

export interface FileHeader {
  /** The raw 32-bit size word. */
  raw: number;
  size: number;
  flags: number;
  name: Uint8Array;
  /** name[0..3] as a uint32: 0 once the file has been replaced or erased. */
  firstChars: number;
}

export interface StorageStatistics {
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
  total: number;
  free: number;
  firstPageWithErasedFiles: number | null;
}

export interface FoundFile {
  /** Flash address of the file's data (after the header). */
  address: number;
  header: FileHeader;
}

export function encodeName(name: string): Uint8Array {
  const bytes = new Uint8Array(nameBytes);
  for (let index = 0; index < Math.min(name.length, nameBytes); index++) bytes[index] = name.charCodeAt(index) & 0xff;
  return bytes;
}

export function decodeName(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  return text;
}

export class StorageArea {
  readonly end: number;
  /** Where the interpreter's console messages go (compaction prints progress, as jsfCompactInternal does). */
  onConsole: ((text: string) => void) | null = null;

  constructor(
    readonly flash: NorFlash,
    readonly alignment: 4 | 8,
  ) {
    this.end = flash.size;
  }

  align(address: number): number {
    return Math.ceil(address / this.alignment) * this.alignment;
  }

  /** jsfGetFileHeader: the header at `address` and whether it is a valid one. */
  header(address: number): { header: FileHeader; valid: boolean } {
    const raw = this.flash.readUint32(address);
    const size = raw & 0x00ffffff;
    const name = address + headerBytes <= this.end ? this.flash.read(address + 4, nameBytes) : new Uint8Array(nameBytes).fill(0xff);
    const firstChars = (name[0]! | (name[1]! << 8) | (name[2]! << 16) | (name[3]! << 24)) >>> 0;
    const header: FileHeader = { raw, size, flags: raw >>> 24, name, firstChars };
    const valid = raw !== 0xffffffff && raw !== 0 && address + headerBytes + size <= this.end;
    return { header, valid };
  }

  /** jsfGetAddressOfNextPage: start of the page after the one holding `address`, or null past the end. */
  nextPage(address: number | null): number | null {
    if (address === null) return null;
    const page = this.flash.pageOf(address);
    if (!page) return null;
    const next = page.start + page.length;
    return next >= this.end ? null : next;
  }

  /**
   * jsfGetNextFileHeader: where the header after `address` (whose header is `current`) is. With `allPages`, an
   * empty slot makes it look at the start of the next page. `address` null means there is no room for one.
   */
  next(address: number, current: FileHeader, allPages: boolean): { address: number | null; header: FileHeader; valid: boolean } {
    let nextAddress = this.align(address + current.size + headerBytes);
    if (nextAddress + headerBytes > this.end) return { address: null, header: current, valid: false };
    let result = this.header(nextAddress);
    if (allPages && !result.valid) {
      const page = this.nextPage(nextAddress);
      if (page === null) return { address: null, header: result.header, valid: false };
      nextAddress = page;
      result = this.header(nextAddress);
    }
    return { address: nextAddress, header: result.header, valid: result.valid };
  }

  /** Every header slot from the start, following the chain like the C loops do; stops at the first invalid one. */
  *files(allPages = true): Generator<{ address: number; header: FileHeader }> {
    let address: number | null = 0;
    let current = this.header(0);
    if (!current.valid) return;
    for (;;) {
      yield { address: address!, header: current.header };
      const step = this.next(address!, current.header, allPages);
      if (!step.valid || step.address === null) return;
      address = step.address;
      current = { header: step.header, valid: true };
    }
  }

  isErased(address: number, length: number): boolean {
    const bytes = this.flash.bytes;
    for (let index = address; index < address + length; index++) if (bytes[index] !== 0xff) return false;
    return true;
  }

  /** jsfGetSpaceLeftInPage: room for a file (with header) from `address` to the next page, or to the end when the rest is empty. */
  spaceLeftInPage(address: number | null): number {
    if (address === null) return 0;
    const page = this.flash.pageOf(address);
    if (!page) return 0;
    let nextPageStart = page.start + page.length;
    if (nextPageStart < this.end && !this.header(nextPageStart).valid) nextPageStart = this.end;
    return nextPageStart - address;
  }

  /**
   * The walk of files(true), comparing names in place: the firmware looks files up many times per event, and
   * the generator's header objects were most of what a fleet allocated.
   */
  find(name: string | Uint8Array): FoundFile | null {
    const encoded = typeof name === 'string' ? encodeName(name) : name;
    const flash = this.flash;
    const bytes = flash.bytes;
    let address = 0;
    let raw = flash.readUint32(0);
    if (!this.validHeader(address, raw)) return null;
    for (;;) {
      let same = true;
      for (let index = 0; index < nameBytes; index++) {
        if (bytes[address + 4 + index] !== encoded[index]) {
          same = false;
          break;
        }
      }
      if (same) return { address: address + headerBytes, header: this.header(address).header };
      let nextAddress = this.align(address + (raw & 0x00ffffff) + headerBytes);
      if (nextAddress + headerBytes > this.end) return null;
      raw = flash.readUint32(nextAddress);
      if (!this.validHeader(nextAddress, raw)) {
        const page = this.nextPage(nextAddress);
        if (page === null) return null;
        nextAddress = page;
        raw = flash.readUint32(nextAddress);
        if (!this.validHeader(nextAddress, raw)) return null;
      }
      address = nextAddress;
    }
  }

  /** header(address).valid from the size word alone. */
  private validHeader(address: number, raw: number): boolean {
    return raw !== 0xffffffff && raw !== 0 && address + headerBytes + (raw & 0x00ffffff) <= this.end;
  }

  read(name: string | Uint8Array, offset = 0, length = 0): Uint8Array | null {
    const file = this.find(name);
    if (!file) return null;
    const size = file.header.size;
    if (offset < 0) offset = 0;
    if (length <= 0) length = size;
    if (offset > size) offset = size;
    if (offset + length > size) length = size - offset;
    if (length <= 0) return new Uint8Array(0);
    return this.flash.read(file.address + offset, length);
  }

  /** jsfGetStorageStats(0, allPages). */
  stats(allPages = true): StorageStatistics {
    const stats: StorageStatistics = { fileBytes: 0, fileCount: 0, trashBytes: 0, trashCount: 0, total: 0, free: 0, firstPageWithErasedFiles: null };
    let lastAddress = 0;
    let lastUnbrokenPageStart = 0;
    for (const file of this.files(allPages)) {
      const page = this.flash.pageOf(file.address);
      if (page && page.start === file.address) lastUnbrokenPageStart = page.start;
      const fileSize = this.align(file.header.size) + headerBytes;
      lastAddress = file.address + fileSize;
      if (file.header.firstChars !== 0) {
        stats.fileBytes += fileSize;
        stats.fileCount++;
      } else {
        stats.trashBytes += fileSize;
        stats.trashCount++;
        if (stats.firstPageWithErasedFiles === null) stats.firstPageWithErasedFiles = lastUnbrokenPageStart;
      }
    }
    const pageEnd = allPages ? this.end : (this.nextPage(0) ?? this.end);
    stats.total = pageEnd;
    stats.free = pageEnd - lastAddress;
    return stats;
  }

  /** jsfEraseFileInternal: zero name.firstChars (a 4-byte flash write). */
  eraseAt(file: FoundFile): void {
    this.flash.write(file.address - headerBytes + 4, new Uint8Array(4));
  }

  erase(name: string): boolean {
    const file = this.find(name);
    if (!file) return false;
    this.eraseAt(file);
    return true;
  }

  eraseAll(): void {
    this.flash.eraseRange(0, this.end);
  }

  /** _jsfCreateFile: find a hole (compacting once if that would make room), write the header. Returns the data address. */
  create(name: Uint8Array, size: number, flags: number): FoundFile | null {
    const required = this.align(size) + headerBytes;
    let compacted = false;
    let freeAddress: number | null = null;
    while (freeAddress === null) {
      let address: number | null = 0;
      let freeSpace = 0;
      let trashSpace = 0;
      do {
        let current = this.header(address!);
        if (current.valid) {
          for (;;) {
            if (current.header.firstChars === 0) trashSpace += current.header.size;
            const step = this.next(address!, current.header, false);
            address = step.address;
            if (!step.valid || address === null) break;
            current = { header: step.header, valid: true };
          }
        }
        const space = this.spaceLeftInPage(address);
        freeSpace += space;
        if (space < required) address = this.nextPage(address);
        else freeAddress = address;
      } while (address !== null && freeAddress === null);
      if (freeAddress === null) {
        if (!compacted && required < freeSpace + trashSpace) {
          compacted = true;
          if (!this.compact()) return null;
        } else {
          return null;
        }
      }
    }
    const header = new Uint8Array(headerBytes);
    const raw = ((size & 0x00ffffff) | (flags << 24)) >>> 0;
    header[0] = raw & 0xff;
    header[1] = (raw >>> 8) & 0xff;
    header[2] = (raw >>> 16) & 0xff;
    header[3] = raw >>> 24;
    header.set(name, 4);
    this.flash.write(freeAddress, header);
    // Like jsfCreateFile, report the header it meant to write: if the slot was not blank (a header torn by a
    // power cut), flash now holds the AND of both, and the file is silently broken, as on a board.
    const name28 = name.slice(0, nameBytes);
    const firstChars = (name28[0]! | (name28[1]! << 8) | (name28[2]! << 16) | (name28[3]! << 24)) >>> 0;
    return { address: freeAddress + headerBytes, header: { raw, size: size & 0x00ffffff, flags, name: name28, firstChars } };
  }

  /** jsfWriteFile. Throws StorageException with Espruino's messages; returns true on success. */
  write(nameText: string, data: Uint8Array, flags: number, offset: number, sizeArgument: number): boolean {
    if (offset < 0 || sizeArgument < 0) return false;
    const name = encodeName(nameText);
    let size = sizeArgument;
    if (size === 0) size = data.length;
    if (!size) throw new StorageException("Can't create zero length file");
    let file = this.find(name);
    if (
      (!file && offset === 0) ||
      (file && offset === 0 && (flags !== file.header.flags || size !== file.header.size || !this.isErased(file.address, size)))
    ) {
      if (file && offset === 0 && size === file.header.size && flags === file.header.flags && data.length === size && this.isEqual(file.address, data)) {
        return true;
      }
      if (file) this.eraseAt(file);
      file = this.create(name, size, flags);
    }
    if (!file) throw new StorageException('Unable to find or create file');
    if (offset + data.length > file.header.size) throw new StorageException('Too much data for file size');
    const address = file.address + offset;
    if (!this.isErased(address, data.length)) throw new StorageException('File already written with different data');
    this.writeAligned(address, data);
    return true;
  }

  /** jshFlashWriteAligned: unaligned head and tail go out as whole aligned words merged with what flash holds. */
  writeAligned(address: number, data: Uint8Array): void {
    const alignment = this.alignment;
    let position = 0;
    let length = data.length;
    let alignOffset = address % alignment;
    if (alignOffset) {
      const word = this.flash.read(address - alignOffset, alignment);
      const remainder = Math.min(alignment - alignOffset, length);
      word.set(data.subarray(0, remainder), alignOffset);
      this.flash.write(address - alignOffset, word);
      position += remainder;
      address += remainder;
      if (remainder >= length) return;
      length -= remainder;
    }
    alignOffset = length % alignment;
    length -= alignOffset;
    if (length) this.flash.write(address, data.subarray(position, position + length));
    address += length;
    position += length;
    if (alignOffset) {
      const word = this.flash.read(address, alignment);
      word.set(data.subarray(position, position + alignOffset), 0);
      this.flash.write(address, word);
    }
  }

  private isEqual(address: number, data: Uint8Array): boolean {
    const bytes = this.flash.bytes;
    for (let index = 0; index < data.length; index++) if (bytes[address + index] !== data[index]) return false;
    return true;
  }

  /** jsfListFiles: names of real files; StorageFiles appear once as "name\x01" unless filtered by `sf`. */
  list(match: ((name: string) => boolean) | null, containing: number, notContaining: number): string[] {
    const names: string[] = [];
    for (const file of this.files(true)) {
      const header = file.header;
      if (header.firstChars === 0) continue;
      const flags = header.flags;
      if (!(flags === FileFlag.None || flags === FileFlag.StorageFile || flags === FileFlag.Compressed)) continue;
      if (notContaining & flags) continue;
      if (containing && !(containing & flags)) continue;
      let name = decodeName(header.name);
      if (flags & FileFlag.StorageFile) {
        if (name.charCodeAt(name.length - 1) !== 1) continue;
        if (containing & FileFlag.StorageFile) name = name.slice(0, -1);
      }
      if (!match || match(name)) names.push(name);
    }
    return names;
  }

  /**
   * jsfIsStorageValid(JSFSTT_NORMAL), the check Espruino runs at every hardware boot before it erases the whole
   * area with "Storage is corrupt." A chain that ends in a slot that is neither a valid header nor all 0xFF is corrupt.
   */
  isValid(): boolean {
    let address: number | null = 0;
    let oldAddress = 0;
    const current = this.header(0);
    let header = current.header;
    if (current.valid) {
      for (;;) {
        const step = this.next(address!, header, true);
        address = step.address;
        header = step.header;
        if (!step.valid) break;
        oldAddress = address!;
      }
      if (address === null) {
        const nextAddress = this.align(oldAddress + header.size + headerBytes);
        if (nextAddress <= this.end && nextAddress + headerBytes > this.end) return true;
      }
    }
    const allFF = header.raw === 0xffffffff && header.name.every((byte) => byte === 0xff);
    if (allFF && address === 0) return this.isErased(0, this.end);
    return allFF;
  }

  /** jsfBankCompact + jsfCompactInternal: slide live files down over trash through a page-sized circular buffer. */
  compact(): boolean {
    const stats = this.stats(true);
    if (!stats.trashBytes || stats.firstPageWithErasedFiles === null) return false;
    const swapSize = Math.min(stats.fileBytes, this.flash.pageSize + headerBytes);
    return compactFrom(this, stats.firstPageWithErasedFiles, swapSize);
  }
}
