/**
 * The recovery ladder around a modem. Every network operation runs through `ModemSupervisor.run`: when it
 * fails, the supervisor climbs retry -> functional reset (CFUN=0/1) -> power cycle (reset pin or power key),
 * re-establishing readiness (powered, PSM configured, registered, socket open) after each rung, and retries
 * the operation. Field lesson: some hangs only a power cycle cures, so the top rung needs no answer from the
 * module at all. Each rung is counted and reported; registration losses are counted as they are seen.
 * One operation at a time: callers queue their uplinks and call `run` for the next when the last settled.
 */
import type { Clock } from '../../hal/interfaces';
import { isAtError } from './at-engine';
import type { Modem, PsmSettings } from './modem';

export type RecoveryRung = 'retry' | 'functional-reset' | 'power-cycle';

export interface RecoveryCounters {
  retries: number;
  functionalResets: number;
  powerCycles: number;
  registrationLosses: number;
  /** Operations that still failed after the top rung. */
  failures: number;
  /** Operations that needed at least one rung and then succeeded. */
  recoveries: number;
}

export interface RecoveryReport {
  operation: string;
  /** Highest rung climbed. */
  rung: RecoveryRung;
  /** Clock time of the first failure (detection). */
  detectedAt: number;
  /** Clock time the operation finally succeeded. */
  recoveredAt: number;
  reason: string;
}

export interface SupervisorOptions {
  host: string;
  port: number;
  psm?: PsmSettings | null;
  /** Immediate retries before a functional reset. Default 1. */
  retries?: number;
  /** Registration wait per attach, ms. Default 180000 (attach can take minutes). */
  attachTimeout?: number;
}

function describe(error: unknown): string {
  if (isAtError(error)) return error.toString();
  return String(error);
}

export class ModemSupervisor {
  readonly counters: RecoveryCounters = { retries: 0, functionalResets: 0, powerCycles: 0, registrationLosses: 0, failures: 0, recoveries: 0 };
  onRecovery: ((report: RecoveryReport) => void) | null = null;
  onRung: ((rung: RecoveryRung, reason: string) => void) | null = null;
  private poweredOn = false;
  private configured = false;

  constructor(
    readonly modem: Modem,
    private readonly clock: Clock,
    private readonly options: SupervisorOptions,
  ) {
    modem.onRegistrationChange = (registered) => {
      if (!registered) this.counters.registrationLosses++;
    };
  }

  /** Awake, powered, configured, registered, socket open: whatever is missing is done, in that order. */
  ensureReady(): Promise<void> {
    const modem = this.modem;
    // A module in PSM does not answer (the BG96 not even to UART bytes): wake it the proper way first.
    const power = this.poweredOn ? (modem.sleeping() ? modem.wake() : Promise.resolve()) : modem.powerOn();
    return power
      .then(() => {
        if (!this.poweredOn) {
          this.poweredOn = true;
          this.configured = false;
        }
        if (this.configured) return undefined;
        return modem.configurePsm(this.options.psm || null).then(() => {
          this.configured = true;
        });
      })
      .then(() => (modem.registered() ? undefined : modem.attach(this.options.attachTimeout || 180000)))
      .then(() => (modem.udpOpen() ? undefined : modem.openUdp(this.options.host, this.options.port)));
  }

  /** Run `operation` with readiness first; on failure climb the ladder. Rejects only after the top rung failed. */
  run<T>(name: string, operation: () => Promise<T>): Promise<T> {
    let detectedAt = -1;
    let reason = '';
    let highest: RecoveryRung | null = null;
    const attempt = (): Promise<T> => this.ensureReady().then(operation);
    const succeed = (value: T): T => {
      if (highest !== null) {
        this.counters.recoveries++;
        if (this.onRecovery) this.onRecovery({ operation: name, rung: highest, detectedAt, recoveredAt: this.clock.now(), reason });
      }
      return value;
    };
    const climb = (rung: RecoveryRung, error: unknown): void => {
      if (detectedAt < 0) {
        detectedAt = this.clock.now();
        reason = describe(error);
      }
      highest = rung;
      if (this.onRung) this.onRung(rung, describe(error));
    };
    const powerCycle = (error: unknown): Promise<T> => {
      climb('power-cycle', error);
      this.counters.powerCycles++;
      this.poweredOn = true;
      this.configured = false;
      return this.modem
        .powerCycle()
        .then(attempt)
        .then(succeed, (final) => {
          this.counters.failures++;
          throw final;
        });
    };
    const functionalReset = (error: unknown): Promise<T> =>
      // A module that does not even answer AT cannot do CFUN: straight to the power cycle.
      this.modem.probe().then((answers) => {
        if (!answers) return powerCycle(error);
        climb('functional-reset', error);
        this.counters.functionalResets++;
        return this.modem
          .functionalReset()
          .then(attempt)
          .then(succeed, (next) => powerCycle(next));
      });
    const retries = this.options.retries !== undefined ? this.options.retries : 1;
    const retry = (left: number, error: unknown): Promise<T> => {
      if (left <= 0) return functionalReset(error);
      climb('retry', error);
      this.counters.retries++;
      return attempt().then(succeed, (next) => retry(left - 1, next));
    };
    return attempt().then(succeed, (error) => retry(retries, error));
  }
}
