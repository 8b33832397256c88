/**
 * Storage over require("Storage"). Whole files map to Storage.write/readArrayBuffer; append-only files map to
 * StorageFile (chunks "name\x01", "name\x02"... whose end of data is the first 0xFF byte).
 */
import { HalError, type HalErrorCode, type Storage } from '../interfaces';
import type { EspruinoApi, EspruinoStorage } from './api';

/** Espruino file names are at most 28 bytes (JsfFileName); StorageFile uses the last one for the chunk number. */
const maximumNameLength = 28;
const maximumAppendNameLength = 27;

function messageOf(caught: unknown): string {
  return caught && (caught as { message?: string }).message ? String((caught as { message: string }).message) : String(caught);
}

export class EspruinoStorageHal implements Storage {
  private readonly storage: EspruinoStorage;

  constructor(api: EspruinoApi) {
    this.storage = api.require('Storage');
  }

  read(name: string): Uint8Array | null {
    this.checkName(name, maximumNameLength);
    const buffer = this.storage.readArrayBuffer(name);
    return buffer === undefined ? null : new Uint8Array(buffer);
  }

  write(name: string, data: Uint8Array | string, offset?: number, size?: number): void {
    this.checkName(name, maximumNameLength);
    const device = 'Storage:' + name;
    const isString = typeof data === 'string';
    if (!isString && (typeof data !== 'object' || data === null || typeof (data as Uint8Array).subarray !== 'function')) {
      throw new HalError('invalid-argument', device, 'data must be a Uint8Array or a string');
    }
    if (offset !== undefined && (typeof offset !== 'number' || offset !== (offset | 0) || offset < 0)) {
      throw new HalError('invalid-argument', device, 'offset must be a non-negative integer');
    }
    if (size !== undefined && (typeof size !== 'number' || size !== (size | 0) || size < 1)) {
      throw new HalError('invalid-argument', device, 'size must be a positive integer');
    }
    if (data.length === 0 && !size) throw new HalError('invalid-argument', device, 'Espruino cannot create an empty file');
    if (size !== undefined && (offset || 0) + data.length > size) {
      throw new HalError('invalid-argument', device, 'offset + data length ' + ((offset || 0) + data.length) + ' is beyond the file size ' + size);
    }
    let ok: boolean;
    try {
      ok = this.storage.write(name, data, offset || 0, size || 0);
    } catch (caught) {
      const message = messageOf(caught);
      let code: HalErrorCode = 'io';
      if (/Unable to find or create/.test(message)) code = offset ? 'not-found' : 'no-space';
      else if (/Too much data/.test(message)) code = 'invalid-argument';
      throw new HalError(code, device, message);
    }
    if (!ok) throw new HalError('io', device, 'Storage.write returned false');
  }

  erase(name: string): void {
    this.checkName(name, maximumNameLength);
    this.storage.erase(name);
  }

  list(prefix?: string): string[] {
    const names = this.storage.list(undefined, { sf: false });
    const result: string[] = [];
    for (let index = 0; index < names.length; index++) {
      const name = names[index] as string;
      if (!prefix || name.substr(0, prefix.length) === prefix) result.push(name);
    }
    return result.sort();
  }

  free(): number {
    return this.storage.getFree();
  }

  append(name: string, data: string): void {
    this.checkName(name, maximumAppendNameLength);
    const device = 'Storage:' + name;
    if (typeof data !== 'string') throw new HalError('invalid-argument', device, 'append takes a latin-1 string');
    if (data.indexOf('\xff') >= 0) throw new HalError('invalid-argument', device, 'append-only files cannot hold the byte 0xFF (it marks the end of data)');
    if (data.length === 0) return;
    try {
      this.storage.open(name, 'a').write(data);
    } catch (caught) {
      const message = messageOf(caught);
      throw new HalError(/Unable to find or create/.test(message) ? 'no-space' : 'io', device, message);
    }
  }

  readAppended(name: string): string | null {
    this.checkName(name, maximumAppendNameLength);
    const file = this.storage.open(name, 'r');
    let text: string | null = null;
    for (;;) {
      const part = file.read(1024);
      if (part === undefined) break;
      text = text === null ? part : text + part;
    }
    return text;
  }

  eraseAppended(name: string): void {
    this.checkName(name, maximumAppendNameLength);
    this.storage.open(name, 'r').erase();
  }

  private checkName(name: string, maximum: number): void {
    if (typeof name !== 'string' || name.length === 0 || name.length > maximum || name.indexOf('\0') >= 0) {
      throw new HalError('invalid-argument', 'Storage', 'file names are 1..' + maximum + ' characters without NUL, got ' + JSON.stringify(name));
    }
  }
}
