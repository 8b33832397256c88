/**
 * Software debounce over a hal DigitalInput: a level counts only once it has held for `debounce` ms with
 * no further edge. Mechanical contacts (reed switches on water meters, door switches) bounce for a few ms
 * at every transition; this turns each burst into one clean change. A debounce of 0 passes every edge.
 */
import type { Clock, DigitalInput } from '../../hal/interfaces';

export class Debouncer {
  private stableLevel: boolean;
  private pendingLevel: boolean;
  private timer: number | null = null;
  private unwatch: (() => void) | null = null;
  /** Edges seen, bounces included (for diagnostics). */
  edges = 0;

  constructor(
    private readonly input: DigitalInput,
    private readonly clock: Clock,
    private readonly debounce: number,
    private readonly onStableChange: (level: boolean, time: number) => void,
  ) {
    this.stableLevel = input.read();
    this.pendingLevel = this.stableLevel;
  }

  start(): void {
    if (this.unwatch) return;
    this.stableLevel = this.input.read();
    this.pendingLevel = this.stableLevel;
    this.unwatch = this.input.watch('both', (level, time) => this.onEdge(level, time));
  }

  stop(): void {
    if (this.unwatch) this.unwatch();
    this.unwatch = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  level(): boolean {
    return this.stableLevel;
  }

  private onEdge(level: boolean, time: number): void {
    this.edges++;
    this.pendingLevel = level;
    if (this.debounce <= 0) {
      this.settle(time);
      return;
    }
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.settle(this.clock.now());
    }, this.debounce);
  }

  private settle(time: number): void {
    if (this.pendingLevel === this.stableLevel) return;
    this.stableLevel = this.pendingLevel;
    this.onStableChange(this.stableLevel, time);
  }
}
