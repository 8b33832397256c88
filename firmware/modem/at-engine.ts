/**
 * The AT engine: turns a modem UART into a queue of commands with typed results.
 *
 * - Line assembly over receive chunks of any size: CR, LF or CRLF end a line, empty lines are skipped,
 *   bytes outside printable ASCII are dropped in line mode (modems emit NULs and 0xFF around power-up).
 * - One command in flight; the rest wait in order. Each has its own timeout.
 * - Final results: OK, ERROR, +CME ERROR: n, +CMS ERROR: n, and per-command success/failure lines
 *   (SEND OK / SEND FAIL, or a result URC such as +QIOPEN: that ends a command after its OK).
 * - Intermediate responses are collected, all of them or only those with the expected prefix.
 * - URCs are dispatched by prefix at any time, also between the lines of another command's response.
 * - The '>' prompt (no line end follows it) releases the command's payload.
 * - Raw reads: after a line, a known number of bytes is taken verbatim (BG96 AT+QIRD data).
 * - With echo on, the command's own echo line is recognised and dropped.
 *
 * ES5-safe: no Map, no spread, callbacks and Promises only.
 */
import type { Clock, Serial } from '../../hal/interfaces';
import { isDigits, textToBytes } from './text';

/** No modem delivers a datagram larger than this (BC95-G 1358, BG96 1460 bytes); a longer raw read is line noise. */
export const maximumRawLength = 1536;

export type AtErrorKind = 'timeout' | 'error' | 'cme' | 'cms' | 'failure' | 'aborted' | 'invalid';

/** Why a command failed. `code` is the +CME/+CMS number when the modem gave one. */
export class AtError {
  readonly name = 'AtError';
  constructor(
    readonly kind: AtErrorKind,
    readonly command: string,
    readonly message: string,
    readonly code: number | null = null,
    readonly lines: string[] = [],
  ) {}
  toString(): string {
    return 'AtError[' + this.kind + (this.code !== null ? ' ' + this.code : '') + '] ' + this.command + ': ' + this.message;
  }
}

export function isAtError(value: unknown): value is AtError {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'AtError';
}

export interface AtResponse {
  command: string;
  /** Intermediate lines (and the success line, when the command ends on one other than OK). */
  lines: string[];
  /** The line that ended the command ('OK', 'SEND OK', '+QIOPEN: 0,0'...). */
  final: string;
  /** Bytes read verbatim after a line, for commands with a raw read. */
  raw: Uint8Array | null;
}

export interface AtCommandOptions {
  /** Milliseconds from the moment the command is written until its final result. Default 300. */
  timeout?: number;
  /** Collect only lines starting with this prefix (others go to URC handlers or are ignored). */
  expect?: string;
  /** A line starting with this ends the command successfully; OK before it is then only noted. */
  completeOn?: string;
  /** Lines starting with any of these end the command with kind 'failure'. */
  failOn?: string[];
  /** Bytes (or latin-1 text) to write when the '>' prompt appears. */
  payload?: Uint8Array | string;
  /** After a collected line, how many raw bytes follow it (return 0 for none). */
  rawLength?: (line: string) => number;
}

export type UrcHandler = (line: string, raw: Uint8Array | null) => void;

interface PendingCommand {
  text: string;
  options: AtCommandOptions;
  resolve: (response: AtResponse) => void;
  reject: (error: AtError) => void;
  lines: string[];
  raw: Uint8Array | null;
  timer: number;
  okSeen: boolean;
  started: boolean;
}

interface UrcRegistration {
  prefix: string;
  handler: UrcHandler;
  rawLength: ((line: string) => number) | null;
  once: boolean;
}

export interface AtEngineOptions {
  /** Line terminator written after each command. Default '\r'. */
  terminator?: string;
  defaultTimeout?: number;
  /** After a timeout, ms to wait before the next command, so a late answer is not taken for its answer. Default 200. */
  quietAfterTimeout?: number;
  /** Called with every complete line received, for logs and tests. */
  trace?: (direction: 'rx' | 'tx', text: string) => void;
}

export interface AtEngineStatistics {
  commands: number;
  timeouts: number;
  errors: number;
  urcs: number;
  unknownLines: number;
  droppedBytes: number;
}

const maximumLineLength = 4096;

export class AtEngine {
  private queue: PendingCommand[] = [];
  private current: PendingCommand | null = null;
  private urcs: UrcRegistration[] = [];
  private line = '';
  private skipLineFeed = false;
  private rawRemaining = 0;
  private rawBuffer: Uint8Array | null = null;
  private rawFilled = 0;
  private rawDone: ((raw: Uint8Array) => void) | null = null;
  private readonly terminator: string;
  private readonly defaultTimeout: number;
  private readonly quietAfterTimeout: number;
  private quietUntil = 0;
  private skipPromptSpace = false;
  private readonly trace: ((direction: 'rx' | 'tx', text: string) => void) | null;
  readonly statistics: AtEngineStatistics = { commands: 0, timeouts: 0, errors: 0, urcs: 0, unknownLines: 0, droppedBytes: 0 };
  /** Lines that were neither a response nor a registered URC. */
  onUnknownLine: ((line: string) => void) | null = null;

