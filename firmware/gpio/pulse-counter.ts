/**
 * A pulse counter on a digital input (water, gas or electricity meter pulse outputs): debounced, and kept
 * across reboots and power cuts by a CounterStore.
 *
 * The count is saved every `saveEvery` pulses, and `saveInterval` ms after the first unsaved pulse, and at
 * once by `flush()`; `powerFailing()` (wired to the AC-sense input) flushes and then saves every pulse for a
 * short window. Loss bound: a power cut loses at most the pulses not yet saved, which is at most `saveEvery`
 * (the pulse that triggers a save is the one at risk if the cut tears that save); a cut announced by the
 * AC-sense input loses none. Flash wear: one 12-byte record per save, one file re-creation per
 * `recordsPerFile` saves, never an erase or compaction triggered by the counter itself.
 */
import type { Clock, DigitalInput, Storage } from '../../hal/interfaces';
import { CounterStore } from './counter-store';
import { Debouncer } from './debounce';

export interface PulseCounterOptions {
  /** Name of the counter (Storage files `<storageName>.a/.b`, at most 25 characters). */
  name: string;
  /** Which settled transition counts: 'falling' for an open-collector output pulled up (the default). */
  edge?: 'falling' | 'rising';
  /** Debounce in ms (default 10). */
  debounce?: number;
  /** Save after this many unsaved pulses (default 10). */
  saveEvery?: number;
  /** Save this long after the first unsaved pulse, ms (default 60000). */
  saveInterval?: number;
  /** Engineering units per pulse (e.g. 10 L), for `value()`. Default 1. */
  unitPerPulse?: number;
  unit?: string;
  /** Records per ring file (default 170, 2040 bytes a file). */
  recordsPerFile?: number;
  /** Storage name prefix; default 'pc.' + name. */
  storageName?: string;
}

export class PulseCounter {
  readonly name: string;
  readonly unit: string | undefined;
  private readonly store: CounterStore;
  private readonly debouncer: Debouncer;
  private readonly saveEvery: number;
  private readonly saveInterval: number;
  private readonly unitPerPulse: number;
  private total = 0;
  private saved = 0;
  private saveTimer: number | null = null;
  /** Until this Clock time every pulse is saved at once (the supply is going). */
  private saveEachPulseUntil = -1;
  /** Pulses counted since this boot, and saves that failed (Storage full). */
  readonly statistics = { pulsesSinceBoot: 0, saveFailures: 0, restoredCount: 0 };
  lastError: string | null = null;

  constructor(
    input: DigitalInput,
    storage: Storage,
    private readonly clock: Clock,
    options: PulseCounterOptions,
  ) {
    this.name = options.name;
    this.unit = options.unit;
    this.saveEvery = options.saveEvery || 10;
    this.saveInterval = options.saveInterval === undefined ? 60000 : options.saveInterval;
    this.unitPerPulse = options.unitPerPulse === undefined ? 1 : options.unitPerPulse;
    this.store = new CounterStore(storage, options.storageName || 'pc.' + options.name, options.recordsPerFile);
    const countOn = options.edge === 'rising';
    this.debouncer = new Debouncer(input, clock, options.debounce === undefined ? 10 : options.debounce, (level) => {
      if (level === countOn) this.onPulse();
    });
  }

  /** Restore the saved count and start counting. */
  start(): number {
    this.total = this.store.load().count;
    this.saved = this.total;
    this.statistics.restoredCount = this.total;
    this.debouncer.start();
    return this.total;
  }

  stop(): void {
    this.flush();
    this.debouncer.stop();
  }

  count(): number {
    return this.total;
  }

  /** Count times unit per pulse. */
  value(): number {
    return this.total * this.unitPerPulse;
  }

  /** Pulses not yet in flash. */
  unsaved(): number {
    return this.total - this.saved;
  }

  /** Set the count (meter replaced, or aligned with the meter's register). Saved at once. */
  set(count: number): void {
    this.total = count;
    this.flush();
  }

  /**
   * Mains is failing: save now, and save every pulse for `window` ms (default 10 s), the time the hold-up
   * capacitors (or a dying battery) may still run the MCU. After that, if the board still runs, it is on its
   * battery and the normal policy resumes, so a long battery period does not wear the flash.
   */
  powerFailing(window?: number): void {
    this.saveEachPulseUntil = this.clock.now() + (window === undefined ? 10000 : window);
    this.flush();
  }

  /** Save now if anything is unsaved (AC loss, before a planned reboot). */
  flush(): void {
    if (this.saveTimer !== null) this.clock.clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.total === this.saved) return;
    try {
      this.store.save(this.total);
      this.saved = this.total;
    } catch (error) {
      this.statistics.saveFailures++;
      this.lastError = String(error);
    }
  }

  storeStatistics(): { writes: number; fileCreations: number; fileBytes: number } {
    return { writes: this.store.writes, fileCreations: this.store.fileCreations, fileBytes: this.store.fileBytes };
  }

  private onPulse(): void {
    this.total++;
    this.statistics.pulsesSinceBoot++;
    if (this.total - this.saved >= this.saveEvery || this.clock.now() < this.saveEachPulseUntil) {
      this.flush();
    } else if (this.saveTimer === null && this.saveInterval > 0) {
      this.saveTimer = this.clock.setTimeout(() => {
        this.saveTimer = null;
        this.flush();
      }, this.saveInterval);
    }
  }
}
