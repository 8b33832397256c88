/**
 * Runs a virtual clock in step with the wall clock (times `speed`), for interactive use (`udt sim`) and
 * hardware in the loop, where a person or a real device is on the other end.
 */
import type { VirtualClock } from './clock';

export class RealTimeRunner {
  private timer: NodeJS.Timeout | null = null;
  private wallStart = 0;
  private virtualStart = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly speed = 1,
    private readonly tickMs = 5,
  ) {}

  start(): void {
    if (this.timer) return;
    this.wallStart = performance.now();
    this.virtualStart = this.clock.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const target = this.virtualStart + (performance.now() - this.wallStart) * this.speed;
    if (target > this.clock.now()) this.clock.runUntil(target);
  }
}
