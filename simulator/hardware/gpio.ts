/**
 * The board's GPIO: per pin the MCU's mode and output latch, what the outside world drives onto it (a switch,
 * a pulse source, the AC-sense circuit) and an analog voltage for the ADC. Anything can listen for level
 * changes: the virtual board's setWatch, and models watching an MCU output (a relay coil, the modem power key).
 */
import type { VirtualClock } from '../clock';

export type PinMode =
  | 'input'
  | 'input_pullup'
  | 'input_pulldown'
  | 'output'
  | 'opendrain'
  | 'opendrain_pullup'
  | 'analog'
  | 'af_output'
  | 'af_opendrain';

export const pinModes: readonly PinMode[] = [
  'input', 'input_pullup', 'input_pulldown', 'output', 'opendrain', 'opendrain_pullup', 'analog', 'af_output', 'af_opendrain',
];

export type LevelListener = (level: boolean, time: number) => void;

interface PinState {
  mode: PinMode;
  /** True once pinMode() set the mode explicitly: digitalRead/digitalWrite then leave it alone. */
  manual: boolean;
  latch: boolean;
  external: boolean | null;
  voltage: (() => number) | null;
  level: boolean;
  listeners: LevelListener[];
}

export class Gpio {
  private readonly pins = new Map<string, PinState>();

  constructor(
    private readonly clock: VirtualClock,
    names: readonly string[],
    /** ADC full-scale voltage: analogRead() gives volts / reference. */
    readonly adcReference: number,
  ) {
    for (const name of names) {
      this.pins.set(name, { mode: 'input', manual: false, latch: false, external: null, voltage: null, level: false, listeners: [] });
    }
  }

  has(pin: string): boolean {
    return this.pins.has(pin);
  }

  names(): string[] {
    return [...this.pins.keys()];
  }

  mode(pin: string): PinMode {
    return this.state(pin).mode;
  }

  isManual(pin: string): boolean {
    return this.state(pin).manual;
  }

  setMode(pin: string, mode: PinMode, manual: boolean): void {
    const state = this.state(pin);
    state.mode = mode;
    state.manual = manual;
    this.update(pin, state);
  }

  /** The MCU writes its output latch (the level shows on the pin only in an output mode). */
  write(pin: string, level: boolean): void {
    const state = this.state(pin);
    state.latch = level;
    this.update(pin, state);
  }

  /** What the pin reads as now. */
  read(pin: string): boolean {
    return this.state(pin).level;
  }

  /** The level the MCU drives, or null while the pin is not an output (for models on MCU outputs). */
  driven(pin: string): boolean | null {
    const state = this.state(pin);
    if (state.mode === 'output' || state.mode === 'af_output') return state.latch;
    if (state.mode === 'opendrain' || state.mode === 'opendrain_pullup' || state.mode === 'af_opendrain') return state.latch ? null : false;
    return null;
  }

  /** A model drives the pin from outside (`null` releases it: pulls decide again). */
  drive(pin: string, level: boolean | null): void {
    const state = this.state(pin);
    state.external = level;
    this.update(pin, state);
  }

  /** A model puts an analog voltage on the pin, read lazily (a battery's voltage changes as it drains). */
  setVoltage(pin: string, volts: number | (() => number) | null): void {
    const state = this.state(pin);
    state.voltage = volts === null ? null : typeof volts === 'number' ? () => volts : volts;
  }

  /** analogRead(): the pin's voltage as a fraction of the ADC reference, clamped to 0..1. */
  analogRead(pin: string): number {
    const state = this.state(pin);
    const volts = state.voltage ? state.voltage() : state.level ? this.adcReference : 0;
    return Math.min(1, Math.max(0, volts / this.adcReference));
  }

  onChange(pin: string, listener: LevelListener): () => void {
    const state = this.state(pin);
    state.listeners.push(listener);
    return () => {
      const index = state.listeners.indexOf(listener);
      if (index >= 0) state.listeners.splice(index, 1);
    };
  }

  /** An MCU reset: every pin back to a floating input with a cleared latch (what models drive stays). */
  resetMcuSide(): void {
    for (const [pin, state] of this.pins) {
      state.mode = 'input';
      state.manual = false;
      state.latch = false;
      this.update(pin, state);
    }
  }

  private state(pin: string): PinState {
    const state = this.pins.get(pin);
    if (!state) throw new Error(`no pin ${pin} on this board`);
    return state;
  }

  private compute(state: PinState): boolean {
    switch (state.mode) {
      case 'output':
      case 'af_output':
        return state.latch;
      case 'opendrain':
      case 'opendrain_pullup':
      case 'af_opendrain':
        return state.latch ? (state.external ?? true) : false;
      case 'analog':
        return false;
      case 'input_pullup':
        return state.external ?? true;
      case 'input_pulldown':
        return state.external ?? false;
      default:
        return state.external ?? false;
    }
  }

  private update(pin: string, state: PinState): void {
    const level = this.compute(state);
    if (level === state.level) return;
    state.level = level;
    const time = this.clock.now();
    for (const listener of state.listeners.slice()) listener(level, time);
    void pin;
  }
}
