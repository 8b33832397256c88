/**
 * require("Storage") and StorageFile (jswrap_storage.c) over the board's StorageArea: strings are one byte
 * per char, read() gives a string or undefined, write() of a plain object stores its JSON, StorageFile appends
 * into 4096-32 byte chunks "name\x01".."name\xFF" and finds the end of data at the first 0xFF byte.
 */
import { FileFlag, StorageException, headerBytes, nameBytes, type StorageArea } from '../hardware/storage-area';
import { DataConversionError, bytesToLatin1, latin1ToBytes, toByteArray } from './data';
import { parseLiberalJson, toEspruinoFileJson } from './json';
import type { EspruinoSession } from './session';

export function storageFileChunkSize(area: StorageArea): number {
  // STORAGEFILE_CHUNKSIZE for boards with less than 1 MB of Storage: min(page size, 4096) minus the header.
  const pageSize = area.flash.pageSize;
  return (area.end < 1000000 ? Math.min(pageSize, 4096) : pageSize * 10) - headerBytes;
}

export function createStorageModule(session: EspruinoSession): Record<string, unknown> {
  const area = session.board.storage;
  const realm = session.realm;

  const rethrow = (run: () => unknown): unknown => {
    session.assertAlive();
    try {
      return run();
    } catch (error) {
      if (error instanceof StorageException || error instanceof DataConversionError) throw realm.error(error.message);
      throw error;
    }
  };

  const nameOf = (name: unknown): string => String(name);

  const module = {
    read(name: unknown, offset?: unknown, length?: unknown): string | undefined {
      return rethrow(() => {
        const bytes = area.read(nameOf(name), Number(offset) || 0, Number(length) || 0);
        return bytes === null ? undefined : bytesToLatin1(bytes);
      }) as string | undefined;
    },
    readJSON(name: unknown, noExceptions?: unknown): unknown {
      const text = module.read(name);
      if (text === undefined) return undefined;
      try {
        return parseLiberalJson(text, realm);
      } catch (error) {
        if (noExceptions) return undefined;
        throw realm.error((error as Error).message, 'Error');
      }
    },
    readArrayBuffer(name: unknown): ArrayBuffer | undefined {
      return rethrow(() => {
        const bytes = area.read(nameOf(name));
        return bytes === null ? undefined : realm.arrayBuffer(bytes);
      }) as ArrayBuffer | undefined;
    },
    write(name: unknown, data: unknown, offset?: unknown, size?: unknown): boolean {
      return rethrow(() => {
        let bytes: Uint8Array;
        let at = Number(offset) || 0;
        let total = Number(size) || 0;
        if (data !== null && typeof data === 'object' && !Array.isArray(data) && !ArrayBuffer.isView(data) && Object.prototype.toString.call(data) === '[object Object]') {
          bytes = latin1ToBytes(realm.stringify(data) ?? '');
          at = 0;
          total = 0;
        } else {
          bytes = toByteArray(data);
        }
        return area.write(nameOf(name), bytes, FileFlag.None, at, total);
      }) as boolean;
    },
    writeJSON(name: unknown, data: unknown): boolean {
      return rethrow(() => area.write(nameOf(name), latin1ToBytes(toEspruinoFileJson(data) ?? ''), FileFlag.None, 0, 0)) as boolean;
    },
    erase(name: unknown): void {
      rethrow(() => area.erase(nameOf(name)));
    },
    eraseAll(): void {
      rethrow(() => area.eraseAll());
    },
    list(pattern?: unknown, filter?: unknown): string[] {
      return rethrow(() => {
        let containing = 0;
        let notContaining = 0;
        if (filter !== null && typeof filter === 'object' && 'sf' in (filter as object)) {
          if ((filter as { sf: unknown }).sf) containing |= FileFlag.StorageFile;
          else notContaining |= FileFlag.StorageFile;
        }
        const match = pattern ? (name: string) => String.prototype.match.call(name, pattern as RegExp) !== null : null;
        return realm.array(area.list(match, containing, notContaining));
      }) as string[];
    },
    getFree(): number {
      return rethrow(() => area.stats(true).free) as number;
    },
    getStats(): Record<string, unknown> {
      return rethrow(() => {
        const stats = area.stats(true);
        return realm.object({
          totalBytes: stats.total,
          freeBytes: stats.free,
          fileBytes: stats.fileBytes,
          fileCount: stats.fileCount,
          trashBytes: stats.trashBytes,
          trashCount: stats.trashCount,
        });
      }) as Record<string, unknown>;
    },
    compact(): void {
      rethrow(() => area.compact());
    },
    open(name: unknown, mode: unknown): StorageFile {
      session.assertAlive();
      if (mode !== 'r' && mode !== 'w' && mode !== 'a') throw realm.error('Invalid mode ' + JSON.stringify(mode));
      return new StorageFile(session, nameOf(name).slice(0, nameBytes - 1), mode);
    },
  };
  return module;
}

