/**
 * Power: which supply the terminal runs on (AC sense), the battery voltage and its alarms, and when the MCU may
 * deep-sleep.
 *
 * - AC sense is debounced; a change raises an event (ac_loss / ac_restore, with the battery voltage) and
 *   switches the policy (mains / battery: intervals, uplink period, PSM and eDRX).
 * - On battery the voltage is checked at every sampling round: below `lowBatteryVolts` a low_battery alarm
 *   (once; battery_ok after it recovers by 0.1 V), below `criticalBatteryVolts` battery_critical, after which the
 *   terminal makes its last report and stops working until mains returns.
 * - Deep sleep is allowed only while nobody holds a wake lock: an STM32 in stop mode loses UART bytes, so
 *   whatever waits for a modem or RS485 answer holds one.
 */
import type { BoardIo } from '../../hal/interfaces';
import { Debouncer } from '../gpio/debounce';
import { EventCode } from './entries';
import type { ResolvedSettings } from './settings';

export interface PowerHandlers {
  /** An alarm to journal and send at once. */
  event(code: number, values: number[]): void;
  /** The supply changed: apply the other policy. */
  policyChanged(onBattery: boolean): void;
  /** The battery is nearly exhausted: make the last report and stop. */
  critical(): void;
}

const acDebounceMilliseconds = 500;
const recoveryMarginVolts = 0.1;

export class PowerManager {
  private debouncer: Debouncer | null = null;
  private battery = false;
  private lowReported = false;
  private criticalReported = false;
  private readonly locks: { [holder: string]: boolean } = {};
  private deepSleepAllowed: boolean | null = null;

  constructor(
    private readonly io: BoardIo,
    private settings: ResolvedSettings,
    private readonly handlers: PowerHandlers,
  ) {}

  start(): void {
    const sense = this.io.acPresent;
    if (sense) {
      this.battery = !sense.read();
      this.debouncer = new Debouncer(sense, this.io.clock, acDebounceMilliseconds, (present) => this.supplyChanged(present));
      this.debouncer.start();
    }
    this.updateDeepSleep();
  }

  stop(): void {
    if (this.debouncer) this.debouncer.stop();
    this.debouncer = null;
  }

  updateSettings(settings: ResolvedSettings): void {
    this.settings = settings;
  }

  onBattery(): boolean {
    return this.battery;
  }

  /** Battery terminal voltage, NaN on a board without battery sense. */
  batteryVolts(): number {
    const read = this.io.batteryVoltage;
    return read ? Math.round(read() * 1000) / 1000 : NaN;
  }

  /** 0 mains, 1 battery, 2 unknown (no AC sense): the status report's power source. */
  sourceCode(): number {
    return this.io.acPresent ? (this.battery ? 1 : 0) : 2;
  }

  isCritical(): boolean {
    return this.criticalReported && this.battery;
  }

  /** Check the battery against the alarm levels (on battery only: on mains the pack is being charged). */
  checkBattery(): void {
    if (!this.battery) return;
    const volts = this.batteryVolts();
    if (volts !== volts) return;
    if (!this.lowReported && volts < this.settings.lowBatteryVolts) {
      this.lowReported = true;
      this.handlers.event(EventCode.LowBattery, [volts]);
    } else if (this.lowReported && volts > this.settings.lowBatteryVolts + recoveryMarginVolts) {
      this.lowReported = false;
      this.handlers.event(EventCode.BatteryOk, [volts]);
    }
    if (!this.criticalReported && volts < this.settings.criticalBatteryVolts) {
      this.criticalReported = true;
      this.handlers.event(EventCode.BatteryCritical, [volts]);
      this.handlers.critical();
    }
  }

  /** Keep the MCU out of deep sleep until `release(holder)`. */
  hold(holder: string): void {
    this.locks[holder] = true;
    this.updateDeepSleep();
  }

  release(holder: string): void {
    delete this.locks[holder];
    this.updateDeepSleep();
  }

  holders(): string[] {
    return Object.keys(this.locks);
  }

  private updateDeepSleep(): void {
    const allowed = Object.keys(this.locks).length === 0;
    if (allowed === this.deepSleepAllowed) return;
    this.deepSleepAllowed = allowed;
    this.io.power.allowDeepSleep(allowed);
  }

  private supplyChanged(present: boolean): void {
    const battery = !present;
    if (battery === this.battery) return;
    this.battery = battery;
    const volts = this.batteryVolts();
    this.handlers.event(battery ? EventCode.AcLoss : EventCode.AcRestore, [volts]);
    if (!battery) {
      this.lowReported = false;
      this.criticalReported = false;
    }
    this.handlers.policyChanged(battery);
  }
}
