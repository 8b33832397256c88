/**
 * The terminal's battery: a capacity drained by everything the board and its models draw while it is the
 * active power source, an open-circuit-voltage curve by state of charge, an internal resistance (the terminal
 * voltage sags under load), charging while mains is present, and a cut-off below which the board browns out.
 * The battery-sense ADC pin sees the terminal voltage through the board's divider.
 *
 * Curves are typical shapes, not a particular cell: Li-ion 18650 (3.0 V empty .. 4.2 V full) and Li-SOCl2
 * bobbin cells (flat ~3.6 V, falling steeply at the end of life).
 */
import type { PowerSource, VirtualBoard } from '../board';

const curves = {
  'li-ion': [
    [0, 3.0], [0.05, 3.45], [0.1, 3.6], [0.2, 3.7], [0.4, 3.78], [0.6, 3.88], [0.8, 4.0], [1, 4.2],
  ],
  lisocl2: [
    [0, 2.8], [0.03, 3.2], [0.1, 3.5], [0.3, 3.6], [1, 3.67],
  ],
} as const;

export interface BatteryOptions {
  capacityMilliampHours?: number;
  chemistry?: keyof typeof curves;
  stateOfCharge?: number;
  /** Below this terminal voltage the board browns out. Default 3.3 V (3.3 V LDO dropout) for Li-ion, 3.0 V otherwise. */
  cutoffVolts?: number;
  internalResistanceOhms?: number;
  /** Charge current while mains is present (0: no charger). Default 0.5 × capacity per hour. */
  chargeMilliamps?: number;
  /** How often virtual time checks for brown-out while discharging. Default 60 s. */
  checkIntervalMs?: number;
}

export class Battery implements PowerSource {
  readonly name = 'battery';
  readonly capacity: number;
  /** Remaining charge, mAh. */
  remaining: number;
  /** Everything drawn from the battery, mAh. */
  drawn = 0;
  private depleted = false;
  private lastUpdate: number;
  private readonly curve: ReadonlyArray<readonly [number, number]>;
  private readonly cutoff: number;
  private readonly resistance: number;
  private readonly chargeRate: number;

  constructor(
    private readonly board: VirtualBoard,
    options: BatteryOptions = {},
  ) {
    this.capacity = options.capacityMilliampHours ?? 2000;
    const chemistry = options.chemistry ?? 'li-ion';
    this.curve = curves[chemistry];
    this.remaining = this.capacity * Math.min(1, Math.max(0, options.stateOfCharge ?? 1));
    this.cutoff = options.cutoffVolts ?? (chemistry === 'li-ion' ? 3.3 : 3.0);
    this.resistance = options.internalResistanceOhms ?? 0.15;
    this.chargeRate = options.chargeMilliamps ?? this.capacity * 0.5;
    this.lastUpdate = board.clock.now();
    const battery = board.definition.battery;
    if (battery) board.gpio.setVoltage(battery.pin, () => this.terminalVolts() / battery.dividerRatio);
    board.addPowerSource(this);
    const interval = options.checkIntervalMs ?? 60_000;
    const check = (): void => {
      this.update();
      board.clock.schedule(interval, check);
    };
    board.clock.schedule(interval, check);
  }

  available(): boolean {
    return !this.depleted;
  }

  drain(milliampMilliseconds: number): void {
    const milliampHours = milliampMilliseconds / 3_600_000;
    this.drawn += milliampHours;
    this.remaining = Math.max(0, this.remaining - milliampHours);
  }

  stateOfCharge(): number {
    return this.remaining / this.capacity;
  }

  openCircuitVolts(): number {
    const soc = this.stateOfCharge();
    const curve = this.curve;
    for (let index = 1; index < curve.length; index++) {
      const upper = curve[index]!;
      const x1 = upper[0];
      if (soc <= x1) {
        const lower = curve[index - 1]!;
        const x0 = lower[0];
        const y0 = lower[1];
        return y0 + ((upper[1] - y0) * (soc - x0)) / (x1 - x0);
      }
    }
    return curve[curve.length - 1]![1];
  }

  /** Voltage at the terminals under the board's present load. */
  terminalVolts(): number {
    const load = this.charging() ? 0 : this.board.energy.totalCurrent();
    return Math.max(0, this.openCircuitVolts() - (load / 1000) * this.resistance);
  }

  /** Bring the charge up to date (charging from mains, draining through the energy meter) and brown out if empty. */
  update(): void {
    this.board.energy.integrate();
    const now = this.board.clock.now();
    if (this.charging()) {
      this.remaining = Math.min(this.capacity, this.remaining + (this.chargeRate * (now - this.lastUpdate)) / 3_600_000);
    }
    this.lastUpdate = now;
    const wasDepleted = this.depleted;
    if (!this.depleted && this.terminalVolts() < this.cutoff) this.depleted = true;
    else if (this.depleted && this.openCircuitVolts() > this.cutoff + 0.1) this.depleted = false;
    if (wasDepleted !== this.depleted) this.board.powerChanged();
  }

  private charging(): boolean {
    return this.chargeRate > 0 && this.board.sourcesAvailable().some((source) => source !== this && source.available());
  }
}
