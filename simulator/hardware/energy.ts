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

  /** True when the MCU sleeps in its deep mode (and is counted under deepSleep) while idle. */
  private sleepsDeeply(): boolean {
    if (this.mcu.sleepsDeeplyByItself) return !(this.uart && this.mcu.currents.sleepWithUart !== undefined);
    return this.deepSleep;
  }

  private sleepCurrent(): number {
    const currents = this.mcu.currents;
    if (this.mcu.sleepsDeeplyByItself) return this.uart && currents.sleepWithUart !== undefined ? currents.sleepWithUart : currents.deepSleep;
    return this.deepSleep ? currents.deepSleep : currents.sleep;
  }

  /** The MCU's supply current right now, mA. */
  currentNow(): number {
    if (!this.powered) return 0;
    return this.awake() ? this.mcu.currents.run : this.sleepCurrent();
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
    this.times.active += active;
    if (this.sleepsDeeply()) this.times.deepSleep += asleep;
    else this.times.sleep += asleep;
    return active * this.mcu.currents.run + asleep * this.sleepCurrent();
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

/** One consumer's present current and integrated charge. */
interface Consumer {
  readonly name: string;
  milliamps: number;
  /** mA·ms drawn so far. */
  charge: number;
  charged: boolean;
}

export class EnergyMeter {
  private readonly consumers = new Map<string, Consumer>();
  /** Consumers drawing current now, in the order a Map of them would iterate (a change to 0 and back moves one to the end). */
  private drawing: Consumer[] = [];
  /** Consumers in the order they first drew charge (the report's order). */
  private readonly charged: Consumer[] = [];
  private readonly mcuConsumer: Consumer;
  private lastIntegrated: number;
  /** Called with every slice of charge drawn (mA·ms) so the power path can take it from the battery. */
  onDrain: ((milliampMilliseconds: number) => void) | null = null;

  constructor(
    private readonly clock: VirtualClock,
    readonly mcu: McuPower,
  ) {
    this.lastIntegrated = clock.now();
    this.mcuConsumer = this.consumer('mcu');
    mcu.beforeChange = () => this.integrate();
  }

  private consumer(name: string): Consumer {
    let consumer = this.consumers.get(name);
    if (!consumer) {
      consumer = { name, milliamps: 0, charge: 0, charged: false };
      this.consumers.set(name, consumer);
    }
    return consumer;
  }

  /** A model reports its supply current (mA) from now on. */
  setCurrent(consumer: string, milliamps: number): void {
    if (!(milliamps >= 0) || !Number.isFinite(milliamps)) throw new Error(`current of ${consumer} must be >= 0 mA, got ${milliamps}`);
    this.integrate();
    const entry = this.consumer(consumer);
    const index = this.drawing.indexOf(entry);
    if (milliamps === 0) {
      if (index >= 0) this.drawing.splice(index, 1);
    } else if (index < 0) this.drawing.push(entry);
    entry.milliamps = milliamps;
  }

  /** Total current right now (MCU at its present mode), mA. */
  totalCurrent(): number {
    let total = 0;
    for (const consumer of this.drawing) total += consumer.milliamps;
    return total + this.mcu.currentNow();
  }

  private addCharge(consumer: Consumer, slice: number): void {
    consumer.charge += slice;
    if (!consumer.charged) {
      consumer.charged = true;
      this.charged.push(consumer);
    }
  }

  /** Bring every integral up to now. */
  integrate(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastIntegrated;
    this.lastIntegrated = now;
    let drained = 0;
    if (elapsed > 0) {
      const drawing = this.drawing;
      for (let index = 0; index < drawing.length; index++) {
        const consumer = drawing[index]!;
        const slice = consumer.milliamps * elapsed;
        this.addCharge(consumer, slice);
        drained += slice;
      }
    }
    const mcuSlice = this.mcu.account();
    if (mcuSlice > 0) {
      this.addCharge(this.mcuConsumer, mcuSlice);
      drained += mcuSlice;
    }
    if (drained > 0) this.onDrain?.(drained);
  }

  report(): EnergyReport {
    this.integrate();
    const consumers: Record<string, number> = {};
    let total = 0;
    for (const consumer of this.charged) {
      consumers[consumer.name] = consumer.charge / 3_600_000;
      total += consumer.charge;
    }
    const times = { ...this.mcu.times };
    const accounted = times.active + times.sleep + times.deepSleep;
    return { consumers, totalMilliampHours: total / 3_600_000, mcu: times, deepSleepFraction: accounted > 0 ? times.deepSleep / accounted : 0 };
  }
}
