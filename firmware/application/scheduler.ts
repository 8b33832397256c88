/**
 * The sampling schedule. Each source is sampled on its own interval (times the policy's factor on battery),
 * aligned to the interval (15-minute readings at :00, :15, ... once the wall time is known; by uptime before).
 * Sources due together form a round; when the round has finished (or its time limit passed) the hooks decide
 * whether an uplink is due. The status report has a schedule of its own. One timer drives everything.
 */
import type { Clock } from '../../hal/interfaces';
import type { Source } from './sources';
import type { TimeKeeper } from './time-keeper';

export interface SchedulerHooks {
  /** A source produced values (journal them). */
  sampled(source: Source, values: number[]): void;
  failed(source: Source, problem: string): void;
  /** A round begins (battery check) and ends (send if due). */
  roundStarted(): void;
  roundFinished(): void;
  /** The status report is due. */
  statusDue(): void;
  /** The regular uplink is due (checked after each round and on its own schedule). */
  sendDue(): void;
  /** Hold / release the MCU awake (UART answers expected). */
  hold(holder: string): void;
  release(holder: string): void;
}

interface SourceState {
  source: Source;
  /** Next due time on the reference clock, ms. */
  due: number;
  busy: boolean;
}

const roundLimitMilliseconds = 60000;

export class Scheduler {
  private states: SourceState[] = [];
  private timer: number | null = null;
  private running = false;
  private factor = 1;
  private sendInterval = 900000;
  private statusInterval = 21600000;
  private nextSend = 0;
  private nextStatus = 0;
  private pending = 0;
  private roundTimer: number | null = null;
  /** Reference clock in use: true = wall time (aligned to the calendar), false = uptime. */
  private wallReference = false;
  /** Clock time the running round started, or -1. */
  roundStartedAt = -1;
  rounds = 0;
  overruns = 0;

  constructor(
    private readonly clock: Clock,
    private readonly time: TimeKeeper,
    private readonly hooks: SchedulerHooks,
  ) {}

  start(sources: Source[], factor: number, sendInterval: number, statusInterval: number): void {
    this.stop();
    this.running = true;
    this.factor = factor;
    this.sendInterval = sendInterval;
    this.statusInterval = statusInterval;
    this.states = [];
    for (let index = 0; index < sources.length; index++) this.states.push({ source: sources[index], due: 0, busy: false });
    this.realign();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** New intervals (policy change); the sources keep running. */
  setPolicy(factor: number, sendInterval: number): void {
    this.factor = factor;
    this.sendInterval = sendInterval;
    if (this.running) this.realign();
  }

  /** Recompute every due time (at start, on a policy change, when the wall time became known or jumped). */
  realign(): void {
    const now = this.reference();
    for (let index = 0; index < this.states.length; index++) {
      this.states[index].due = this.aligned(now, this.states[index].source.interval * this.factor);
    }
    this.nextSend = this.aligned(now, this.sendInterval);
    this.nextStatus = this.aligned(now, this.statusInterval);
    this.arm();
  }

  /** Sample these sources (all when `names` is empty) now, outside the schedule ("read now"). */
  sampleNow(names: string[]): number {
    const due: SourceState[] = [];
    for (let index = 0; index < this.states.length; index++) {
      const state = this.states[index];
      if (names.length === 0 || names.indexOf(state.source.name) >= 0) due.push(state);
    }
    this.runRound(due);
    return due.length;
  }

  busy(): boolean {
    return this.pending > 0;
  }

  private reference(): number {
    this.wallReference = this.time.known();
    return this.wallReference ? this.clock.wallTime() : this.clock.now();
  }

  /** The next multiple of `interval` after `now`. */
  private aligned(now: number, interval: number): number {
    return (Math.floor(now / interval) + 1) * interval;
  }

  private arm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (!this.running) return;
    // While a round runs, its end checks the uplink: the send time must not fire in the middle of it.
    let next = this.nextSend < this.nextStatus && this.pending === 0 ? this.nextSend : this.nextStatus;
    for (let index = 0; index < this.states.length; index++) if (this.states[index].due < next) next = this.states[index].due;
    const delay = next - this.reference();
    this.timer = this.clock.setTimeout(() => this.onTimer(), delay > 0 ? (delay < 2000000000 ? delay : 2000000000) : 0);
  }

  private onTimer(): void {
    this.timer = null;
    if (!this.running) return;
    // The wall time became known (or was set) since the timer was armed: the calendar is the reference now.
    if (this.wallReference !== this.time.known()) {
      this.realign();
      return;
    }
    const now = this.reference();
    if (now >= this.nextStatus) {
      this.nextStatus = this.aligned(now, this.statusInterval);
      this.hooks.statusDue();
    }
    const due: SourceState[] = [];
    for (let index = 0; index < this.states.length; index++) {
      const state = this.states[index];
      if (now < state.due) continue;
      state.due = this.aligned(now, state.source.interval * this.factor);
      due.push(state);
    }
    if (due.length > 0) this.runRound(due);
    else this.checkSend();
    this.arm();
  }

  private checkSend(): void {
    if (this.pending > 0) return;
    const now = this.reference();
    if (now < this.nextSend) return;
    this.nextSend = this.aligned(now, this.sendInterval);
    this.hooks.sendDue();
  }

  private runRound(due: SourceState[]): void {
    if (this.pending === 0) {
      this.rounds++;
      this.roundStartedAt = this.clock.now();
      this.hooks.roundStarted();
      this.roundTimer = this.clock.setTimeout(() => {
        this.roundTimer = null;
        if (this.pending > 0) this.finishRound();
      }, roundLimitMilliseconds);
    }
    for (let index = 0; index < due.length; index++) {
      const state = due[index];
      if (state.busy) {
        this.overruns++;
        continue;
      }
      this.sampleOne(state);
    }
    if (this.pending === 0) this.finishRound();
  }

  private sampleOne(state: SourceState): void {
    const source = state.source;
    const holder = 'sample:' + source.name;
    state.busy = true;
    this.pending++;
    if (source.usesUart) this.hooks.hold(holder);
    let finished = false;
    source.sample((values, problem) => {
      if (finished) return;
      finished = true;
      state.busy = false;
      if (source.usesUart) this.hooks.release(holder);
      if (values) this.hooks.sampled(source, values);
      else this.hooks.failed(source, problem || 'failed');
      if (this.pending > 0) {
        this.pending--;
        if (this.pending === 0) this.finishRound();
      }
    });
  }

  private finishRound(): void {
    this.pending = 0;
    this.roundStartedAt = -1;
    if (this.roundTimer !== null) this.clock.clearTimeout(this.roundTimer);
    this.roundTimer = null;
    this.hooks.roundFinished();
    if (!this.running) return;
    this.checkSend();
    this.arm();
  }
}
