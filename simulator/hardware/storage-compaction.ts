/**
 * Storage compaction (jsflash.c jsfCompactInternal/jsfCompactWriteBuffer), step for step: live files slide down
 * over trash through a circular buffer of at most a page plus a header; a page is erased just before it is
 * rewritten, so a power cut during compaction leaves what it would leave on a board.
 */
import { FileFlag, headerBytes, type StorageArea } from './storage-area';

export function compactFrom(area: StorageArea, startAddress: number, swapSize: number): boolean {
  area.onConsole?.('Compacting... ');
  let lastProgress = 0;
  const buffer = new Uint8Array(Math.max(swapSize, 1));
  const state = { writeAddress: startAddress, head: 0, tail: 0, used: 0 };
  const flush = (readAddress: number): void => {
    let nextFlashPage = area.nextPage(state.writeAddress) ?? area.end;
    while (state.used) {
      let length = state.used;
      if (length + state.tail > swapSize) length = swapSize - state.tail;
      if (length + state.writeAddress > nextFlashPage) length = nextFlashPage - state.writeAddress;
      if (readAddress < nextFlashPage) return;
      const page = area.flash.pageOf(state.writeAddress);
      if (page && page.start === state.writeAddress) area.flash.erasePage(state.writeAddress);
      area.flash.write(state.writeAddress, buffer.slice(state.tail, state.tail + length));
      state.writeAddress += length;
      nextFlashPage = area.nextPage(state.writeAddress) ?? area.end;
      state.tail = (state.tail + length) % swapSize;
      state.used -= length;
    }
  };
  let address: number | null = startAddress;
  let current = area.header(startAddress);
  let header = current.header;
  if (current.valid) {
    for (;;) {
      const isReal = header.firstChars !== 0 && (header.flags === 0 || header.flags === FileFlag.StorageFile || header.flags === FileFlag.Compressed);
      if (isReal) {
        const headerData = area.flash.read(address!, headerBytes);
        for (const byte of headerData) {
          buffer[state.head] = byte;
          state.head = (state.head + 1) % swapSize;
        }
        state.used += headerBytes;
        let alignedSize = area.align(header.size);
        let alignedPointer = address! + headerBytes;
        flush(alignedPointer);
        while (alignedSize) {
          let length = swapSize - state.used;
          if (length > swapSize - state.head) length = swapSize - state.head;
          if (state.tail > state.head && length > state.tail - state.head) length = state.tail - state.head;
          if (length === 0) return false;
          if (length > alignedSize) length = alignedSize;
          buffer.set(area.flash.read(alignedPointer, length), state.head);
          alignedSize -= length;
          alignedPointer += length;
          state.used += length;
          state.head = (state.head + length) % swapSize;
          flush(alignedPointer);
        }
        const progress = (address! - startAddress) >> 14;
        if (progress !== lastProgress) {
          area.onConsole?.('\x08' + '/-\\|'[progress & 3]);
          lastProgress = progress;
        }
      }
      const step = area.next(address!, header, true);
      address = step.address;
      header = step.header;
      if (!step.valid) break;
      current = { header, valid: true };
    }
  }
  flush(area.end);
  let writeAddress: number | null = state.writeAddress;
  if (writeAddress !== startAddress) writeAddress = area.nextPage(writeAddress - 1);
  if (writeAddress !== null) {
    const last = address ?? area.end;
    area.flash.eraseRange(writeAddress, last - writeAddress);
  }
  area.onConsole?.('\n');
  return true;
}
