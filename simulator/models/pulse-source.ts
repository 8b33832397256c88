/**
 * A pulse output of a water/gas/energy meter: a reed contact or open-collector that pulls the input low
 * (through the board's pull-up) for `pulseWidthMs` per pulse, at a rate, optionally with contact bounce
 * (a few fast open/close flickers at each edge, which a debounced watch must swallow).
 */
import type { VirtualClock } from '../clock';
import type { Gpio } from '../hardware/gpio';

export interface PulseSourceOptions {
  pin: string;
  /** Closed contact = low (pull-up input): the usual wiring. Default true. */
  activeLow?: boolean;
  pulseWidthMs?: number;
  /** Bounces at each edge: `count` extra flips, `intervalMs` apart. */
  bounce?: { count: number; intervalMs: number };
}

export class PulseSource {
  /** Pulses completed so far (what an ideal counter would show). */
  pulses = 0;
  private timer: number | null = null;
  private readonly activeLow: boolean;
  private readonly width: number;

  constructor(
    private readonly clock: VirtualClock,
    private readonly gpio: Gpio,
    private readonly options: PulseSourceOptions,
  ) {
    this.activeLow = options.activeLow ?? true;
    this.width = options.pulseWidthMs ?? 50;
    if (!gpio.has(options.pin)) throw new Error(`pulse source: no pin ${options.pin}`);
  }

  /** Pulse continuously at `perSecond` pulses per second (0 stops). */
  start(perSecond: number): void {
    this.stop();
    if (!(perSecond > 0)) return;
    const period = 1000 / perSecond;
    if (period <= this.width * 1.2) throw new Error(`pulse rate ${perSecond}/s leaves no gap for ${this.width} ms pulses`);
    const next = (): void => {
      this.pulse();
      this.timer = this.clock.schedule(period, next);
    };
    this.timer = this.clock.schedule(period, next);
  }

  stop(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  /** `count` pulses, `periodMs` apart, starting now. */
  burst(count: number, periodMs: number): void {
    for (let index = 0; index < count; index++) this.clock.schedule(index * periodMs, () => this.pulse());
  }

  /** One pulse starting now: close (with bounce), hold, open (with bounce). */
  pulse(): void {
    this.edge(true, 0);
    this.clock.schedule(this.width, () => {
      this.edge(false, 0);
      this.pulses++;
    });
  }

  private set(closed: boolean): void {
    this.gpio.drive(this.options.pin, closed ? !this.activeLow : null);
  }

  private edge(closed: boolean, delay: number): void {
    const bounce = this.options.bounce;
    this.clock.schedule(delay, () => this.set(closed));
    if (!bounce) return;
    for (let index = 1; index <= bounce.count * 2; index++) {
      const state = index % 2 === 1 ? !closed : closed;
      this.clock.schedule(delay + index * bounce.intervalMs, () => this.set(state));
    }
  }
}
