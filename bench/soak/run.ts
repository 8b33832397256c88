/**
 * The zero-loss soak (issue 10): the whole system under every fault at once.
 *
 * Terminals are the built firmware bundles (simulator/fleet/firmware-cache.ts, as the fleet and `udt flash` use
 * them) on virtual boards sharing one virtual clock (SoakTerminal: drifting crystals, modem models, 30 % loss
 * each way with jitter, power cuts in flash writes, modem hangs). They send real UDP on loopback to the gateway
 * as its own process (the `udt gateway` CLI, GatewayUnderTest), which publishes to a real broker in its own
 * process (SoakBroker). The oracle (SoakOracle) consumes MQTT and judges it against the meter models' poll logs
 * and the terminals' journals.
 *
 * Gateway kills are aimed: at the scheduled virtual moment the next datagram any terminal sends triggers a SIGKILL
 * 0-4 ms (wall) later, so the gateway dies with an uplink on its way in, in its commit, or in its ACK; it starts
 * again at once on the same database and ports. The broker is stopped (SIGTERM) for a scheduled virtual outage.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadBoards } from '../../hal/board-loader';
import { databaseFile, openDatabase } from '../../gateway/store/database';
import { DeviceRegistry, type DeviceSecrets } from '../../gateway/store/registry';
import { VirtualClock } from '../../simulator/clock';
import { BoardHalt } from '../../simulator/espruino/session';
import { PowerCutSignal } from '../../simulator/hardware/flash';
import { firmwareFor } from '../../simulator/fleet/firmware-cache';
import { imeiFor } from '../../simulator/fleet/imei';
import { GatewayUnderTest, type GatewayCounters } from '../../test/attack/support/gateway-control';
import { temporaryDirectory } from '../../test/gateway/support/harness';
import { SoakBroker } from './broker';
import { day, hour, planFaults, type ControlEvent, type SoakOptions } from './faults';
import { SoakOracle, type FaultMoment, type TerminalTruth } from './oracle';
import type { SoakReport } from './report';
import { stablePort } from './ports';
import { SoakTerminal } from './terminal';
import { VirtualTimeFile } from './virtual-time';


const networkEpochMs = Date.parse('2026-08-01T00:00:00Z');

export function soakConfig(): Record<string, unknown> {
  return {
    version: 1,
    modbus: {
      bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 2 },
      devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 1, interval: 900000, points: ['voltage_l1', 'current_l1', 'power_l1', 'import_energy'] }],
    },
    terminal: { gateway: { host: '127.0.0.1', port: 5683 } },
  };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function range(values: number[]): { minimum: number; maximum: number } {
  return values.length === 0 ? { minimum: 0, maximum: 0 } : { minimum: Math.min(...values), maximum: Math.max(...values) };
}

async function gatewayHealth(gateway: GatewayUnderTest): Promise<Record<string, unknown> | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/health`);
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * A power cut inside a flash write made from a promise callback rejects that promise; the firmware's rejection
 * handlers then run as promise jobs of a board that is already dead, and the first API call they make throws
 * BoardHalt out of the job as an unhandled rejection. On a real board nothing runs after the power goes, so these
 * are counted and dropped; any other unhandled rejection still ends the run.
 */
function watchHaltedPromiseJobs(counter: { haltedPromiseJobs: number }): () => void {
  const listener = (reason: unknown): void => {
    if (reason instanceof BoardHalt || reason instanceof PowerCutSignal) {
      counter.haltedPromiseJobs++;
      return;
    }
    throw reason;
  };
  process.on('unhandledRejection', listener);
  return () => process.off('unhandledRejection', listener);
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const simulator = { haltedPromiseJobs: 0 };
  const unwatch = watchHaltedPromiseJobs(simulator);
  try {
    return await soak(options, started, simulator);
  } finally {
    unwatch();
  }
}