  constructor(
    private readonly serial: Serial,
    private readonly clock: Clock,
    options?: AtEngineOptions,
  ) {
    this.terminator = options && options.terminator !== undefined ? options.terminator : '\r';
    this.defaultTimeout = options && options.defaultTimeout !== undefined ? options.defaultTimeout : 300;
    this.quietAfterTimeout = options && options.quietAfterTimeout !== undefined ? options.quietAfterTimeout : 200;
    this.trace = options && options.trace ? options.trace : null;
    serial.onReceive((data) => this.receive(data));
  }

  /** Queue a command (without 'AT' prefix handling: pass the full text, e.g. 'AT+CSQ'). */
  send(command: string, options?: AtCommandOptions): Promise<AtResponse> {
    return new Promise<AtResponse>((resolve, reject) => {
      if (command.length === 0 || command.indexOf('\r') >= 0 || command.indexOf('\n') >= 0) {
        reject(new AtError('invalid', command, 'a command is one line of text'));
        return;
      }
      this.queue.push({
        text: command,
        options: options || {},
        resolve,
        reject,
        lines: [],
        raw: null,
        timer: -1,
        okSeen: false,
        started: false,
      });
      this.pump();
    });
  }

  /** Register a URC handler for lines starting with `prefix`. Returns a function that removes it. */
  onUrc(prefix: string, handler: UrcHandler, rawLength?: (line: string) => number): () => void {
    const registration: UrcRegistration = { prefix, handler, rawLength: rawLength || null, once: false };
    this.urcs.push(registration);
    return () => this.removeUrc(registration);
  }

