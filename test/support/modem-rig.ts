/**
 * A small, honest implementation of the hal contracts (Serial, DigitalOutput, Clock) over the simulator's
 * virtual wires, so the modem drivers run against the modem models before the virtual board exists.
 * Serial bytes travel through a baud-timed UartLink; receive callbacks arrive from clock events, never from
 * inside `transmit`; pins translate levels to the model's "asserted" inputs using the board's active level.
 */
import dgram from 'node:dgram';
import type { Clock, DigitalOutput, ReceiveHandler, Serial, SerialOptions } from '../../hal/interfaces';
import { loadBoard } from '../../hal/board-loader';
import type { ControlPinDefinition } from '../../hal/board';
import { VirtualClock } from '../../simulator/clock';
import { UartLink, characterTimeMs, type SerialEndpoint } from '../../simulator/wire';
import type { ModemModelCore, ModemModelOptions } from '../../simulator/models/modem-core';
import { Bc66Model } from '../../simulator/models/modem-bc66';
import { Bc95gModel } from '../../simulator/models/modem-bc95g';
import { Bg96Model } from '../../simulator/models/modem-bg96';
import { Bc66Driver } from '../../firmware/modem/bc66';
import { Bc95gDriver } from '../../firmware/modem/bc95g';
import { Bg96Driver } from '../../firmware/modem/bg96';
import type { ControlPin, ModemBase, ModemIo } from '../../firmware/modem/modem';

export class EndpointSerial implements Serial {
  private handler: ReceiveHandler | null = null;
  constructor(
    private readonly endpoint: SerialEndpoint,
    readonly options: SerialOptions,
  ) {
    endpoint.onData((data) => {
      if (this.handler) this.handler(data);
    });
  }
  transmit(data: Uint8Array | string): void {
    this.endpoint.write(data);
  }
  onReceive(handler: ReceiveHandler | null): void {
    this.handler = handler;
  }
  characterTime(): number {
    return characterTimeMs(this.options);
  }
}

export class VirtualHalClock implements Clock {
  private wallOffset = Date.parse('2026-01-01T00:00:00Z');
  private intervals = new Map<number, number>();
  private nextInterval = 1;
  constructor(private readonly clock: VirtualClock) {}
  now(): number {
    return this.clock.now();
  }
  wallTime(): number {
    return this.wallOffset + this.clock.now();
  }
  setWallTime(epochMilliseconds: number): void {
    this.wallOffset = epochMilliseconds - this.clock.now();
  }
  setTimeout(handler: () => void, milliseconds: number): number {
    return this.clock.schedule(milliseconds, handler);
  }
  clearTimeout(id: number): void {
    this.clock.cancel(id);
  }
  setInterval(handler: () => void, milliseconds: number): number {
    const id = -this.nextInterval++;
    const tick = (): void => {
      this.intervals.set(id, this.clock.schedule(milliseconds, tick));
      handler();
    };
    this.intervals.set(id, this.clock.schedule(milliseconds, tick));
    return id;
  }
  clearInterval(id: number): void {
    const event = this.intervals.get(id);
    if (event !== undefined) this.clock.cancel(event);
    this.intervals.delete(id);
  }
}

export class PinOutput implements DigitalOutput {
  private level: boolean;
  constructor(
    initial: boolean,
    private readonly changed: (level: boolean) => void,
  ) {
    this.level = initial;
  }
  write(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.changed(level);
  }
  read(): boolean {
    return this.level;
  }
}

export type ModemModelName = 'BC66' | 'BC95-G' | 'BG96';
export const boardFor: Record<ModemModelName, string> = { BC66: 'pico-bc66', 'BC95-G': 'nucleo-l476-bc95', BG96: 'rak5010' };

export interface ModemRig {
  clock: VirtualClock;
  halClock: VirtualHalClock;
  link: UartLink;
  model: ModemModelCore;
  driver: ModemBase;
  io: ModemIo;
  trace: string[];
  /** Run virtual time until the promise settles (or `limitMs` virtual ms pass), letting real UDP through. */
  settle<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
  close(): void;
}

export interface RigOptions {
  model: ModemModelName;
  modelOptions?: Partial<ModemModelOptions>;
  trace?: boolean;
  /** Power cycle by the power key even where a reset pin exists. */
  preferPowerKey?: boolean;
}

function controlPin(
  definition: ControlPinDefinition | null,
  assert: (asserted: boolean) => void,
): ControlPin | null {
  if (!definition) return null;
  // As hal/espruino does: write(true) asserts the line at the board's active level.
  const output = new PinOutput(false, (asserted) => assert(asserted));
  return { output, pulseMilliseconds: definition.pulseMilliseconds };
}