/** A StorageFile: the fields name/chunk/offset/mode are public as on Espruino. */
export class StorageFile {
  chunk = 1;
  offset = 0;
  /** 'r' | 'w' | 'a', or 0 once writing failed or the file was erased. */
  mode: string | number;

  constructor(
    private readonly session: EspruinoSession,
    readonly name: string,
    mode: 'r' | 'w' | 'a',
  ) {
    this.mode = mode;
    const area = session.board.storage;
    let found = area.find(this.chunkName(1));
    if (mode === 'w' && found) {
      this.erase();
      this.mode = 'w';
      found = null;
    }
    if (mode === 'a' && found) {
      let size = found.header.size;
      let last = area.flash.readByte(found.address + size - 1);
      while (found && last !== 0xff && this.chunk < 255) {
        this.chunk++;
        found = area.find(this.chunkName(this.chunk));
        if (found) {
          size = found.header.size;
          last = area.flash.readByte(found.address + size - 1);
        }
      }
      if (found) {
        let offset = 0;
        while (offset < size && area.flash.readByte(found.address + offset) !== 0xff) offset++;
        this.offset = offset;
      }
    }
  }

  read(length: unknown): string | undefined {
    return this.readInternal(Math.max(0, Number(length) | 0), false);
  }

  readLine(): string | undefined {
    return this.readInternal(32, true);
  }

  getLength(): number {
    this.session.assertAlive();
    const area = this.session.board.storage;
    let length = 0;
    let chunk = 1;
    let found = area.find(this.chunkName(chunk));
    let last = found ? area.flash.readByte(found.address + found.header.size - 1) : 0xff;
    while (found && last !== 0xff && chunk < 255) {
      length += found.header.size;
      chunk++;
      found = area.find(this.chunkName(chunk));
      if (found) last = area.flash.readByte(found.address + found.header.size - 1);
    }
    if (found) {
      let offset = 0;
      while (offset < found.header.size && area.flash.readByte(found.address + offset) !== 0xff) offset++;
      length += offset;
    }
    return length;
  }

  write(data: unknown): void {
    this.session.assertAlive();
    const realm = this.session.realm;
    if (this.mode !== 'w' && this.mode !== 'a') throw realm.error("Can't write in this mode");
    const bytes = latin1ToBytes(String(data));
    if (bytes.length === 0) return;
    const area = this.session.board.storage;
    const chunkSize = storageFileChunkSize(area);
    try {
      const found = area.find(this.chunkName(this.chunk));
      if (!found) {
        if (area.write(this.chunkName(this.chunk), bytes, FileFlag.StorageFile, 0, chunkSize)) this.offset = bytes.length;
        return;
      }
      const remaining = found.header.size - this.offset;
      if (bytes.length < remaining) {
        area.writeAligned(found.address + this.offset, bytes);
        this.offset += bytes.length;
        return;
      }
      area.writeAligned(found.address + this.offset, bytes.subarray(0, remaining));
      this.offset += remaining;
      if (this.chunk === 255) throw new StorageException('File too big!');
      this.chunk++;
      const rest = bytes.subarray(remaining);
      if (area.write(this.chunkName(this.chunk), rest, FileFlag.StorageFile, 0, chunkSize)) this.offset = rest.length;
    } catch (error) {
      if (error instanceof StorageException) {
        this.mode = 0;
        throw realm.error(error.message);
      }
      throw error;
    }
  }

  erase(): void {
    this.session.assertAlive();
    const area = this.session.board.storage;
    for (let chunk = 1; chunk <= 255 && area.erase(this.chunkName(chunk)); chunk++);
    this.chunk = 1;
    this.offset = 0;
    this.mode = 0;
  }

  private chunkName(chunk: number): string {
    return this.name + String.fromCharCode(chunk);
  }

  private readInternal(length: number, line: boolean): string | undefined {
    this.session.assertAlive();
    if (this.mode !== 'r') throw this.session.realm.error("Can't read in this mode");
    const area = this.session.board.storage;
    let found = area.find(this.chunkName(this.chunk));
    if (!found) return undefined;
    let result: string | undefined;
    let wanted = length;
    while (wanted) {
      let remaining = found.header.size - this.offset;
      if (remaining <= 0) {
        this.offset = 0;
        if (this.chunk === 255) return result;
        this.chunk++;
        found = area.find(this.chunkName(this.chunk));
        if (!found) return result;
        remaining = found.header.size;
      }
      let take = Math.min(wanted, 32, remaining);
      let done = false;
      const bytes = area.flash.read(found.address + this.offset, take);
      for (let index = 0; index < take; index++) {
        if (bytes[index] === 0xff) {
          take = index;
          done = true;
          break;
        }
        if (line && bytes[index] === 0x0a) {
          take = index + 1;
          done = true;
          break;
        }
      }
      if (take === 0) break;
      result = (result ?? '') + bytesToLatin1(bytes.subarray(0, take));
      this.offset += take;
      if (done) break;
      wanted = line ? 32 : wanted - take;
    }
    return result;
  }
}
