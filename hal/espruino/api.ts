/**
 * The part of the Espruino global scope that hal/espruino uses. On a board it is the real global scope
 * (`createBoardIo(global, board)`); in the simulator the virtual board implements the same names.
 * Names, argument orders and return values follow the Espruino 2v29 reference (espruino.com/Reference and
 * src/jswrap_*.c); pins are passed by name ("D6", "A2"), which Espruino accepts wherever it takes a Pin.
 *
 * Types only: nothing here reaches the bundle.
 */

/** Serial1.setup(baud, options). Parity 'o'/'e' or 'odd'/'even'; `path` exists on the Linux build only. */
export interface EspruinoSerialSetupOptions {
  rx?: string;
  tx?: string;
  cts?: string;
  path?: string;
  bytesize?: number;
  parity?: 'none' | 'o' | 'e' | 'odd' | 'even' | null;
  stopbits?: number;
  flow?: 'none' | 'xon' | null;
  errors?: boolean;
}

export interface EspruinoSerialPort {
  setup(baudRate: number, options?: EspruinoSerialSetupOptions): void;
  /** Strings are sent one char per byte; arrays and typed arrays as bytes. */
  write(data: string | Uint8Array | number[] | number): void;
  /** 'data' delivers whatever arrived since the last idle loop, as a binary string (one char per byte). */
  on(event: 'data', handler: (data: string) => void): void;
  removeAllListeners(event?: string): void;
}

export interface EspruinoI2cAddress {
  address: number;
  /** false: end the transfer with a repeated start instead of a stop (register reads). */
  stop: boolean;
}

export interface EspruinoI2cBus {
  setup(options: { scl: string; sda: string; bitrate?: number }): void;
  /** Throws when the device does not acknowledge ("I2C Write Error 33281" on nRF52, "I2C device not responding" on STM32). */
  writeTo(address: number | EspruinoI2cAddress, data: Uint8Array | number[] | string | number): void;
  readFrom(address: number | EspruinoI2cAddress, quantity: number): Uint8Array;
}

export interface EspruinoStorageFile {
  read(length: number): string | undefined;
  readLine(): string | undefined;
  write(data: string): void;
  erase(): void;
  getLength(): number;
}

/** require("Storage"): see jswrap_storage.c. */
export interface EspruinoStorage {
  read(name: string, offset?: number, length?: number): string | undefined;
  readArrayBuffer(name: string): ArrayBuffer | undefined;
  readJSON(name: string, noExceptions?: boolean): unknown;
  /** Throws "Unable to find or create file", "Too much data for file size" or "File already written with different data". */
  write(name: string, data: string | Uint8Array | number[], offset?: number, size?: number): boolean;
  erase(name: string): void;
  eraseAll(): void;
  /** `filter.sf === false` leaves StorageFile chunks out; `true` lists only StorageFiles (without the chunk byte). */
  list(pattern?: RegExp, filter?: { sf?: boolean }): string[];
  getFree(): number;
  getStats(): { totalBytes: number; freeBytes: number; fileBytes: number; fileCount: number; trashBytes: number; trashCount: number };
  compact(): void;
  open(name: string, mode: 'r' | 'w' | 'a'): EspruinoStorageFile;
}

export interface EspruinoE {
  /** `timeout` in seconds; `isAuto` false: only E.kickWatchdog() resets the countdown. */
  enableWatchdog(timeoutSeconds: number, isAuto?: boolean): void;
  kickWatchdog(): void;
  reboot(): void;
  on(event: 'init', handler: () => void): void;
  getErrorFlags(): string[];
  CRC32(data: string | Uint8Array | number[]): number;
  toUint8Array(...data: Array<string | number | number[] | Uint8Array>): Uint8Array;
}

export interface EspruinoWatchEvent {
  state: boolean;
  /** getTime() of the edge, seconds. */
  time: number;
  /** getTime() of the previous edge of this pin, seconds (undefined before the first). */
  lastTime: number | undefined;
}

export interface EspruinoWatchOptions {
  repeat?: boolean;
  edge?: 'rising' | 'falling' | 'both';
  /** ms; edges are reported once the pin has been stable this long (time = the last edge). */
  debounce?: number;
}

export type EspruinoPinMode = 'input' | 'input_pullup' | 'input_pulldown' | 'output' | 'opendrain' | 'analog' | 'auto';

export interface EspruinoApi {
  E: EspruinoE;
  require(name: 'Storage'): EspruinoStorage;
  require(name: string): unknown;
  digitalRead(pin: string): number;
  digitalWrite(pin: string, value: number | boolean): void;
  pinMode(pin: string, mode: EspruinoPinMode): void;
  setWatch(callback: (event: EspruinoWatchEvent) => void, pin: string, options: EspruinoWatchOptions): number;
  clearWatch(id: number): void;
  /** Fraction of the ADC reference, 0..1. */
  analogRead(pin: string): number;
  /** Seconds since 1970 as a float (settable with setTime: not monotonic). */
  getTime(): number;
  setTime(seconds: number): void;
  setTimeout(handler: () => void, milliseconds: number): number;
  clearTimeout(id: number): void;
  setInterval(handler: () => void, milliseconds: number): number;
  clearInterval(id: number): void;
  /** Absent on Espruino's Linux build (measured on 2v29: `Function "setDeepSleep" not found!`). */
  setDeepSleep?(enabled: boolean | number): void;
  /** Read/write a 32-bit word of the MCU's address space (used for the reset-reason register). */
  peek32(address: number): number;
  poke32(address: number, value: number): void;
  /** Serial1..Serial6, I2C1..I2C3 and the rest of the global scope, looked up by name. */
  [name: string]: unknown;
}
