/**
 * Energy accounting. Every consumer (the MCU, the modem model, sensors, the relay coil) has a current that
 * changes at discrete instants; the meter integrates lazily, so a day of sleep costs nothing to simulate.
 *
 * The MCU's current follows its power mode: awake for a short while around each event it handles and while a
 * UART shifts bytes, otherwise asleep, in deep sleep when allowed (setDeepSleep(1) on STM32, always on nRF52).
 */
import type { VirtualClock } from '../clock';
import type { McuModel } from './mcu';

export interface McuTimes {
  /** Virtual ms spent executing (or shifting UART bytes). */
  active: number;
  /** Asleep with clocks running (STM32 sleep; nRF52 with a UART set up). */
  sleep: number;
  deepSleep: number;
}

export class McuPower {
  private awakeUntil = 0;
  private lastAccounted: number;
  private deepSleep = false;
  private uart = false;
  private powered = true;
  readonly times: McuTimes = { active: 0, sleep: 0, deepSleep: 0 };
  /** The meter integrates up to now before any change of mode (set by EnergyMeter). */
  beforeChange: (() => void) | null = null;

  constructor(
    private readonly clock: VirtualClock,
    readonly mcu: McuModel,
  ) {
    this.lastAccounted = clock.now();
  }

  get deepSleepAllowed(): boolean {
    return this.deepSleep;
  }

  set deepSleepAllowed(allowed: boolean) {
    this.beforeChange?.();
    this.deepSleep = allowed;
  }

  /** True while any UART of the board is set up (keeps the nRF52's high-speed clock running). */
  get uartActive(): boolean {
    return this.uart;
  }

  set uartActive(active: boolean) {
    this.beforeChange?.();
    this.uart = active;
  }

  /** False while the board has no power: the MCU draws nothing. */
  get running(): boolean {
    return this.powered;
  }

  set running(running: boolean) {
    this.beforeChange?.();
    this.powered = running;
    if (!running) this.awakeUntil = 0;
  }

  /** The MCU is busy from now for `milliseconds` (merged with any busy period already running). */
  noteActivity(milliseconds: number): void {
    this.beforeChange?.();
    const now = this.clock.now();
    this.awakeUntil = Math.max(this.awakeUntil, now) + milliseconds;
  }

  /** True when the MCU is in its deepest mode right now (an STM32 in stop mode receives no UART data). */
  inDeepSleep(): boolean {
    return this.running && this.clock.now() >= this.awakeUntil && this.deepSleepEffective();
  }

  awake(): boolean {
    return this.running && this.clock.now() < this.awakeUntil;
  }

  private deepSleepEffective(): boolean {
    return this.mcu.sleepsDeeplyByItself || this.deepSleep;
  }

  private sleepCurrent(): { current: number; bucket: 'sleep' | 'deepSleep' } {
    const currents = this.mcu.currents;
    if (this.mcu.sleepsDeeplyByItself) {
      return this.uart && currents.sleepWithUart !== undefined ? { current: currents.sleepWithUart, bucket: 'sleep' } : { current: currents.deepSleep, bucket: 'deepSleep' };
    }
    return this.deepSleep ? { current: currents.deepSleep, bucket: 'deepSleep' } : { current: currents.sleep, bucket: 'sleep' };
  }

  /** The MCU's supply current right now, mA. */
  currentNow(): number {
    if (!this.powered) return 0;
    return this.awake() ? this.mcu.currents.run : this.sleepCurrent().current;
  }

  /** Integrate up to now; returns the charge drawn since the last call, in mA·ms. */
  account(): number {
    const now = this.clock.now();
    const start = this.lastAccounted;
    this.lastAccounted = now;
    if (now <= start || !this.powered) return 0;
    const awakeEnd = Math.min(now, Math.max(start, this.awakeUntil));
    const active = awakeEnd - start;
    const asleep = now - awakeEnd;
    const sleep = this.sleepCurrent();
    this.times.active += active;
    this.times[sleep.bucket] += asleep;
    return active * this.mcu.currents.run + asleep * sleep.current;
  }
}

export interface EnergyReport {
  /** Charge drawn per consumer, mAh. */
  consumers: Record<string, number>;
  totalMilliampHours: number;
  mcu: McuTimes;
  /** Fraction of the accounted time the MCU spent in deep sleep. */
  deepSleepFraction: number;
}

export class EnergyMeter {
  private readonly currents = new Map<string, number>();
  /** Integrated charge per consumer, mA·ms. */
  private readonly charge = new Map<string, number>();
  private lastIntegrated: number;
  /** Called with every slice of charge drawn (mA·ms) so the power path can take it from the battery. */
  onDrain: ((milliampMilliseconds: number) => void) | null = null;

  constructor(
    private readonly clock: VirtualClock,
    readonly mcu: McuPower,
  ) {
    this.lastIntegrated = clock.now();
    mcu.beforeChange = () => this.integrate();
  }

  /** A model reports its supply current (mA) from now on. */
  setCurrent(consumer: string, milliamps: number): void {
    if (!(milliamps >= 0) || !Number.isFinite(milliamps)) throw new Error(`current of ${consumer} must be >= 0 mA, got ${milliamps}`);
    this.integrate();
    if (milliamps === 0) this.currents.delete(consumer);
    else this.currents.set(consumer, milliamps);
  }

  /** Total current right now (MCU at its present mode), mA. */
  totalCurrent(): number {
    let total = 0;
    for (const value of this.currents.values()) total += value;
    return total + this.mcu.currentNow();
  }

  /** Bring every integral up to now. */
  integrate(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastIntegrated;
    this.lastIntegrated = now;
    let drained = 0;
    if (elapsed > 0) {
      for (const [consumer, milliamps] of this.currents) {
        const slice = milliamps * elapsed;
        this.charge.set(consumer, (this.charge.get(consumer) ?? 0) + slice);
        drained += slice;
      }
    }
    const mcuSlice = this.mcu.account();
    if (mcuSlice > 0) {
      this.charge.set('mcu', (this.charge.get('mcu') ?? 0) + mcuSlice);
      drained += mcuSlice;
    }
    if (drained > 0) this.onDrain?.(drained);
  }

  report(): EnergyReport {
    this.integrate();
    const consumers: Record<string, number> = {};
    let total = 0;
    for (const [consumer, value] of this.charge) {
      consumers[consumer] = value / 3_600_000;
      total += value;
    }
    const times = { ...this.mcu.times };
    const accounted = times.active + times.sleep + times.deepSleep;
    return { consumers, totalMilliampHours: total / 3_600_000, mcu: times, deepSleepFraction: accounted > 0 ? times.deepSleep / accounted : 0 };
  }
}
