/**
 * Virtual serial wiring: point-to-point UART links and an RS485 multi-drop bus, timed on the virtual clock.
 *
 * Timing is baud-accurate at the granularity of one `write`: the bytes of a write occupy the line for
 * `length * characterTime` after whatever the same sender still has on the line, and arrive at the other
 * side(s) as one chunk when the last stop bit is done. Device models and the virtual board's Serial
 * objects both see a line through `SerialEndpoint`.
 */
import type { VirtualClock } from './clock';

export interface LineSettings {
  baudRate: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
}

/** Milliseconds one character takes: start bit + data bits + parity bit + stop bits. */
export function characterTimeMs(settings: LineSettings): number {
  const bits = 1 + (settings.dataBits ?? 8) + (settings.parity && settings.parity !== 'none' ? 1 : 0) + (settings.stopBits ?? 1);
  return (bits * 1000) / settings.baudRate;
}

export type DataHandler = (data: Uint8Array) => void;

/** One side of a serial line as seen by whatever is attached to it (a model, or a virtual board's UART). */
export interface SerialEndpoint {
  readonly name: string;
  /** Put bytes on the line. A string is taken as latin-1 (one char = one byte). */
  write(data: Uint8Array | string): void;
  /** Add a listener for arriving chunks; returns a function that removes it. */
  onData(handler: DataHandler): () => void;
  /** Virtual time at which everything written so far will have left this endpoint. */
  idleAt(): number;
}

export function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data !== 'string') return Uint8Array.from(data);
  const bytes = new Uint8Array(data.length);
  for (let index = 0; index < data.length; index++) bytes[index] = data.charCodeAt(index) & 0xff;
  return bytes;
}

class EndpointBase {
  private handlers: DataHandler[] = [];
  protected lineBusyUntil = 0;

  constructor(readonly name: string) {}

  onData(handler: DataHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const index = this.handlers.indexOf(handler);
      if (index >= 0) this.handlers.splice(index, 1);
    };
  }

  idleAt(): number {
    return this.lineBusyUntil;
  }

  deliver(data: Uint8Array): void {
    for (const handler of this.handlers.slice()) handler(data);
  }
}

class UartEndpoint extends EndpointBase implements SerialEndpoint {
  peer!: UartEndpoint;

  constructor(
    name: string,
    private readonly link: UartLink,
  ) {
    super(name);
  }

  write(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    if (bytes.length === 0) return;
    const clock = this.link.clock;
    const start = Math.max(clock.now(), this.lineBusyUntil);
    const end = start + bytes.length * characterTimeMs(this.link.settings);
    this.lineBusyUntil = end;
    const peer = this.peer;
    const transform = this.link.faults;
    clock.scheduleAt(end, () => {
      const arriving = transform ? transform(bytes, this.name) : bytes;
      if (arriving && arriving.length > 0 && this.link.connected) peer.deliver(arriving);
    });
  }
}

/**
 * A point-to-point UART (e.g. MCU <-> modem). `faults`, when set, may alter or drop a chunk in flight
 * (garbage bytes, lost bytes); `connected = false` models a cut wire.
 */
export class UartLink {
  readonly a: SerialEndpoint;
  readonly b: SerialEndpoint;
  connected = true;
  faults: ((data: Uint8Array, from: string) => Uint8Array | null) | null = null;

  constructor(
    readonly clock: VirtualClock,
    public settings: LineSettings,
    names: [string, string] = ['a', 'b'],
  ) {
    const a = new UartEndpoint(names[0], this);
    const b = new UartEndpoint(names[1], this);
    a.peer = b;
    b.peer = a;
    this.a = a;
    this.b = b;
  }
}

/** A drop on an RS485 bus. Its bytes reach the bus only while its driver is enabled. */
export interface Rs485Drop extends SerialEndpoint {
  /** Driver enable (DE). Models of slaves with automatic direction control leave it on `auto`. */
  setDriverEnabled(enabled: boolean | 'auto'): void;
  driverEnabled(): boolean;
}

