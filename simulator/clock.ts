/**
 * The simulator's virtual clock: a discrete-event scheduler.
 *
 * Virtual time only moves when the simulation says so (`advance`, `runUntil`, `runUntilIdle`), jumping
 * straight to the next due event, so a day of mostly-sleeping terminal runs in milliseconds. Events due
 * at the same instant run in the order they were scheduled. When the simulation must wait for real I/O
 * (a UDP reply from a real gateway), `waitForReal` lets Node's event loop run while virtual time stands still.
 */

export interface ScheduledEvent {
  readonly id: number;
  readonly at: number;
}

interface EventEntry extends ScheduledEvent {
  sequence: number;
  action: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private currentTime: number;
  private nextId = 1;
  private nextSequence = 0;
  /** Binary min-heap ordered by (at, sequence). */
  private heap: EventEntry[] = [];
  private byId = new Map<number, EventEntry>();
  private pendingReal = 0;
  private realWaiters: Array<() => void> = [];
  /** Called whenever a piece of real work finishes (a fleet shard watches many clocks at once with it). */
  onRealWorkFinished: (() => void) | null = null;

  constructor(startMilliseconds = 0) {
    this.currentTime = startMilliseconds;
  }

  /** Current virtual time in milliseconds (fractional values allowed: a UART byte at 115200 baud is 0.087 ms). */
  now(): number {
    return this.currentTime;
  }

  /** Run `action` at `now() + delay` (delay < 0 is treated as 0). Returns an id for `cancel`. */
  schedule(delay: number, action: () => void): number {
    return this.scheduleAt(this.currentTime + Math.max(0, delay), action);
  }

  scheduleAt(at: number, action: () => void): number {
    const entry: EventEntry = {
      id: this.nextId++,
      at: Math.max(at, this.currentTime),
      sequence: this.nextSequence++,
      action,
      cancelled: false,
    };
    this.push(entry);
    this.byId.set(entry.id, entry);
    return entry.id;
  }

  cancel(id: number): void {
    const entry = this.byId.get(id);
    if (entry) {
      entry.cancelled = true;
      this.byId.delete(id);
    }
  }

  /** Time of the next pending event, or undefined when none is scheduled. */
  nextEventTime(): number | undefined {
    this.dropCancelledHead();
    return this.heap.length > 0 ? this.heap[0]!.at : undefined;
  }

  pendingEvents(): number {
    return this.byId.size;
  }

  /** Run every event due up to and including `time`, then set the clock to `time`. Returns events run. */
  runUntil(time: number): number {
    let ran = 0;
    for (;;) {
      this.dropCancelledHead();
      const head = this.heap[0];
      if (!head || head.at > time) break;
      this.pop();
      this.byId.delete(head.id);
      this.currentTime = head.at;
      head.action();
      ran++;
    }
    if (time > this.currentTime) this.currentTime = time;
    return ran;
  }

  advance(milliseconds: number): number {
    return this.runUntil(this.currentTime + milliseconds);
  }

  /** Run events until none is left or `limit` virtual ms have passed. Returns events run. */
  runUntilIdle(limit = Number.POSITIVE_INFINITY): number {
    const end = this.currentTime + limit;
    let ran = 0;
    for (;;) {
      const next = this.nextEventTime();
      if (next === undefined || next > end) break;
      ran += this.runUntil(next);
    }
    return ran;
  }

  /**
   * Mark real-world work in flight (a UDP exchange with a real process). While any is pending,
   * `runWithRealIo` yields to Node's event loop instead of jumping virtual time past it.
   * Returns a function to call once the real work is finished.
   */
  beginRealWork(): () => void {
    this.pendingReal++;
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      this.pendingReal--;
      this.onRealWorkFinished?.();
      const waiters = this.realWaiters;
      this.realWaiters = [];
      for (const wake of waiters) wake();
    };
  }

  realWorkPending(): number {
    return this.pendingReal;
  }

  /**
   * Advance virtual time to `time`, pausing (in real time) whenever real work is pending so that
   * replies from real sockets arrive before virtual time moves on. `realTimeoutMs` bounds each pause;
   * after it, virtual time continues (as if the datagram was lost).
   */
  async runWithRealIo(time: number, realTimeoutMs = 2000): Promise<void> {
    for (;;) {
      let gaveUp = false;
      if (this.pendingReal > 0) gaveUp = !(await this.waitForReal(realTimeoutMs));
      const next = this.nextEventTime();
      if (next === undefined || next > time) {
        if (this.pendingReal > 0 && !gaveUp) continue;
        this.runUntil(time);
        return;
      }
      this.runUntil(next);
      // Let I/O callbacks started by the event we just ran reach us before time moves on.
      if (this.pendingReal > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves true when pending real work finished, false when `realTimeoutMs` passed first. */
  private waitForReal(realTimeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = this.realWaiters.indexOf(done);
        if (index >= 0) this.realWaiters.splice(index, 1);
        resolve(false);
      }, realTimeoutMs);
      this.realWaiters.push(done);
    });
  }

  // Sift with a hole instead of swapping pairs: a destructuring swap allocates, and this runs for every event.
  private push(entry: EventEntry): void {
    const heap = this.heap;
    let index = heap.length;
    heap.push(entry);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!(entry.at < parent.at || (entry.at === parent.at && entry.sequence < parent.sequence))) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = entry;
  }

  private pop(): EventEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    const length = heap.length;
    if (length > 0 && last) {
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        if (left >= length) break;
        const right = left + 1;
        let child = left;
        let smallest = heap[left]!;
        if (right < length) {
          const other = heap[right]!;
          if (other.at < smallest.at || (other.at === smallest.at && other.sequence < smallest.sequence)) {
            child = right;
            smallest = other;
          }
        }
        if (!(smallest.at < last.at || (smallest.at === last.at && smallest.sequence < last.sequence))) break;
        heap[index] = smallest;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }
}
