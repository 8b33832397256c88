/**
 * A relay driven by an MCU output (through a transistor): the coil is energized while the pin is driven to
 * its active level; the contact follows after the operate/release time. The coil current is reported to the
 * board's energy meter (a 5 V signal relay on a 3.3 V driver draws about 30-40 mA).
 */
import type { VirtualClock } from '../clock';
import type { EnergyMeter } from '../hardware/energy';
import type { Gpio } from '../hardware/gpio';

export interface RelayOptions {
  pin: string;
  activeLevel?: 'high' | 'low';
  coilMilliamps?: number;
  operateMs?: number;
  name?: string;
}

export class Relay {
  contactClosed = false;
  operations = 0;
  readonly history: Array<{ closed: boolean; time: number }> = [];
  private readonly name: string;

  constructor(
    private readonly clock: VirtualClock,
    private readonly gpio: Gpio,
    private readonly options: RelayOptions,
    private readonly energy: EnergyMeter | null = null,
  ) {
    this.name = options.name ?? `relay@${options.pin}`;
    gpio.onChange(options.pin, () => this.update());
    this.update();
  }

  get energized(): boolean {
    const level = this.gpio.driven(this.options.pin);
    return level !== null && level === ((this.options.activeLevel ?? 'high') === 'high');
  }

  private update(): void {
    const energized = this.energized;
    this.energy?.setCurrent(this.name, energized ? (this.options.coilMilliamps ?? 35) : 0);
    this.clock.schedule(this.options.operateMs ?? 8, () => {
      const now = this.energized;
      if (now === this.contactClosed) return;
      this.contactClosed = now;
      this.operations++;
      this.history.push({ closed: now, time: this.clock.now() });
    });
  }
}
