/**
 * Bus-level hardware contracts, shaped after the ECMA-419 IO classes.
 *
 * Everything in firmware/ talks to hardware only through these interfaces. hal/espruino implements them
 * over the Espruino API (a real board or the simulator's virtual board); nothing here knows which.
 *
 * Rules every implementation keeps (the contract tests in test/hal check them):
 * - A callback is never invoked synchronously from the call that caused it: `transmit` never calls
 *   `onReceive` before it returns, `setWatch`-style edge callbacks arrive from the event loop.
 * - Times are milliseconds as plain numbers; `Clock.now()` is monotonic within one boot.
 * - Byte data is Uint8Array. Implementations may keep a reference to a passed array only until the
 *   call returns; callers may reuse their buffers afterwards.
 * - Options objects use full words (`address`, `baudRate`), never positional flags.
 * - Errors are instances of HalError (below) naming the device and the operation. It does not extend
 *   Error because on Espruino a subclass of Error is not `instanceof Error`; check `error.name`.
 *
 * This file must stay ES5-safe when compiled: it holds types and a few constant tables only.
 */

/** Called with the bytes that arrived; the array is only valid during the call. */
export type ReceiveHandler = (data: Uint8Array) => void;

export interface SerialOptions {
  baudRate: number;
  /** Data bits per character; 8 unless said otherwise. */
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
}

/**
 * A UART. Bytes go out in call order; bytes that arrive are delivered in order through the one
 * registered receive handler (a later `onReceive` replaces the earlier one; `null` removes it).
 */
export interface Serial {
  /** Queue bytes (or a latin-1 string, one char = one byte) for transmission. Returns at once. */
  transmit(data: Uint8Array | string): void;
  onReceive(handler: ReceiveHandler | null): void;
  /** Milliseconds one character takes on the line at the configured settings (start + data + parity + stop bits). */
  characterTime(): number;
  readonly options: SerialOptions;
  /**
   * Change line settings (a meter's 8E1 at 2400 baud); fields left out keep their value. Throws HalError
   * 'invalid-argument' for settings the UART cannot do. Optional so test doubles need not implement it.
   */
  configure?(options: Partial<SerialOptions>): void;
}

export interface Rs485Options extends SerialOptions {
  /** Delay between raising DE and the first start bit, ms. */
  preTransmitDelay?: number;
  /** Delay between the end of the last stop bit and dropping DE, ms. */
  postTransmitDelay?: number;
}

/**
 * A half-duplex RS485 port: a Serial whose driver (DE) is enabled only while a frame is on the wire.
 * `transmitFrame` raises DE, waits `preTransmitDelay`, sends, waits until the last bit is out plus
 * `postTransmitDelay`, drops DE and then calls `done`. Bytes received while DE is high are our own echo
 * and are discarded. Only one frame may be in flight: a second call before `done` throws HalError.
 */
export interface Rs485 {
  transmitFrame(frame: Uint8Array, done: () => void): void;
  onReceive(handler: ReceiveHandler | null): void;
  characterTime(): number;
  readonly options: Rs485Options;
  /** As Serial.configure, plus the DE delays; throws HalError 'busy' while a frame is in flight. */
  configure?(options: Partial<Rs485Options>): void;
}

export type I2cCallback = (error: HalError | null, data?: Uint8Array) => void;

/**
 * An I2C master. Addresses are 7-bit. A device that does not acknowledge its address makes the
 * operation fail with HalError code 'nack'. Operations are queued and run one at a time.
 */
export interface I2c {
  write(address: number, data: Uint8Array, done: (error: HalError | null) => void): void;
  read(address: number, length: number, done: I2cCallback): void;
  /** Write then read with a repeated start (register read). */
  writeRead(address: number, data: Uint8Array, length: number, done: I2cCallback): void;
}

export type Edge = 'rising' | 'falling' | 'both';

export interface DigitalInputOptions {
  pull?: 'up' | 'down' | 'none';
  /** Edge-callback debounce in ms; 0 disables it. Bounces shorter than this do not raise callbacks. */
  debounce?: number;
}

export interface DigitalInput {
  read(): boolean;
  /** Register an edge callback; returns a function that removes it. `time` is Clock time of the edge. */
  watch(edge: Edge, handler: (level: boolean, time: number) => void): () => void;
}

