/**
 * Modbus RTU master on a half-duplex RS485 port.
 *
 * One transaction at a time from a FIFO queue. Before each request the bus must have been silent for
 * t3.5; an answer is complete when the bytes its header announces are in, or when the line has been
 * silent for the frame-end gap (a truncated frame). Failed attempts (timeout, CRC, short frame, malformed)
 * are retried; exception answers are not (the slave did answer). Frames from another unit are counted
 * and ignored while the answer from the asked unit is awaited, so a late answer from a slow slave cannot
 * be taken for another slave's.
 *
 * A slave that fails `offlineAfter` transactions in a row is marked offline: its requests then get one
 * attempt and no retries, and the poller asks it less often. The cost of a dead slave is therefore bounded
 * by one response timeout per poll, and the others keep their schedule.
 */
import type { Clock, Rs485 } from '../../hal/interfaces';
import { ModbusError, type ModbusErrorCode } from './errors';
import { announcedLength, buildRequest, type ModbusRequest, type ModbusResponse, parseResponse } from './frame';
import { modbusTiming, type ModbusTiming } from './timing';
import { copyBytes } from '../runtime/typed-arrays';

export interface MasterOptions {
  /** Wait for the first byte of an answer this long after our last stop bit, ms. Default 500. */
  responseTimeout?: number;
  /** Extra attempts after a failed one. Default 2. */
  retries?: number;
  /** Failed transactions in a row after which a slave counts as offline. Default 3. */
  offlineAfter?: number;
  /** Silence after a broadcast before the next request, so slaves can act on it. Default 100 ms. */
  broadcastTurnaround?: number;
  /**
   * Silence after which a partial answer counts as ended. Default t3.5 + 3 ms: the spec's t3.5 plus the
   * granularity of the interpreter's timers and of the UART driver handing bytes over in chunks.
   */
  frameEndSilence?: number;
}

/** Per-request overrides of the master's defaults (a slow meter gets a longer timeout than the rest). */
export interface RequestOptions {
  responseTimeout?: number;
  retries?: number;
}

export type ResponseCallback = (error: ModbusError | null, response?: ModbusResponse) => void;

export interface SlaveCounters {
  unitId: number;
  transactions: number;
  answered: number;
  failed: number;
  attempts: number;
  retries: number;
  timeouts: number;
  crcErrors: number;
  shortFrames: number;
  wrongUnit: number;
  wrongFunction: number;
  malformed: number;
  exceptions: number;
  consecutiveFailures: number;
  online: boolean;
  lastErrorCode: ModbusErrorCode | null;
  lastError: string | null;
  lastAnswerTime: number;
}

export interface BusCounters {
  /** Bytes that arrived while no answer was awaited (noise, late answers, other masters). */
  strayBytes: number;
  /** Complete frames from a unit other than the one asked. */
  foreignFrames: number;
}

interface Transaction {
  request: ModbusRequest;
  frame: Uint8Array;
  callback: ResponseCallback;
  attempt: number;
  maximumAttempts: number;
  responseTimeout: number;
  /** The most telling failure of the current attempt so far (a wrong-unit frame beats a plain timeout). */
  pendingFailure: ModbusError | null;
}

type State = 'idle' | 'waiting-for-silence' | 'sending' | 'awaiting' | 'receiving' | 'broadcast-turnaround' | 'stopped';

const receiveCapacity = 260;

export class ModbusMaster {
  readonly timing: ModbusTiming;
  readonly bus: BusCounters = { strayBytes: 0, foreignFrames: 0 };
  private readonly responseTimeout: number;
  private readonly retries: number;
  private readonly offlineAfter: number;
  private readonly broadcastTurnaround: number;
  private readonly frameEndSilence: number;
  private readonly queue: Transaction[] = [];
  private current: Transaction | null = null;
  private state: State = 'idle';
  private readonly buffer = new Uint8Array(receiveCapacity);
  private received = 0;
  private lastLineActivity = -1e9;
  private answerDeadline = 0;
  private timer: number | null = null;
  private readonly slaves: { [unit: string]: SlaveCounters } = {};

  constructor(
    private readonly port: Rs485,
    private readonly clock: Clock,
    options?: MasterOptions,
  ) {
    const settings = options || {};
    this.timing = modbusTiming(port.options.baudRate, port.characterTime());
    this.responseTimeout = settings.responseTimeout === undefined ? 500 : settings.responseTimeout;
    this.retries = settings.retries === undefined ? 2 : settings.retries;
    this.offlineAfter = settings.offlineAfter === undefined ? 3 : settings.offlineAfter;
    this.broadcastTurnaround = settings.broadcastTurnaround === undefined ? 100 : settings.broadcastTurnaround;
    this.frameEndSilence = settings.frameEndSilence === undefined ? this.timing.interFrameDelay + 3 : settings.frameEndSilence;
    port.onReceive((data) => this.onData(data));
  }