async function soak(options: SoakOptions, started: number, simulator: { haltedPromiseJobs: number }): Promise<SoakReport> {
  const log = options.log;
  const plan = planFaults(options);
  const boards = loadBoards();
  const config = soakConfig();
  const firmware = new Map<string, string>();
  const boardSummary: SoakReport['boards'] = {};
  for (const id of new Set(plan.terminals.map((terminal) => terminal.board))) {
    const board = boards[id];
    if (!board) throw new Error(`no board "${id}" in boards.json`);
    const built = await firmwareFor(board, config);
    firmware.set(id, built.code);
    boardSummary[id] = { count: plan.terminals.filter((terminal) => terminal.board === id).length, modem: board.modem.model, bundleBytes: built.code.length };
    log(`firmware for ${id} (${board.modem.model}): ${built.code.length} bytes${built.cached ? ' (cached)' : ''}`);
  }

  const directory = temporaryDirectory('udt-soak-');
  const dataDirectory = path.join(directory.path, 'gateway');
  mkdirSync(path.join(directory.path, 'broker'), { recursive: true });
  const database = openDatabase(databaseFile(dataDirectory));
  const registry = new DeviceRegistry(database);
  const secrets: DeviceSecrets[] = [];
  for (let index = 0; index < options.terminals; index++) secrets.push(registry.provision({ imei: imeiFor(900000 + index), profile: 'eastron-sdm630', channels: [] }).secrets);
  database.close();

  const brokerPort = await stablePort('tcp');
  const broker = await SoakBroker.start(path.join(directory.path, 'broker'), brokerPort, options.broker);
  log(`broker: ${broker.description}`);
  const oracle = await SoakOracle.connect(broker.url, `udt-soak-oracle-${process.pid}`, broker.keepsSessions ? 2 : 1);
  broker.admitGateway();
  const clock = new VirtualClock();
  const time = new VirtualTimeFile(path.join(directory.path, 'virtual-time'), clock, networkEpochMs);
  // The gateway's clock is the virtual one; and virtual time outruns wall time a thousandfold, so no per-source
  // rate limit (counted in the gateway's clock, it would not bite anyway).
  // QoS 2 (exactly once) needs a broker that keeps its sessions and does not lose QoS 2 messages: Mosquitto. Aedes
  // forgets sessions when restarted and drops QoS 2 messages (gateway.ts, connectPublisher): QoS 1 there.
  const environment = { UDT_GATEWAY_RATE_LIMIT_PER_SECOND: '0', UDT_GATEWAY_MQTT_QOS: broker.keepsSessions ? '2' : '1', ...time.environment() };
  const gateway = await GatewayUnderTest.create(dataDirectory, broker.url, environment, {
    coap: await stablePort('udp', [brokerPort]),
    http: await stablePort('tcp', [brokerPort]),
  });
  const terminals: SoakTerminal[] = [];
  const faultMoments: FaultMoment[] = [];
  const brokerDown: number[] = [];
  let killArmed = false;
  let killing: Promise<void> | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  let gatewayKills = 0;
  let maximumRss = 0;
  let totals: GatewayCounters | null = null;
  let report: SoakReport | null = null;
  const end = options.days * day;

  const kill = (): void => {
    killArmed = false;
    gatewayKills++;
    faultMoments.push({ kind: 'gateway-kill', at: Date.now() });
    killing = (async () => {
      try {
        await gateway.killAndRestart();
      } catch (error) {
        // A restart that fails (a port briefly taken) is retried: the soak is about data, not start-up races.
        log(`  gateway restart failed, retrying: ${(error as Error).message.split('\n')[0]}`);
        for (let attempt = 1; ; attempt++) {
          await sleep(500);
          try {
            await gateway.start();
            break;
          } catch (again) {
            if (attempt >= 20) throw again;
          }
        }
      }
    })().finally(() => {
      killing = null;
    });
  };

  try {
    await gateway.start();
    log(`gateway pid ${gateway.pid} on udp/${gateway.coapPort}, /metrics on tcp/${gateway.httpPort}`);
    plan.terminals.forEach((terminalPlan, index) => {
      const board = boards[terminalPlan.board]!;
      const terminal = new SoakTerminal({
        clock, board, name: `${terminalPlan.board}-${index + 1}`, imei: secrets[index]!.imei, secrets: secrets[index]!, firmware: firmware.get(terminalPlan.board)!,
        config, gatewayPort: gateway.coapPort, networkEpochMs, seed: options.seed * 100003 + index, driftPartsPerMillion: terminalPlan.driftPartsPerMillion,
        coverageClass: terminalPlan.coverageClass, loss: options.loss, powerOnAt: terminalPlan.powerOnAt, replyWaitMs: 1000,
      });
      const udp = terminal.modem.udp;
      const send = udp.send.bind(udp);
      udp.send = (socketId, data, destination) => {
        time.publish();
        const sent = send(socketId, data, destination);
        if (killArmed && sent) {
          killArmed = false;
          killTimer = setTimeout(() => {
            killTimer = null;
            kill();
          }, Math.floor(Math.random() * 5));
        }
        return sent;
      };
      const retryEvery = (at: number, attempt: () => boolean, retryMs: number): void => {
        clock.scheduleAt(at, () => {
          if (clock.now() < end && !attempt()) retryEvery(clock.now() + retryMs, attempt, retryMs);
        });
      };
      for (const at of terminalPlan.hangsAt) retryEvery(at, () => terminal.hangModem(), 20_000);
      for (const at of terminalPlan.powerCutsAt) retryEvery(at, () => terminal.armPowerCut(), 60_000);
      terminals.push(terminal);
    });
    log(`${terminals.length} terminals, ${options.days} virtual days; faults: ${options.gatewayKills} gateway SIGKILLs, ${options.brokerRestarts} broker restarts, ` +
      `${options.hangsPerTerminal} modem hangs and ${options.powerCutsPerTerminal} power cuts per terminal, ${Math.round(options.loss * 100)} % loss each way, drift +-${options.driftPpm} ppm`);

    const control = [...plan.control];
    let armedAt = 0;
    const handle = async (event: ControlEvent): Promise<void> => {
      if (event.kind === 'gateway-kill') {
        while (killTimer || killing) await (killing ?? sleep(10));
        totals = await gateway.scrape();
        killArmed = true;
        armedAt = clock.now();
      } else if (event.kind === 'broker-stop') {
        await broker.stop();
        brokerDown.push(clock.now());
        log(`  broker stopped at virtual ${(clock.now() / hour).toFixed(2)} h`);
      } else {
        const reconnected = broker.kind === 'aedes' ? oracle.nextConnection() : Promise.resolve();
        await broker.restart();
        brokerDown[brokerDown.length - 1] = (clock.now() - brokerDown[brokerDown.length - 1]!) / 60_000;
        faultMoments.push({ kind: 'broker-restart', at: Date.now() });
        if (broker.kind === 'aedes') {
          await reconnected;
          await oracle.subscribe();
          broker.admitGateway();
        }
        log(`  broker back at virtual ${(clock.now() / hour).toFixed(2)} h`);
      }
    };
    const progress = (phase: string): void => {
      const rss = gateway.rss();
      if (Number.isFinite(rss)) maximumRss = Math.max(maximumRss, rss);
      log(`  ${phase} virtual ${(clock.now() / day).toFixed(2)} d, wall ${((Date.now() - started) / 1000).toFixed(0)} s, ${oracle.messages} MQTT messages, ` +
        `gateway kills ${gatewayKills}, broker restarts ${broker.restarts}, RSS ${(rss / 1048576).toFixed(0)} MB`);
    };
    const step = async (target: number): Promise<void> => {
      await clock.runWithRealIo(target, 3000);
      time.publish();
      await new Promise<void>((resolve) => setImmediate(resolve));
    };

    let nextProgress = Date.now() + 10_000;
    while (clock.now() < end) {
      const target = Math.min(end, clock.now() + 60_000, control[0]?.at ?? Number.POSITIVE_INFINITY);
      await step(target);
      while (control.length > 0 && control[0]!.at <= clock.now()) await handle(control.shift()!);
      // An armed kill that found no datagram for ten virtual minutes happens anyway.
      if (killArmed && clock.now() - armedAt > 10 * 60_000) kill();
      if (Date.now() >= nextProgress) {
        nextProgress = Date.now() + 10_000;
        progress('run');
      }
    }
    if (killArmed) kill();
    while (killTimer || killing) await (killing ?? sleep(10));
    for (const terminal of terminals) terminal.endFaults();

    // Drain: everything each terminal had made by the end must be acknowledged; production goes on meanwhile.
    const drainStart = clock.now();
    const madeByEnd = new Map<SoakTerminal, number>();
    let drained = false;
    while (clock.now() - drainStart < options.drainHours * hour) {
      let done = true;
      for (const terminal of terminals) {
        const journal = terminal.journal();
        if (!journal) {
          done = false;
          continue;
        }
        if (!madeByEnd.has(terminal)) madeByEnd.set(terminal, journal.nextId - 1);
        if (journal.nextId - 1 - journal.depth < madeByEnd.get(terminal)!) done = false;
      }
      if (done) {
        drained = true;
        break;
      }
      await step(clock.now() + 60_000);
      if (Date.now() >= nextProgress) {
        nextProgress = Date.now() + 10_000;
        progress('drain');
      }
    }
    // The final count, all at one virtual instant (virtual time stops here, so no terminal makes more).
    let journals = terminals.map((terminal) => terminal.journal());
    for (let attempt = 0; attempt < 60 && journals.some((journal) => journal === null); attempt++) {
      await step(clock.now() + 10_000);
      journals = terminals.map((terminal) => terminal.journal());
    }
    const drainVirtualHours = (clock.now() - drainStart) / hour;
    log(`drain ${drained ? 'complete' : 'INCOMPLETE'} after ${drainVirtualHours.toFixed(2)} virtual hours; waiting for the gateway and the broker`);
    const settleDeadline = Date.now() + 60_000;
    for (;;) {
      const health = await gatewayHealth(gateway);
      const settled = health && health.journalDepth === 0 && health.pendingUplinks === 0 && health.unacknowledgedPublishes === 0;
      if ((settled && Date.now() - oracle.lastMessageAt > 1500) || Date.now() > settleDeadline) break;
      await sleep(200);
    }
    totals = await gateway.scrape();
    const rss = gateway.rss();
    if (Number.isFinite(rss)) maximumRss = Math.max(maximumRss, rss);

    const truths: TerminalTruth[] = terminals.map((terminal, index) => ({
      imei: terminal.imei,
      lastId: journals[index] ? journals[index]!.nextId - 1 : 0,
      waiting: journals[index]?.depth ?? 0,
      polls: terminal.meter.polls,
      powerLosses: terminal.powerLosses,
      pollsDueBefore: end - 5 * 60_000,
      networkEpochMs,
    }));
    const oracleReport = oracle.evaluate(truths, faultMoments);
    const sum = (pick: (terminal: SoakTerminal) => number): number => terminals.reduce((total, terminal) => total + pick(terminal), 0);
    const recoveries = terminals.flatMap((terminal) => terminal.faults.hangRecoveryMs).sort((left, right) => left - right);
    const clockErrors = terminals.map((terminal) => terminal.clockErrorMs() / 1000);
    const { log: _log, ...reportedOptions } = options;
    report = {
      options: reportedOptions,
      broker: broker.description,
      brokerKeepsSessions: broker.keepsSessions,
      boards: boardSummary,
      oracle: oracleReport,
      injected: {
        gatewayKills,
        gatewayRestarts: gateway.restarts,
        brokerRestarts: broker.restarts,
        brokerDownVirtualMinutes: brokerDown.map((minutes) => Math.round(minutes)),
        hangsInjected: sum((terminal) => terminal.faults.hangsInjected),
        hangsRecovered: sum((terminal) => terminal.faults.hangsRecovered),
        hangsClearedByPowerCut: sum((terminal) => terminal.faults.hangsClearedByPowerCut),
        hangRecoverySeconds: { median: (recoveries[Math.floor(recoveries.length / 2)] ?? 0) / 1000, max: (recoveries[recoveries.length - 1] ?? 0) / 1000 },
        powerCutsArmed: sum((terminal) => terminal.faults.powerCutsArmed),
        powerCuts: sum((terminal) => terminal.faults.powerCuts),
        powerCutsPerTerminal: range(terminals.map((terminal) => terminal.faults.powerCuts)),
        driftPpm: range(plan.terminals.map((terminal) => terminal.driftPartsPerMillion)),
        clockErrorSeconds: range(clockErrors.map((seconds) => Math.round(seconds * 10) / 10)),
      },
      radio: {
        uplinkDatagrams: sum((terminal) => terminal.modem.statistics.uplinkDatagrams),
        uplinkLost: sum((terminal) => terminal.modem.statistics.uplinkLost),
        downlinkDatagrams: sum((terminal) => terminal.modem.statistics.downlinkDatagrams),
        downlinkLost: sum((terminal) => terminal.modem.statistics.downlinkLost),
      },
      gateway: { ...totals, maximumRssMegabytes: maximumRss / 1048576 },
      drained,
      drainVirtualHours,
      simulator: { ...simulator },
      terminals: terminals.map((terminal, index) => ({
        name: terminal.name, imei: terminal.imei, driftPpm: terminal.boardClock.partsPerMillion, clockErrorSeconds: clockErrors[index]!,
        powerCuts: terminal.faults.powerCuts, hangs: terminal.faults.hangsInjected, polls: terminal.meter.polls.length,
      })),
      virtualDays: clock.now() / day,
      wallSeconds: (Date.now() - started) / 1000,
    };
    return report;
  } finally {
    for (const terminal of terminals) terminal.close();
    if (killing) await killing;
    await gateway.stop();
    await oracle.close();
    await broker.stop();
    time.close();
    if (report || !process.env.UDT_SOAK_KEEP) directory.remove();
    else log(`kept ${directory.path} for inspection`);
  }
}
