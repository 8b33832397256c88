/**
 * GPIO and ADC over digitalRead/digitalWrite/pinMode/setWatch/analogRead. Pins are Espruino pin names.
 */
import { HalError, type AnalogInput, type DigitalInput, type DigitalInputOptions, type DigitalOutput, type Edge } from '../interfaces';
import type { EspruinoApi, EspruinoWatchEvent } from './api';
import type { EspruinoClock } from './clock';

export interface DigitalInputSettings extends DigitalInputOptions {
  /** Logical level true while the pin is low (the hal inverts reads and swaps watched edges). */
  activeLow?: boolean;
}

export class EspruinoDigitalInput implements DigitalInput {
  private readonly activeLow: boolean;
  private readonly debounce: number;

  constructor(
    private readonly api: EspruinoApi,
    private readonly clock: EspruinoClock,
    readonly pin: string,
    settings?: DigitalInputSettings,
  ) {
    const options = settings || {};
    const pull = options.pull || 'none';
    if (pull !== 'up' && pull !== 'down' && pull !== 'none') throw new HalError('invalid-argument', pin, "pull must be 'up', 'down' or 'none'");
    const debounce = options.debounce || 0;
    if (typeof debounce !== 'number' || !(debounce >= 0 && debounce <= 10000)) throw new HalError('invalid-argument', pin, 'debounce must be 0..10000 ms');
    this.debounce = debounce;
    this.activeLow = !!options.activeLow;
    api.pinMode(pin, pull === 'up' ? 'input_pullup' : pull === 'down' ? 'input_pulldown' : 'input');
  }

  read(): boolean {
    return !!this.api.digitalRead(this.pin) !== this.activeLow;
  }

  watch(edge: Edge, handler: (level: boolean, time: number) => void): () => void {
    if (edge !== 'rising' && edge !== 'falling' && edge !== 'both') throw new HalError('invalid-argument', this.pin, "edge must be 'rising', 'falling' or 'both'");
    if (typeof handler !== 'function') throw new HalError('invalid-argument', this.pin, 'watch handler must be a function');
    const physicalEdge = !this.activeLow || edge === 'both' ? edge : edge === 'rising' ? 'falling' : 'rising';
    const activeLow = this.activeLow;
    const clock = this.clock;
    const api = this.api;
    let id: number | null = api.setWatch(
      function (event: EspruinoWatchEvent) {
        handler(event.state !== activeLow, clock.fromEspruinoTime(event.time));
      },
      this.pin,
      { repeat: true, edge: physicalEdge, debounce: this.debounce },
    );
    return function remove(): void {
      // clearWatch() without an id removes every watch: only ever pass our own.
      if (id === null) return;
      api.clearWatch(id);
      id = null;
    };
  }
}

export class EspruinoDigitalOutput implements DigitalOutput {
  private level: boolean;

  constructor(
    private readonly api: EspruinoApi,
    readonly pin: string,
    initial: boolean,
    private readonly activeLow = false,
  ) {
    api.pinMode(pin, 'output');
    this.level = !!initial;
    this.apply();
  }

  write(level: boolean): void {
    if (typeof level !== 'boolean') throw new HalError('invalid-argument', this.pin, 'level must be a boolean');
    this.level = level;
    this.apply();
  }

  read(): boolean {
    return this.level;
  }

  private apply(): void {
    this.api.digitalWrite(this.pin, this.level !== this.activeLow ? 1 : 0);
  }
}

export class EspruinoAnalogInput implements AnalogInput {
  constructor(
    private readonly api: EspruinoApi,
    readonly pin: string,
  ) {
    api.pinMode(pin, 'analog');
  }

  read(): number {
    const value = this.api.analogRead(this.pin);
    if (typeof value !== 'number' || value !== value) throw new HalError('io', this.pin, 'analogRead gave no number');
    return value < 0 ? 0 : value > 1 ? 1 : value;
  }
}