  /** Queue a request; `callback` gets the checked answer or a ModbusError. Invalid requests fail asynchronously too. */
  request(request: ModbusRequest, callback: ResponseCallback, options?: RequestOptions): void {
    let frame: Uint8Array;
    try {
      frame = buildRequest(request);
    } catch (error) {
      this.clock.setTimeout(() => callback(error as ModbusError), 0);
      return;
    }
    if (this.state === 'stopped') {
      this.clock.setTimeout(() => callback(new ModbusError('cancelled', 'master stopped', request.unitId, request.functionCode, request.address)), 0);
      return;
    }
    const counters = request.unitId === 0 ? null : this.counters(request.unitId);
    const retries = options && options.retries !== undefined ? options.retries : this.retries;
    const responseTimeout = options && options.responseTimeout !== undefined ? options.responseTimeout : this.responseTimeout;
    const maximumAttempts = counters && !counters.online ? 1 : retries + 1;
    this.queue.push({ request, frame, callback, attempt: 0, maximumAttempts, responseTimeout, pendingFailure: null });
    if (this.state === 'idle') this.startNext();
  }

  readHoldingRegisters(unitId: number, address: number, quantity: number, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 3, address, quantity }, callback);
  }

  readInputRegisters(unitId: number, address: number, quantity: number, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 4, address, quantity }, callback);
  }

  readCoils(unitId: number, address: number, quantity: number, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 1, address, quantity }, callback);
  }

  readDiscreteInputs(unitId: number, address: number, quantity: number, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 2, address, quantity }, callback);
  }

  writeSingleCoil(unitId: number, address: number, on: boolean, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 5, address, value: on ? 1 : 0 }, callback);
  }

  writeSingleRegister(unitId: number, address: number, value: number, callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 6, address, value }, callback);
  }

  writeMultipleCoils(unitId: number, address: number, states: boolean[], callback: ResponseCallback): void {
    const values: number[] = [];
    for (let index = 0; index < states.length; index++) values.push(states[index] ? 1 : 0);
    this.request({ unitId, functionCode: 15, address, values }, callback);
  }

  writeMultipleRegisters(unitId: number, address: number, values: number[], callback: ResponseCallback): void {
    this.request({ unitId, functionCode: 16, address, values }, callback);
  }

  /** Counters of one slave (created on first use). */
  counters(unitId: number): SlaveCounters {
    const key = String(unitId);
    let counters = this.slaves[key];
    if (!counters) {
      counters = {
        unitId, transactions: 0, answered: 0, failed: 0, attempts: 0, retries: 0, timeouts: 0, crcErrors: 0, shortFrames: 0,
        wrongUnit: 0, wrongFunction: 0, malformed: 0, exceptions: 0, consecutiveFailures: 0, online: true,
        lastErrorCode: null, lastError: null, lastAnswerTime: -1,
      };
      this.slaves[key] = counters;
    }
    return counters;
  }

  allCounters(): SlaveCounters[] {
    const keys = Object.keys(this.slaves);
    const result: SlaveCounters[] = [];
    for (let index = 0; index < keys.length; index++) result.push(this.slaves[keys[index]]);
    return result;
  }

  isOnline(unitId: number): boolean {
    return this.counters(unitId).online;
  }

  /** Requests queued or in progress. */
  pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Stop: pending requests fail with 'cancelled', the port's receive handler is removed. */
  stop(): void {
    this.clearTimer();
    this.state = 'stopped';
    this.port.onReceive(null);
    const cancelled = this.current ? [this.current].concat(this.queue) : this.queue.slice();
    this.current = null;
    this.queue.length = 0;
    for (let index = 0; index < cancelled.length; index++) {
      const request = cancelled[index].request;
      cancelled[index].callback(new ModbusError('cancelled', 'master stopped', request.unitId, request.functionCode, request.address));
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private setTimer(milliseconds: number, action: () => void): void {
    this.clearTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      action();
    }, milliseconds);
  }

  private startNext(): void {
    if (this.state === 'stopped') return;
    const next = this.queue.shift();
    if (!next) {
      this.current = null;
      this.state = 'idle';
      return;
    }
    this.current = next;
    if (next.request.unitId !== 0) this.counters(next.request.unitId).transactions++;
    this.attempt();
  }

  /** Send the current request once the line has been silent for t3.5. */
  private attempt(): void {
    const transaction = this.current as Transaction;
    const quietFor = this.clock.now() - this.lastLineActivity;
    // A microsecond of tolerance: timer arithmetic must not leave a remainder too small to ever elapse.
    if (quietFor < this.timing.interFrameDelay - 0.001) {
      this.state = 'waiting-for-silence';
      this.setTimer(this.timing.interFrameDelay - quietFor, () => this.attempt());
      return;
    }
    transaction.attempt++;
    transaction.pendingFailure = null;
    if (transaction.request.unitId !== 0) {
      const counters = this.counters(transaction.request.unitId);
      counters.attempts++;
      if (transaction.attempt > 1) counters.retries++;
    }
    this.state = 'sending';
    this.received = 0;
    this.port.transmitFrame(transaction.frame, () => this.onSent());
  }

  private onSent(): void {
    if (this.state !== 'sending') return;
    const transaction = this.current as Transaction;
    this.lastLineActivity = this.clock.now();
    if (transaction.request.unitId === 0) {
      this.state = 'broadcast-turnaround';
      this.setTimer(this.broadcastTurnaround, () => this.complete(null, { unitId: 0, functionCode: transaction.request.functionCode, address: transaction.request.address }));
      return;
    }
    this.state = 'awaiting';
    this.answerDeadline = this.clock.now() + transaction.responseTimeout;
    this.setTimer(transaction.responseTimeout, () => this.onAnswerTimeout());
  }

  private onData(data: Uint8Array): void {
    this.lastLineActivity = this.clock.now();
    if (this.state !== 'awaiting' && this.state !== 'receiving') {
      this.bus.strayBytes += data.length;
      // Someone is still talking: keep the next request back until the line is quiet again.
      if (this.state === 'waiting-for-silence') this.attempt();
      return;
    }
    const room = receiveCapacity - this.received;
    const take = data.length < room ? data.length : room;
    this.buffer.set(take === data.length ? data : data.subarray(0, take), this.received);
    this.received += take;
    this.state = 'receiving';
    const transaction = this.current as Transaction;
    const announced = announcedLength(transaction.request, this.buffer, this.received);
    if ((announced > 0 && this.received >= announced) || this.received === receiveCapacity) {
      this.clearTimer();
      this.onFrame();
    } else {
      this.setTimer(this.frameEndSilence, () => this.onFrame());
    }
  }

  private onFrame(): void {
    const transaction = this.current as Transaction;
    const frame = copyBytes(this.buffer, 0, this.received);
    this.received = 0;
    let response: ModbusResponse;
    try {
      response = parseResponse(transaction.request, frame);
    } catch (caught) {
      const error = caught as ModbusError;
      if (error.code === 'wrong-unit') {
        // Not ours (a late answer, or a slave that answers to the wrong address): keep listening.
        this.bus.foreignFrames++;
        this.count(transaction.request.unitId, error);
        transaction.pendingFailure = error;
        const remaining = this.answerDeadline - this.clock.now();
        this.state = 'awaiting';
        if (remaining <= 0) this.onAnswerTimeout();
        else this.setTimer(remaining, () => this.onAnswerTimeout());
        return;
      }
      this.count(transaction.request.unitId, error);
      if (error.code === 'exception') {
        this.markAlive(transaction.request.unitId);
        this.complete(error);
      } else {
        this.attemptFailed(error);
      }
      return;
    }
    this.markAlive(transaction.request.unitId);
    this.counters(transaction.request.unitId).answered++;
    this.complete(null, response);
  }

  private onAnswerTimeout(): void {
    const transaction = this.current as Transaction;
    const request = transaction.request;
    let error = transaction.pendingFailure;
    if (!error) {
      error = new ModbusError('timeout', 'no answer within ' + transaction.responseTimeout + ' ms', request.unitId, request.functionCode, request.address);
      this.count(request.unitId, error);
    }
    this.attemptFailed(error);
  }

  private attemptFailed(error: ModbusError): void {
    const transaction = this.current as Transaction;
    if (transaction.attempt < transaction.maximumAttempts) {
      this.attempt();
      return;
    }
    const counters = this.counters(transaction.request.unitId);
    counters.failed++;
    counters.consecutiveFailures++;
    if (counters.consecutiveFailures >= this.offlineAfter) counters.online = false;
    this.complete(error);
  }

  private count(unitId: number, error: ModbusError): void {
    const counters = this.counters(unitId);
    counters.lastErrorCode = error.code;
    counters.lastError = error.message;
    switch (error.code) {
      case 'timeout':
        counters.timeouts++;
        break;
      case 'crc':
        counters.crcErrors++;
        break;
      case 'short-frame':
        counters.shortFrames++;
        break;
      case 'wrong-unit':
        counters.wrongUnit++;
        break;
      case 'wrong-function':
        counters.wrongFunction++;
        break;
      case 'exception':
        counters.exceptions++;
        break;
      default:
        counters.malformed++;
    }
  }

  private markAlive(unitId: number): void {
    const counters = this.counters(unitId);
    counters.consecutiveFailures = 0;
    counters.online = true;
    counters.lastAnswerTime = this.clock.now();
  }

  private complete(error: ModbusError | null, response?: ModbusResponse): void {
    const transaction = this.current as Transaction;
    this.clearTimer();
    this.current = null;
    this.state = 'idle';
    transaction.callback(error, response);
    if (this.state === 'idle' && !this.current) this.startNext();
  }
}
