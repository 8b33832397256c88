/**
 * Test-side models of contacts on the virtual board's GPIO: a meter's pulse output with contact bounce, and a
 * plain switch. They drive pins through the board's Gpio from outside, as the real contact would.
 */
import type { VirtualBoard } from '../../../simulator/board';

/** Deterministic PRNG (mulberry32) so that "random" moments are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BouncingPulseOptions {
  /** Pulse period and low time, ms. */
  period: number;
  lowTime: number;
  /** Bounces (extra level flips) at each transition, and their spacing, ms. */
  bounces: number;
  bounceSpacing: number;
}

/**
 * A reed-switch pulse output to ground (idle high through the board's pull-up): each pulse is a bouncing fall,
 * a low phase, a bouncing rise. Pulses start only while `enabled()`; one in progress finishes regardless.
 */
export class BouncingPulseSource {
  /** Start times of the pulses generated (the first flip of each falling burst). */
  readonly pulseStarts: number[] = [];
  private running = false;

  constructor(
    private readonly board: VirtualBoard,
    private readonly pin: string,
    private readonly options: BouncingPulseOptions,
    private readonly enabled: () => boolean,
  ) {
    board.gpio.drive(pin, true);
  }

  /** Generate `count` pulses, then stop. */
  run(count: number): void {
    this.running = true;
    const clock = this.board.clock;
    const { period, lowTime, bounces, bounceSpacing } = this.options;
    const burst = (at: number, finalLevel: boolean): void => {
      for (let flip = 0; flip <= bounces * 2; flip++) {
        const level = flip % 2 === 0 ? finalLevel : !finalLevel;
        clock.scheduleAt(at + flip * bounceSpacing, () => this.board.gpio.drive(this.pin, level));
      }
    };
    const next = (): void => {
      if (this.pulseStarts.length >= count) {
        this.running = false;
        return;
      }
      if (!this.enabled()) {
        clock.schedule(period, next);
        return;
      }
      const start = clock.now();
      this.pulseStarts.push(start);
      burst(start, false);
      burst(start + lowTime, true);
      clock.schedule(period, next);
    };
    next();
  }

  /** Time after the start of a pulse by which its fall has settled (last bounce done). */
  settleTime(): number {
    return this.options.bounces * 2 * this.options.bounceSpacing;
  }

  isRunning(): boolean {
    return this.running;
  }
}
