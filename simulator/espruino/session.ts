/**
 * One boot of the virtual Espruino interpreter: a sandbox whose globals are the board's API, and Espruino's
 * event loop on the virtual clock (timers, watches, serial data, console input). A reset throws the session
 * away, as a real reset loses RAM; hardware (flash, pins, wires) belongs to the board and survives.
 */
import type { BoardDefinition } from '../../hal/board';
import type { VirtualClock } from '../clock';
import { createEspruinoSandbox, type EspruinoSandbox } from '../sandbox';
import type { EnergyMeter, McuPower } from '../hardware/energy';
import type { NorFlash } from '../hardware/flash';
import { PowerCutSignal } from '../hardware/flash';
import type { Gpio } from '../hardware/gpio';
import type { I2cBus } from '../hardware/i2c-bus';
import type { McuModel } from '../hardware/mcu';
import type { StorageArea } from '../hardware/storage-area';
import type { VirtualUart } from '../hardware/uart';
import { findUnsupportedSyntax } from './syntax';
import { detokenise, isPretokenised } from '../../firmware/build/espruino-tokens';

/** Thrown through firmware code when the board stops (reboot, power cut, hang): nothing after it may run. */
export class BoardHalt extends Error {
  constructor(readonly reason: string) {
    super(`board halted: ${reason}`);
    this.name = 'BoardHalt';
  }
}

/** What a boot needs from the board (implemented by VirtualBoard). */
export interface BoardServices {
  readonly definition: BoardDefinition;
  readonly mcu: McuModel;
  readonly clock: VirtualClock;
  readonly gpio: Gpio;
  readonly flash: NorFlash;
  readonly storage: StorageArea;
  readonly power: McuPower;
  readonly energy: EnergyMeter;
  readonly options: { activeMillisecondsPerEvent: number; hangTimeoutMs: number };
  uart(port: string): VirtualUart | undefined;
  i2cBus(name: string): I2cBus | undefined;
  /** Console output as the interpreter prints it ("\n" becomes "\r\n" on the way out). */
  consoleWrite(text: string): void;
  /** getTime() in ms and setTime(). */
  rtcMilliseconds(): number;
  setRtcMilliseconds(milliseconds: number): void;
  watchdogEnable(timeoutMilliseconds: number, automatic: boolean): void;
  watchdogKick(): void;
  watchdogAutomatic(): boolean;
  /** E.reboot(): a software reset at the end of the current instant. */
  requestReboot(): void;
  /** reset() / load(): a soft reset of the interpreter (no hardware reset). */
  requestSoftReset(runBootCode: boolean): void;
  /** The firmware hung (a callback ran past hangTimeoutMs): only the watchdog can help now. */
  reportHang(): void;
  peek32(address: number): number;
  poke32(address: number, value: number): void;
  /** Bytes of boot code in Storage (for process.memory()'s estimate). */
  codeBytes(): number;
  /** require("crypto") for this board's build, or null when it has no CRYPTO library. */
  createCrypto(session: EspruinoSession): unknown;
}

const hostTypedArraySet = Uint8Array.prototype.set;

/** Constructors and helpers of the sandbox's realm: values handed to firmware must come from its realm. */
export class Realm {
  private readonly global: Record<string, unknown>;

  constructor(sandbox: EspruinoSandbox) {
    this.global = sandbox.run('this', 'realm.js') as Record<string, unknown>;
  }

  get<T>(name: string): T {
    return this.global[name] as T;
  }

  private wrapper: ((fn: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown) | null = null;

  /** A function of this realm that calls `fn` (so promise jobs and callbacks stay in the sandbox). */
  wrapFunction(fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    this.wrapper ??= (this.global.eval as (code: string) => typeof this.wrapper)(
      '(function (fn) { return function () { return fn.apply(this, arguments); }; })',
    );
    return this.wrapper!(fn);
  }

  bytes(data: ArrayLike<number>): Uint8Array {
    const Constructor = this.global.Uint8Array as Uint8ArrayConstructor;
    const result = new Constructor(data.length);
    // The host realm's set works on the sandbox's typed arrays (a block copy when `data` is a typed array).
    hostTypedArraySet.call(result, data);
    return result;
  }

  arrayBuffer(data: ArrayLike<number>): ArrayBuffer {
    return this.bytes(data).buffer as ArrayBuffer;
  }

  array<T>(items: readonly T[]): T[] {
    const result = new (this.global.Array as ArrayConstructor)() as T[];
    for (const item of items) result.push(item);
    return result;
  }

  object(properties: Record<string, unknown>): Record<string, unknown> {
    const result = new (this.global.Object as ObjectConstructor)() as Record<string, unknown>;
    for (const key in properties) if (Object.prototype.hasOwnProperty.call(properties, key)) result[key] = properties[key];
    return result;
  }

  error(message: string, type: 'Error' | 'TypeError' | 'RangeError' | 'InternalError' = 'Error'): Error {
    const Constructor = (this.global[type === 'InternalError' ? 'Error' : type] ?? this.global.Error) as ErrorConstructor;
    const error = new Constructor(message);
    if (type === 'InternalError') error.name = 'InternalError';
    return error;
  }

  parseJson(text: string): unknown {
    return (this.global.JSON as JSON).parse(text);
  }

  stringify(value: unknown): string | undefined {
    return (this.global.JSON as JSON).stringify(value);
  }
}

export class EspruinoSession {
  readonly sandbox: EspruinoSandbox;
  readonly realm: Realm;
  private isAlive = true;
  private readonly scheduled = new Set<number>();
  private readonly cleanups: Array<() => void> = [];
  /** E.getErrorFlags(): set by the runtime, cleared when read. */
  readonly errorFlags = new Set<string>();
  /** Listeners for E.on(...) events, by event name. */
  readonly eEvents = new Map<string, unknown[]>();
  /** Hooks run after every event the loop dispatches (console prompt repaint, watchdog auto-kick). */
  afterEvent: Array<() => void> = [];
  deepSleepRequested = false;

