/**
 * Small hal implementations over the simulator's virtual wires, for driving firmware modules from
 * TypeScript before (and besides) the full virtual board. They keep the hal contract honestly: callbacks
 * never run synchronously from the call that caused them, RS485 raises DE only around a frame, discards
 * its own echo, and keeps the pre/post transmit delays on the virtual clock.
 */
import { HalError, type Clock, type ReceiveHandler, type Rs485, type Rs485Options, type Serial, type SerialOptions } from '../../hal/interfaces';
import type { VirtualClock } from '../../simulator/clock';
import { characterTimeMs, type Rs485Bus, type Rs485Drop, type SerialEndpoint } from '../../simulator/wire';

export class VirtualClockHal implements Clock {
  private wallOffset = Date.UTC(2026, 0, 1);

  constructor(readonly clock: VirtualClock) {}

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
    // One id for the whole series: each run reschedules under a fresh clock id, mapped here.
    const seriesId = this.clock.schedule(milliseconds, () => run());
    const run = (): void => {
      const next = this.clock.schedule(milliseconds, () => run());
      this.series.set(seriesId, next);
      handler();
    };
    this.series.set(seriesId, seriesId);
    return seriesId;
  }
  clearInterval(id: number): void {
    const current = this.series.get(id);
    if (current !== undefined) this.clock.cancel(current);
    this.series.delete(id);
  }
  private series = new Map<number, number>();
}

export class BusRs485 implements Rs485 {
  private handler: ReceiveHandler | null = null;
  private inFlight = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly drop: Rs485Drop,
    readonly options: Rs485Options,
  ) {
    drop.setDriverEnabled(false);
    drop.onData((data) => {
      if (drop.driverEnabled()) return;
      const handler = this.handler;
      if (handler) handler(Uint8Array.from(data));
    });
  }

  static attach(clock: VirtualClock, bus: Rs485Bus, name: string, options?: Partial<Rs485Options>): BusRs485 {
    return new BusRs485(clock, bus.attach(name), { ...bus.settings, preTransmitDelay: 0.1, postTransmitDelay: 0.1, ...options } as Rs485Options);
  }

  transmitFrame(frame: Uint8Array, done: () => void): void {
    if (this.inFlight) throw new HalError('busy', 'rs485', 'a frame is already in flight');
    this.inFlight = true;
    const copy = Uint8Array.from(frame);
    this.drop.setDriverEnabled(true);
    this.clock.schedule(this.options.preTransmitDelay ?? 0, () => {
      this.drop.write(copy);
      const end = this.drop.idleAt() + (this.options.postTransmitDelay ?? 0);
      this.clock.scheduleAt(end, () => {
        this.drop.setDriverEnabled(false);
        this.inFlight = false;
        done();
      });
    });
  }

  onReceive(handler: ReceiveHandler | null): void {
    this.handler = handler;
  }

  characterTime(): number {
    return characterTimeMs(this.options);
  }
}

/** A plain UART over one end of a UartLink. */
export class EndpointSerial implements Serial {
  private handler: ReceiveHandler | null = null;

  constructor(
    private readonly endpoint: SerialEndpoint,
    readonly options: SerialOptions,
  ) {
    endpoint.onData((data) => {
      const handler = this.handler;
      if (handler) handler(Uint8Array.from(data));
    });
  }

  transmit(data: Uint8Array | string): void {
    this.endpoint.write(typeof data === 'string' ? data : Uint8Array.from(data));
  }

  onReceive(handler: ReceiveHandler | null): void {
    this.handler = handler;
  }

  characterTime(): number {
    return characterTimeMs(this.options);
  }
}