class BusDrop extends EndpointBase implements Rs485Drop {
  private driver: boolean | 'auto' = 'auto';
  private autoActiveUntil = 0;

  constructor(
    name: string,
    private readonly bus: Rs485Bus,
  ) {
    super(name);
  }

  setDriverEnabled(enabled: boolean | 'auto'): void {
    this.driver = enabled;
  }

  driverEnabled(): boolean {
    if (this.driver === 'auto') return this.bus.clock.now() <= this.autoActiveUntil;
    return this.driver;
  }

  write(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    if (bytes.length === 0) return;
    const clock = this.bus.clock;
    const characterTime = characterTimeMs(this.bus.settings);
    const start = Math.max(clock.now(), this.lineBusyUntil);
    const end = start + bytes.length * characterTime;
    this.lineBusyUntil = end;
    if (this.driver === 'auto') this.autoActiveUntil = end;
    this.bus.transmit(this, bytes, start, end);
  }
}

interface Transmission {
  from: BusDrop;
  bytes: Uint8Array;
  start: number;
  end: number;
  corrupted: boolean;
}

/**
 * An RS485 multi-drop bus. A byte goes out only if its sender's driver is enabled both when the byte
 * starts and when it ends (bytes sent with DE low are lost, as are the bytes of a frame whose DE drops
 * early). Overlapping transmissions from two drops collide: every drop receives garbage instead.
 * Every drop except the sender receives a transmission; the sender's own echo is not delivered
 * (the hal's Rs485 discards it anyway).
 */
export class Rs485Bus {
  private drops: BusDrop[] = [];
  private active: Transmission[] = [];
  /** Per-chunk fault hook (noise on the line), applied to what every receiver gets. */
  faults: ((data: Uint8Array, from: string) => Uint8Array | null) | null = null;
  collisions = 0;

  constructor(
    readonly clock: VirtualClock,
    public settings: LineSettings,
  ) {}

  attach(name: string): Rs485Drop {
    const drop = new BusDrop(name, this);
    this.drops.push(drop);
    return drop;
  }

  /** Called by a drop: schedule the bytes' arrival, deciding loss and collisions at their end. */
  transmit(from: BusDrop, bytes: Uint8Array, start: number, end: number): void {
    const transmission: Transmission = { from, bytes, start, end, corrupted: false };
    for (const other of this.active) {
      if (other.from !== from && other.end > start && other.start < end) {
        other.corrupted = true;
        transmission.corrupted = true;
        this.collisions++;
      }
    }
    this.active.push(transmission);
    // DE is sampled at the middle of the first character and at the end of the last: a driver raised
    // late or dropped early loses the frame, as on a real transceiver.
    let enabledAtStart = from.driverEnabled();
    const firstCharacterMiddle = start + characterTimeMs(this.settings) / 2;
    if (firstCharacterMiddle > this.clock.now()) {
      this.clock.scheduleAt(firstCharacterMiddle, () => {
        enabledAtStart = from.driverEnabled();
      });
    }
    this.clock.scheduleAt(end, () => {
      this.active.splice(this.active.indexOf(transmission), 1);
      let delivered: Uint8Array | null = enabledAtStart && from.driverEnabled() ? transmission.bytes : null;
      if (delivered && transmission.corrupted) delivered = garble(delivered);
      if (delivered && this.faults) delivered = this.faults(delivered, from.name);
      if (!delivered || delivered.length === 0) return;
      for (const drop of this.drops) if (drop !== from) drop.deliver(delivered);
    });
  }
}

/** Deterministic corruption for collided frames (no randomness: tests must be repeatable). */
function garble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let index = 0; index < bytes.length; index++) out[index] = (bytes[index]! ^ 0x5a ^ (index * 37)) & 0xff;
  return out;
}
