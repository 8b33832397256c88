/**
 * Modem scenarios shared by tests and bench/modem-*.ts: a terminal delivering readings through the
 * recovery ladder while faults are injected, and a PSM reporting day for the energy figures.
 * The "application" here is deliberately small (the real one is a later issue): readings wait in a queue and
 * leave it only when the echoing gateway acknowledges them, so a reading survives any modem failure.
 */
import { AtError } from '../../firmware/modem/at-engine';
import { ModemSupervisor, type RecoveryReport } from '../../firmware/modem/recovery';
import { delay, type PsmSettings } from '../../firmware/modem/modem';
import type { CurrentState } from '../../simulator/radio/current-model';
import type { RadioOptions } from '../../simulator/radio/radio-model';
import { advance, createModemRig, settler, startEchoServer, type ModemModelName, type ModemRig } from './modem-rig';

export type ScenarioFault = 'hang' | 'cme-burst' | 'radio-stuck' | 'registration-drop' | 'no-service' | 'urc-storm' | 'garbage' | 'lossy';

export interface DeliveryOptions {
  model: ModemModelName;
  readings: number;
  /** Reading index (0-based) before which each fault strikes. */
  faults: Array<{ before: number; fault: ScenarioFault }>;
  intervalMs?: number;
  radio?: RadioOptions;
  preferPowerKey?: boolean;
}

export interface DeliveryResult {
  delivered: number[];
  lost: number[];
  duplicatesAtGateway: number;
  counters: ModemSupervisor['counters'];
  recoveries: RecoveryReport[];
  /** Virtual ms from fault injection to the first failed operation, per fault. */
  faultToDetectionMs: number[];
  virtualMs: number;
}

function readingBytes(id: number): Uint8Array {
  return Uint8Array.from([0x52, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255, 0x0d, 0x0a, 0xff]);
}

function readingId(data: Uint8Array): number {
  return data.length === 8 && data[0] === 0x52 ? ((data[1]! << 24) | (data[2]! << 16) | (data[3]! << 8) | data[4]!) >>> 0 : -1;
}

export function injectFault(rig: ModemRig, fault: ScenarioFault): void {
  const model = rig.model;
  if (fault === 'hang') model.hang();
  else if (fault === 'cme-burst') model.cmeBurst(2);
  else if (fault === 'radio-stuck') model.radioStuck = true;
  else if (fault === 'registration-drop') model.dropRegistration(45000);
  else if (fault === 'no-service') model.dropRegistration(null);
  else if (fault === 'urc-storm') model.urcStorm(200, 5);
  else if (fault === 'garbage') model.garbage(64);
  else if (fault === 'lossy') {
    model.radio.uplinkLoss = 0.3;
    model.radio.downlinkLoss = 0.2;
    model.radio.duplicate = 0.2;
  }
}

/** Deliver `readings` readings, each acknowledged by a loopback echo, injecting faults on the way. */
export async function deliverReadings(options: DeliveryOptions): Promise<DeliveryResult> {
  const echo = await startEchoServer();
  const rig = createModemRig({ model: options.model, modelOptions: { radio: options.radio }, trace: false, preferPowerKey: options.preferPowerKey });
  const settle = settler(rig.clock);
  const supervisor = new ModemSupervisor(rig.driver, rig.halClock, { host: '127.0.0.1', port: echo.port, retries: 1, attachTimeout: 180000 });
  const recoveries: RecoveryReport[] = [];
  supervisor.onRecovery = (report) => recoveries.push(report);
  const acknowledged = new Set<number>();
  rig.driver.onDatagram((data) => acknowledged.add(readingId(data)));
  const awaitAck = (id: number, timeout: number): Promise<void> => {
    const deadline = rig.halClock.now() + timeout;
    const check = (): Promise<void> => {
      if (acknowledged.has(id)) return Promise.resolve();
      if (rig.halClock.now() >= deadline) return Promise.reject(new AtError('timeout', 'ack', 'no acknowledgement for reading ' + id));
      return delay(rig.halClock, 50).then(check);
    };
    return check();
  };
  const queue: number[] = [];
  const delivered: number[] = [];
  const faultToDetectionMs: number[] = [];
  let faultAt = -1;
  supervisor.onRung = () => {
    if (faultAt >= 0) {
      faultToDetectionMs.push(rig.clock.now() - faultAt);
      faultAt = -1;
    }
  };
  try {
    for (let index = 0; index < options.readings; index++) {
      queue.push(1000 + index);
      for (const entry of options.faults) {
        if (entry.before === index) {
          injectFault(rig, entry.fault);
          faultAt = rig.clock.now();
        }
      }
      // Send everything waiting, oldest first; a reading leaves the queue only once acknowledged.
      while (queue.length > 0) {
        const id = queue[0]!;
        try {
          await settle(
            supervisor.run('uplink', () =>
              rig.driver.sendDatagram(readingBytes(id), { releaseAfter: 'reply' }).then(() => awaitAck(id, 8000)),
            ),
          );
          delivered.push(queue.shift()!);
        } catch (error) {
          if (process.env.MODEM_SCENARIO_DEBUG) console.error('reading', id, String(error));
          break; // the top rung failed: keep the reading, try again at the next interval
        }
      }
      await advance(rig.clock, options.intervalMs ?? 60000);
    }
    const atGateway = echo.received.map((message) => readingId(new Uint8Array(message)));
    const unique = new Set(atGateway);
    const all = Array.from({ length: options.readings }, (_, index) => 1000 + index);
    return {
      delivered,
      lost: all.filter((id) => !unique.has(id)),
      duplicatesAtGateway: atGateway.length - unique.size,
      counters: { ...supervisor.counters },
      recoveries,
      faultToDetectionMs,
      virtualMs: rig.clock.now(),
    };
  } finally {
    rig.close();
    await echo.close();
  }
}