export function createModemRig(options: RigOptions): ModemRig {
  const board = loadBoard(boardFor[options.model]);
  const clock = new VirtualClock();
  const halClock = new VirtualHalClock(clock);
  const settings = { baudRate: board.modem.serial.baudRate };
  const link = new UartLink(clock, settings, ['mcu', 'modem']);
  const model = createModel(options.model, clock, link.b, options.modelOptions);
  const trace: string[] = [];
  const io: ModemIo = {
    serial: new EndpointSerial(link.a, settings),
    clock: halClock,
    powerKey: controlPin(board.modem.powerKey, (asserted) => model.setPowerKey(asserted)),
    reset: controlPin(board.modem.reset, (asserted) => model.setReset(asserted)),
    psmWake: controlPin(board.modem.psmWake, (asserted) => model.setPsmWake(asserted)),
    preferPowerKey: options.preferPowerKey,
    trace: options.trace === false ? undefined : (direction, text) => trace.push((direction === 'tx' ? '> ' : '< ') + text),
  };
  const driver: ModemBase = options.model === 'BC66' ? new Bc66Driver(io) : options.model === 'BC95-G' ? new Bc95gDriver(io) : new Bg96Driver(io);
  const settle = settler(clock);
  return {
    clock,
    halClock,
    link,
    model,
    driver,
    io,
    trace,
    settle,
    close: () => model.close(),
  };
}

/** Run virtual time until a promise settles (or `limitMs` virtual ms pass), letting real UDP through. */
export function settler(clock: VirtualClock): <T>(promise: Promise<T>, limitMs?: number) => Promise<T> {
  return async <T>(promise: Promise<T>, limitMs = 30 * 60 * 1000): Promise<T> => {
    let done = false;
    let value: T | undefined;
    let failure: unknown = undefined;
    let failed = false;
    promise.then(
      (result) => {
        done = true;
        value = result;
      },
      (error: unknown) => {
        done = true;
        failed = true;
        failure = error;
      },
    );
    const end = clock.now() + limitMs;
    // Let the promise chain start (and schedule its first events) before virtual time moves at all.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!done && clock.now() < end) {
      const next = clock.nextEventTime();
      if (next === undefined && clock.realWorkPending() === 0) {
        // Promise chains may still be about to schedule something: let them run, then look again.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!done && clock.nextEventTime() === undefined && clock.realWorkPending() === 0) break;
        continue;
      }
      await clock.runWithRealIo(Math.min(end, next ?? clock.now()));
      // Promise callbacks (the driver's .then chains) run between virtual events.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!done) throw new Error('settle: not settled after ' + limitMs + ' virtual ms (now ' + clock.now() + ')');
    if (failed) throw failure;
    return value as T;
  };
}

/**
 * The common start of a driver transcript: power on, attach, open UDP to 127.0.0.1:`port`. Returns the
 * datagrams the driver receives from then on.
 */
export async function openDriverUdp(rig: ModemRig, settle: ReturnType<typeof settler>, port: number): Promise<Uint8Array[]> {
  const driver = rig.driver;
  await settle(driver.powerOn());
  await settle(driver.attach(120000));
  await settle(driver.openUdp('127.0.0.1', port));
  const replies: Uint8Array[] = [];
  driver.onDatagram((data) => replies.push(data));
  return replies;
}

/** Advance virtual time by `milliseconds`, real UDP included. */
export async function advance(clock: VirtualClock, milliseconds: number): Promise<void> {
  const end = clock.now() + milliseconds;
  await new Promise<void>((resolve) => setImmediate(resolve));
  while (clock.now() < end) {
    const next = clock.nextEventTime();
    await clock.runWithRealIo(next === undefined ? end : Math.min(next, end));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export function createModel(name: ModemModelName, clock: VirtualClock, serial: SerialEndpoint, options?: Partial<ModemModelOptions>): ModemModelCore {
  const modelOptions: ModemModelOptions = { clock, serial, ...options };
  return name === 'BC66' ? new Bc66Model(modelOptions) : name === 'BC95-G' ? new Bc95gModel(modelOptions) : new Bg96Model(modelOptions);
}

/**
 * A model on a UART with nothing but a byte terminal on the other end: for transcript tests that check the
 * exact bytes a dialect answers.
 */
export function createTerminal(name: ModemModelName, options?: Partial<ModemModelOptions>) {
  const board = loadBoard(boardFor[name]);
  const clock = new VirtualClock();
  const link = new UartLink(clock, { baudRate: board.modem.serial.baudRate }, ['mcu', 'modem']);
  const model = createModel(name, clock, link.b, options);
  let received = '';
  link.a.onData((data) => {
    received += Buffer.from(data).toString('latin1');
  });
  return {
    clock,
    link,
    model,
    /** Write `text` (latin-1) and return every byte that came back within `waitMs` virtual ms. */
    async exchange(text: string | Uint8Array, waitMs = 200): Promise<string> {
      received = '';
      link.a.write(text);
      await advance(clock, waitMs);
      return received;
    },
    /** Bytes that arrived while time ran for `waitMs` without writing anything. */
    async listen(waitMs: number): Promise<string> {
      received = '';
      await advance(clock, waitMs);
      return received;
    },
    close: () => model.close(),
  };
}

/** A UDP echo server on 127.0.0.1 (what a gateway would answer, reduced to the bytes). */
export async function startEchoServer(transform: (data: Buffer) => Buffer | null = (data) => data): Promise<{
  port: number;
  received: Buffer[];
  close: () => Promise<void>;
}> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (message, remote) => {
    received.push(message);
    const answer = transform(message);
    if (answer) socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