  /** Resolve with the next line starting with `prefix` (rejects with kind 'timeout' after `timeout` ms). */
  waitForUrc(prefix: string, timeout: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let timer = -1;
      const registration: UrcRegistration = {
        prefix,
        rawLength: null,
        once: true,
        handler: (line) => {
          this.clock.clearTimeout(timer);
          resolve(line);
        },
      };
      timer = this.clock.setTimeout(() => {
        this.removeUrc(registration);
        reject(new AtError('timeout', prefix, 'no ' + prefix + ' within ' + timeout + ' ms'));
      }, timeout);
      this.urcs.push(registration);
    });
  }

  /** Fail the command in flight and every queued one (a power cycle makes their answers meaningless). */
  abortAll(reason: string): void {
    const pending = this.current ? [this.current].concat(this.queue) : this.queue.slice();
    this.current = null;
    this.queue = [];
    this.line = '';
    this.rawRemaining = 0;
    this.rawDone = null;
    for (let index = 0; index < pending.length; index++) {
      const command = pending[index]!;
      if (command.timer >= 0) this.clock.clearTimeout(command.timer);
      command.reject(new AtError('aborted', command.text, reason));
    }
  }

  /** True while a command is in flight or queued. */
  busy(): boolean {
    return this.current !== null || this.queue.length > 0;
  }

  private removeUrc(registration: UrcRegistration): void {
    const index = this.urcs.indexOf(registration);
    if (index >= 0) this.urcs.splice(index, 1);
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    const command = this.queue.shift()!;
    this.current = command;
    command.started = true;
    this.statistics.commands++;
    const timeout = command.options.timeout !== undefined ? command.options.timeout : this.defaultTimeout;
    command.timer = this.clock.setTimeout(() => {
      if (this.current !== command) return;
      this.statistics.timeouts++;
      // A late answer to this command must not be taken for the next one's: stay quiet for a moment, and
      // drop a raw read the module may never finish.
      this.quietUntil = this.clock.now() + this.quietAfterTimeout;
      this.rawRemaining = 0;
      this.rawDone = null;
      this.finish(command, new AtError('timeout', command.text, 'no final result within ' + timeout + ' ms', null, command.lines));
    }, timeout);
    if (this.trace) this.trace('tx', command.text);
    this.serial.transmit(command.text + this.terminator);
  }

  private finish(command: PendingCommand, outcome: AtError | string): void {
    if (this.current !== command) return;
    this.current = null;
    this.clock.clearTimeout(command.timer);
    if (typeof outcome === 'string') {
      command.resolve({ command: command.text, lines: command.lines, final: outcome, raw: command.raw });
    } else {
      if (outcome.kind !== 'timeout') this.statistics.errors++;
      command.reject(outcome);
    }
    // The next command goes out from a fresh timer tick, never from inside the receive handler's loop.
    this.clock.setTimeout(() => this.pump(), Math.max(0, this.quietUntil - this.clock.now()));
  }

  private receive(data: Uint8Array): void {
    for (let index = 0; index < data.length; index++) {
      const byte = data[index]!;
      if (this.rawRemaining > 0) {
        if (this.skipLineFeed && byte === 10 && this.rawFilled === 0) {
          this.skipLineFeed = false;
          continue;
        }
        this.skipLineFeed = false;
        this.rawBuffer![this.rawFilled++] = byte;
        this.rawRemaining--;
        if (this.rawRemaining === 0) {
          const done = this.rawDone!;
          const raw = this.rawBuffer!;
          this.rawDone = null;
          this.rawBuffer = null;
          done(raw);
        }
        continue;
      }
      if (byte === 13 || byte === 10) {
        if (byte === 10 && this.skipLineFeed) {
          this.skipLineFeed = false;
          continue;
        }
        this.skipLineFeed = byte === 13;
        const line = this.line;
        this.line = '';
        if (line.length > 0) this.handleLine(line);
        continue;
      }
      this.skipLineFeed = false;
      if (this.skipPromptSpace) {
        this.skipPromptSpace = false;
        if (byte === 32 && this.line.length === 0) continue; // "> " prompt: the space is part of it
      }
      if (byte < 32 || byte > 126) {
        this.statistics.droppedBytes++;
        continue;
      }
      if (this.line.length >= maximumLineLength) {
        this.statistics.droppedBytes += this.line.length;
        this.line = '';
      }
      this.line += String.fromCharCode(byte);
      if (byte === 62 && this.line === '>' && this.current && this.current.options.payload !== undefined) {
        this.line = '';
        this.skipPromptSpace = true;
        this.sendPayload(this.current);
      }
    }
  }

  private sendPayload(command: PendingCommand): void {
    const payload = command.options.payload!;
    if (this.trace) this.trace('tx', typeof payload === 'string' ? payload : '<' + payload.length + ' bytes>');
    this.serial.transmit(typeof payload === 'string' ? textToBytes(payload) : payload);
  }

  /** A line announcing more raw bytes than any datagram can hold is corrupt: never allocate for it. */
  private rejectRawLength(line: string): void {
    this.statistics.unknownLines++;
    if (this.onUnknownLine) this.onUnknownLine(line);
  }

  private startRaw(length: number, done: (raw: Uint8Array) => void): void {
    this.rawRemaining = length;
    this.rawBuffer = new Uint8Array(length);
    this.rawFilled = 0;
    this.rawDone = done;
  }

  private handleLine(line: string): void {
    if (this.trace) this.trace('rx', line);
    const command = this.current;
    if (command) {
      if (line === command.text) return; // echo
      if (this.handleFinal(command, line)) return;
      const expect = command.options.expect;
      if (expect !== undefined && line.indexOf(expect) === 0) {
        this.collect(command, line);
        return;
      }
    }
    for (let index = 0; index < this.urcs.length; index++) {
      const registration = this.urcs[index]!;
      if (line.indexOf(registration.prefix) !== 0) continue;
      this.statistics.urcs++;
      if (registration.once) this.urcs.splice(index, 1);
      const rawLength = registration.rawLength ? registration.rawLength(line) : 0;
      if (rawLength > maximumRawLength) {
        this.rejectRawLength(line);
        return;
      }
      if (rawLength > 0) this.startRaw(rawLength, (raw) => registration.handler(line, raw));
      else registration.handler(line, null);
      return;
    }
    if (command && command.options.expect === undefined) {
      this.collect(command, line);
      return;
    }
    this.statistics.unknownLines++;
    if (this.onUnknownLine) this.onUnknownLine(line);
  }

  private collect(command: PendingCommand, line: string): void {
    command.lines.push(line);
    const rawLength = command.options.rawLength ? command.options.rawLength(line) : 0;
    if (rawLength > maximumRawLength) {
      command.lines.pop();
      this.rejectRawLength(line);
    } else if (rawLength > 0) {
      this.startRaw(rawLength, (raw) => {
        command.raw = raw;
      });
    }
  }

  /** Returns true when the line was a final result (or an OK noted before a later success line). */
  private handleFinal(command: PendingCommand, line: string): boolean {
    const options = command.options;
    if (line === 'OK') {
      if (options.completeOn !== undefined) {
        command.okSeen = true;
        return true;
      }
      this.finish(command, 'OK');
      return true;
    }
    if (line === 'ERROR') {
      this.finish(command, new AtError('error', command.text, 'ERROR', null, command.lines));
      return true;
    }
    if (line.indexOf('+CME ERROR:') === 0 || line.indexOf('+CMS ERROR:') === 0) {
      const detail = line.substring(11).trim();
      const code = isDigits(detail) ? parseInt(detail, 10) : null;
      const kind: AtErrorKind = line.charAt(3) === 'E' ? 'cme' : 'cms';
      this.finish(command, new AtError(kind, command.text, line, code, command.lines));
      return true;
    }
    if (options.completeOn !== undefined && line.indexOf(options.completeOn) === 0) {
      command.lines.push(line);
      this.finish(command, line);
      return true;
    }
    if (options.failOn) {
      for (let index = 0; index < options.failOn.length; index++) {
        if (line.indexOf(options.failOn[index]!) === 0) {
          this.finish(command, new AtError('failure', command.text, line, null, command.lines));
          return true;
        }
      }
    }
    return false;
  }
}
