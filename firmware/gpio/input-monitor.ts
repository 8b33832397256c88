/**
 * Digital inputs that raise events on change (tamper switch, door contact, alarm contact): debounced, with
 * the active level configurable, so `active` means "tamper open" / "door open" whatever the wiring.
 */
import type { Clock, DigitalInput } from '../../hal/interfaces';
import { Debouncer } from './debounce';

export interface InputEvent {
  input: string;
  /** True when the input is at its active level. */
  active: boolean;
  time: number;
}

export interface InputMonitorOptions {
  name: string;
  /** Level that means "active" (default 'low': a contact to ground against a pull-up). */
  activeLevel?: 'low' | 'high';
  /** Debounce, ms (default 50: door and tamper contacts bounce longer than meter reed switches). */
  debounce?: number;
}

export class InputMonitor {
  readonly name: string;
  private readonly debouncer: Debouncer;
  private readonly activeHigh: boolean;
  /** Debounced changes since start. */
  changes = 0;

  constructor(
    input: DigitalInput,
    clock: Clock,
    options: InputMonitorOptions,
    private readonly onEvent: (event: InputEvent) => void,
  ) {
    this.name = options.name;
    this.activeHigh = options.activeLevel === 'high';
    this.debouncer = new Debouncer(input, clock, options.debounce === undefined ? 50 : options.debounce, (level, time) => {
      this.changes++;
      this.onEvent({ input: this.name, active: level === this.activeHigh, time });
    });
  }

  start(): void {
    this.debouncer.start();
  }

  stop(): void {
    this.debouncer.stop();
  }

  active(): boolean {
    return this.debouncer.level() === this.activeHigh;
  }
}