  constructor(
    readonly board: BoardServices,
    readonly generation: number,
  ) {
    this.sandbox = createEspruinoSandbox({}, { microtaskMode: 'afterEvaluate' });
    this.realm = new Realm(this.sandbox);
  }

  get alive(): boolean {
    return this.isAlive;
  }

  /** Throw BoardHalt when this boot is over (every API entry point calls it). */
  assertAlive(): void {
    if (!this.isAlive) throw new BoardHalt('this boot is over');
  }

  /**
   * Put the board's API into the sandbox's global scope. Functions are wrapped in functions of the sandbox's
   * realm: V8 queues a promise reaction on the handler's realm, so `promise.then(print)` with a host function
   * would otherwise run outside the board's event loop.
   */
  installGlobals(globals: Record<string, unknown>): void {
    const target = this.realm.get<Record<string, unknown>>('globalThis');
    for (const [name, value] of Object.entries(globals)) {
      if (typeof value === 'function') target[name] = this.realm.wrapFunction(value as (...args: unknown[]) => unknown);
      else if (value && Object.getPrototypeOf(value) === this.realm.get<ObjectConstructor>('Object').prototype) {
        const object = value as Record<string, unknown>;
        for (const [key, member] of Object.entries(object)) {
          if (typeof member === 'function') object[key] = this.realm.wrapFunction(member as (...args: unknown[]) => unknown);
        }
        target[name] = object;
      } else target[name] = value;
    }
  }

  /** Schedule work on the virtual clock that dies with this boot. */
  schedule(delay: number, action: () => void): number {
    const id = this.board.clock.schedule(delay, () => {
      this.scheduled.delete(id);
      if (this.isAlive) action();
    });
    this.scheduled.add(id);
    return id;
  }

  cancel(id: number): void {
    if (this.scheduled.delete(id)) this.board.clock.cancel(id);
  }

  /** Run when the boot ends (detach from hardware). */
  onEnd(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Dispatch a callback from the event loop: Espruino semantics for errors, then the after-event hooks. */
  invoke(fn: unknown, thisArg: unknown, args: unknown[]): void {
    if (!this.isAlive) return;
    this.board.power.noteActivity(this.board.options.activeMillisecondsPerEvent);
    if (typeof fn === 'string') {
      this.evaluate(fn, 'timeout');
    } else if (typeof fn === 'function') {
      try {
        this.sandbox.invoke(fn, thisArg, args, this.board.options.hangTimeoutMs || undefined);
      } catch (error) {
        this.handleThrown(error);
      }
    }
    this.finishEvent();
  }

  /** Evaluate script text (boot code, console input). Returns { value } or { error } (already reported). */
  evaluate(code: string, filename: string): { value?: unknown; failed: boolean } {
    if (!this.isAlive) return { failed: true };
    // Espruino's lexer reads pretokenised source (token bytes from 128 up) wherever it reads source.
    if (isPretokenised(code)) {
      try {
        code = detokeniseCached(code);
      } catch (error) {
        this.print(`Uncaught SyntaxError: ${(error as Error).message}\n    at ${filename}\n`);
        return { failed: true };
      }
    }
    const unsupported = findUnsupportedSyntax(code);
    if (unsupported) {
      this.print(
        `Uncaught SyntaxError: ${unsupported.construct} is not supported by Espruino ${'2v29'}\n    at ${filename}:${unsupported.line}:${unsupported.column}\n`,
      );
      return { failed: true };
    }
    let value: unknown;
    const ok = this.guard(() => {
      value = this.sandbox.run(code, filename, this.board.options.hangTimeoutMs || undefined);
    });
    return ok ? { value, failed: false } : { failed: true };
  }

  /** Call after a dispatched event (and after evaluate, when it was an event of its own). */
  finishEvent(): void {
    if (!this.isAlive) return;
    for (const hook of this.afterEvent) hook();
  }

  print(text: string): void {
    if (this.isAlive) this.board.consoleWrite(text);
  }

  /** Report an uncaught exception like Espruino ("Uncaught Error: message"). */
  reportUncaught(error: unknown): void {
    this.print('Uncaught ' + describeError(error) + '\n');
  }

  /** End this boot: nothing of it runs again. */
  kill(): void {
    if (!this.isAlive) return;
    this.isAlive = false;
    for (const id of this.scheduled) this.board.clock.cancel(id);
    this.scheduled.clear();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.afterEvent = [];
  }

  private guard(run: () => void): boolean {
    try {
      run();
      return true;
    } catch (error) {
      this.handleThrown(error);
      return false;
    }
  }

  /** What escaped a callback or script: a halt ends quietly, a timeout is a hang, anything else is reported. */
  private handleThrown(error: unknown): void {
    if (error instanceof BoardHalt || error instanceof PowerCutSignal) return;
    if (!this.isAlive) return;
    if ((error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      this.board.reportHang();
      return;
    }
    this.reportUncaught(error);
  }
}

/** Every boot of every terminal of a fleet reads the same image: detokenise each distinct one once. */
const detokenised = new Map<string, string>();

function detokeniseCached(code: string): string {
  let text = detokenised.get(code);
  if (text === undefined) {
    text = detokenise(code);
    if (detokenised.size >= 8) detokenised.clear();
    detokenised.set(code, text);
  }
  return text;
}

export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const name = (error as { name?: unknown }).name;
    return `${typeof name === 'string' ? name : 'Error'}: ${String((error as { message: unknown }).message)}`;
  }
  if (typeof error === 'string') return JSON.stringify(error);
  return String(error);
}