export interface EnergyOptions {
  model: ModemModelName;
  intervalMinutes: number;
  /** Simulated span, hours. Default 24. */
  hours?: number;
  psm?: PsmSettings;
  radio?: RadioOptions;
  payloadBytes?: number;
  /** Release assistance after the reply (default true). */
  releaseAssistance?: boolean;
}

export interface EnergyResult {
  model: ModemModelName;
  intervalMinutes: number;
  hours: number;
  reports: number;
  acknowledged: number;
  milliampHours: number;
  milliampHoursPerDay: number;
  /** Charge per report excluding the PSM floor, mAh. */
  perReportMilliampHours: number;
  timeInState: Record<CurrentState, number>;
  psmEntries: number;
}

/**
 * A terminal reporting every `intervalMinutes` with the modem in PSM between reports: wake, send with
 * release assistance after the reply, wait for the acknowledgement, allow sleep. The first attach and set-up
 * are excluded from the figure (the meter starts after the first report).
 */
export async function reportingDay(options: EnergyOptions): Promise<EnergyResult> {
  const echo = await startEchoServer();
  const rig = createModemRig({ model: options.model, modelOptions: { radio: options.radio }, trace: false });
  const settle = settler(rig.clock);
  const psm: PsmSettings = options.psm ?? { periodicTauSeconds: 24 * 3600, activeTimeSeconds: 10, edrxCycle: null };
  const supervisor = new ModemSupervisor(rig.driver, rig.halClock, { host: '127.0.0.1', port: echo.port, psm, attachTimeout: 180000 });
  const driver = rig.driver;
  let acknowledged = 0;
  driver.onDatagram(() => acknowledged++);
  const payload = new Uint8Array(options.payloadBytes ?? 64).fill(0x5a);
  const report = async (): Promise<void> => {
    if (driver.sleeping() || rig.model.power === 'psm') await settle(driver.wake());
    const before = acknowledged;
    await settle(
      supervisor.run('report', () =>
        driver.sendDatagram(payload, { releaseAfter: options.releaseAssistance === false ? null : 'reply' }).then(() => {
          const deadline = rig.halClock.now() + 8000;
          const check = (): Promise<void> =>
            acknowledged > before ? Promise.resolve() : rig.halClock.now() >= deadline ? Promise.reject(new AtError('timeout', 'ack', 'no ack')) : delay(rig.halClock, 50).then(check);
          return check();
        }),
      ),
    );
    await settle(driver.sleep());
  };
  try {
    await report();
    // Let the first cycle reach PSM, then meter whole intervals from here.
    const hours = options.hours ?? 24;
    const interval = options.intervalMinutes * 60000;
    await advance(rig.clock, interval);
    const startCharge = rig.model.current.chargeDrawnMilliampHours();
    const startDurations = rig.model.current.durations();
    const startPsm = rig.model.statistics.psmEntries;
    const reports = Math.round((hours * 60) / options.intervalMinutes);
    for (let index = 0; index < reports; index++) {
      const start = rig.clock.now();
      await report();
      await advance(rig.clock, Math.max(0, start + interval - rig.clock.now()));
    }
    const milliampHours = rig.model.current.chargeDrawnMilliampHours() - startCharge;
    const durations = rig.model.current.durations();
    const timeInState = {} as Record<CurrentState, number>;
    for (const state of Object.keys(durations) as CurrentState[]) timeInState[state] = durations[state] - startDurations[state];
    const floor = (rig.model.current.profile.psm * (hours * 3600000)) / 3600000;
    return {
      model: options.model,
      intervalMinutes: options.intervalMinutes,
      hours,
      reports,
      acknowledged,
      milliampHours,
      milliampHoursPerDay: (milliampHours * 24) / hours,
      perReportMilliampHours: (milliampHours - floor) / reports,
      timeInState,
      psmEntries: rig.model.statistics.psmEntries - startPsm,
    };
  } finally {
    rig.close();
    await echo.close();
  }
}
