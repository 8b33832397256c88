/**
 * A board's own crystal: a view of the fleet's shared virtual clock that runs `1 + ppm / 10^6` times as fast.
 * Everything the board's MCU times (getTime, setTimeout/setInterval, UART bytes, the watchdog) reads and
 * schedules through it, while the events themselves stay on the shared clock's one heap, so the boards of a
 * soak still interleave in true time order. The models outside the MCU (the modem and its network time, the
 * meter's poll log) keep the true clock: a terminal whose crystal is 250 ppm fast samples slightly more often
 * and must learn the right time from the network, as in the field.
 */
import { VirtualClock } from '../../simulator/clock';

export class DriftingClock extends VirtualClock {
  /** Local ms per true ms. */
  readonly rate: number;

  constructor(
    readonly base: VirtualClock,
    readonly partsPerMillion: number,
  ) {
    super(0);
    if (!Number.isFinite(partsPerMillion) || Math.abs(partsPerMillion) >= 1_000_000) throw new Error(`clock drift must be a finite number of ppm, got ${partsPerMillion}`);
    this.rate = 1 + partsPerMillion / 1_000_000;
  }

  /** Local time for a true time (both start at 0). */
  localFor(trueMilliseconds: number): number {
    return trueMilliseconds * this.rate;
  }

  override now(): number {
    return this.base.now() * this.rate;
  }

  override schedule(delay: number, action: () => void): number {
    return this.base.schedule(Math.max(0, delay) / this.rate, action);
  }

  override scheduleAt(at: number, action: () => void): number {
    return this.base.scheduleAt(at / this.rate, action);
  }

  override cancel(id: number): void {
    this.base.cancel(id);
  }

  override nextEventTime(): number | undefined {
    const next = this.base.nextEventTime();
    return next === undefined ? undefined : next * this.rate;
  }

  override pendingEvents(): number {
    return this.base.pendingEvents();
  }

  override runUntil(time: number): number {
    return this.base.runUntil(time / this.rate);
  }

  override advance(milliseconds: number): number {
    return this.base.advance(milliseconds / this.rate);
  }

  override runUntilIdle(limit = Number.POSITIVE_INFINITY): number {
    return this.base.runUntilIdle(limit / this.rate);
  }

  override beginRealWork(): () => void {
    return this.base.beginRealWork();
  }

  override realWorkPending(): number {
    return this.base.realWorkPending();
  }

  override runWithRealIo(time: number, realTimeoutMs = 2000): Promise<void> {
    return this.base.runWithRealIo(time / this.rate, realTimeoutMs);
  }
}
