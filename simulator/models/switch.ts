/**
 * A contact on a digital input: a tamper or door switch that closes to ground (the input's pull-up reads
 * high while open), with optional bounce when it changes.
 */
import type { VirtualClock } from '../clock';
import type { Gpio } from '../hardware/gpio';

export interface SwitchOptions {
  pin: string;
  /** Closed = pulled low (default), or driven high when false. */
  activeLow?: boolean;
  closed?: boolean;
  bounce?: { count: number; intervalMs: number };
}

export class Switch {
  private state: boolean;

  constructor(
    private readonly clock: VirtualClock,
    private readonly gpio: Gpio,
    private readonly options: SwitchOptions,
  ) {
    if (!gpio.has(options.pin)) throw new Error(`switch: no pin ${options.pin}`);
    this.state = options.closed ?? false;
    this.apply(this.state);
  }

  get closed(): boolean {
    return this.state;
  }

  /** Open or close the contact now (bouncing first if configured). */
  set(closed: boolean): void {
    if (closed === this.state) return;
    this.state = closed;
    const bounce = this.options.bounce;
    if (!bounce) {
      this.apply(closed);
      return;
    }
    for (let index = 0; index <= bounce.count * 2; index++) {
      const level = index % 2 === 0 ? closed : !closed;
      this.clock.schedule(index * bounce.intervalMs, () => this.apply(level));
    }
  }

  private apply(closed: boolean): void {
    const activeLow = this.options.activeLow ?? true;
    this.gpio.drive(this.options.pin, closed ? !activeLow : null);
  }
}