export interface DigitalOutput {
  write(level: boolean): void;
  /** The level last written. */
  read(): boolean;
}

export interface AnalogInput {
  /** Fraction of the reference voltage, 0..1. */
  read(): number;
}

/**
 * Named files in flash with Espruino Storage semantics: whole-file writes, reads of what was written,
 * and append-only files that never contain the byte 0xFF (the end of data is found by scanning for it).
 * A power cut can stop any write after any byte; after reboot, every byte written before the cut is there.
 * Names are Espruino file names: 1..28 characters (27 for append-only files).
 */
export interface Storage {
  /** Whole contents, or null when there is no such file. */
  read(name: string): Uint8Array | null;
  /** Create or replace a file. With `size` and `offset` write part of a pre-allocated file (Espruino's write(name, data, offset, size)). */
  write(name: string, data: Uint8Array | string, offset?: number, size?: number): void;
  erase(name: string): void;
  list(prefix?: string): string[];
  /** Bytes still free in the storage area. */
  free(): number;
  /**
   * Append a latin-1 string to an append-only file (Espruino StorageFile: chunks "name\x01", "name\x02"...),
   * creating it. The data must not contain "\xFF": throws HalError 'invalid-argument'. Names are at most 27 chars.
   */
  append(name: string, data: string): void;
  /** Everything appended so far (up to the first 0xFF), or null when there is no such file. */
  readAppended(name: string): string | null;
  eraseAppended(name: string): void;
}

export interface Clock {
  /** Milliseconds since boot, monotonic. */
  now(): number;
  /** Wall-clock time in ms since the Unix epoch, as best known (may be corrected by `setWallTime`). */
  wallTime(): number;
  setWallTime(epochMilliseconds: number): void;
  setTimeout(handler: () => void, milliseconds: number): number;
  clearTimeout(id: number): void;
  setInterval(handler: () => void, milliseconds: number): number;
  clearInterval(id: number): void;
}

/**
 * A hardware watchdog: once started it cannot be stopped; if `kick` is not called within `timeout` ms the board
 * resets. Parts limit the timeout (STM32 IWDG under Espruino: 26.2 s; nRF52: hours): beyond it `start` throws
 * HalError 'invalid-argument' and the watchdog runs at its longest timeout.
 */
export interface Watchdog {
  start(timeoutMilliseconds: number): void;
  kick(): void;
}

export type ResetReason = 'power-on' | 'watchdog' | 'software' | 'unknown';

export interface Power {
  /** Allow the MCU to enter deep sleep between events (timers and watched pins wake it). */
  allowDeepSleep(allowed: boolean): void;
  reboot(): void;
  resetReason(): ResetReason;
}

/**
 * Everything a board gives the firmware, built by hal/espruino from a boards.json entry.
 * The modem control outputs are logical: `write(true)` asserts the pin at its boards.json activeLevel and they
 * start released. `acPresent` is logical as well (true = mains present, whatever the sense pin's polarity).
 */
export interface BoardIo {
  boardId: string;
  clock: Clock;
  storage: Storage;
  watchdog: Watchdog;
  power: Power;
  modemSerial: Serial;
  modemPowerKey: DigitalOutput | null;
  modemReset: DigitalOutput | null;
  modemPsmWake: DigitalOutput | null;
  rs485: Rs485 | null;
  auxiliarySerial: Serial | null;
  i2c: I2c | null;
  digitalInputs: { [name: string]: DigitalInput };
  digitalOutputs: { [name: string]: DigitalOutput };
  /** Battery voltage in volts (ADC reading times the divider ratio and reference), or null without one. */
  batteryVoltage: (() => number) | null;
  /** True while mains power is present, or null when the board has no AC sense. */
  acPresent: DigitalInput | null;
}

export type HalErrorCode = 'nack' | 'busy' | 'timeout' | 'invalid-argument' | 'not-found' | 'no-space' | 'io';

/** Error raised by hal implementations; `device` says which (e.g. "I2C1@0x44", "Serial2", "Storage:journal0"). */
export class HalError {
  readonly name = 'HalError';
  constructor(
    readonly code: HalErrorCode,
    readonly device: string,
    readonly message: string,
  ) {}
  toString(): string {
    return 'HalError[' + this.code + '] ' + this.device + ': ' + this.message;
  }
}
