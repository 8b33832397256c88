/**
 * The attack run: the gateway as its own process with a real MQTT broker, genuine terminals reporting over real
 * UDP on loopback the whole time, and an attacker working through phases: replays at once, every single-bit flip
 * and every truncation of captured uplinks, wrong keys and unknown kids, a junk flood from many source ports,
 * replays after a gateway SIGKILL and restart, and replays after device reboots. Phases are separated with the
 * genuine traffic paused for a moment, so the gateway's counters can be attributed exactly: an uplink the gateway
 * accepted in a phase that no genuine terminal had acknowledged is an attack that got through.
 */
import path from 'node:path';
import { TestBroker } from '../../gateway/support/broker';
import { temporaryDirectory, testImei } from '../../gateway/support/harness';
import { databaseFile, openDatabase } from '../../../gateway/store/database';
import { DeviceRegistry, DeviceSecrets } from '../../../gateway/store/registry';
import { AttackerPool, CategoryCounts } from './attacker';
import { Datagram, junk, replays, replaysWithNewMessageId, singleBitFlips, truncations, unknownKidUplinks, wrongKeyUplinks } from './forgeries';
import { addCounters, GatewayCounters, GatewayUnderTest } from './gateway-control';
import { GenuineTerminal, TerminalFlash } from './genuine-terminal';
import { OracleReport, ReadingOracle } from './oracle';

export interface AttackOptions {
  terminals: number;
  readingIntervalMilliseconds: number;
  warmupSeconds: number;
  /** Captured uplinks whose every bit flip and truncation is sent. */
  flipSources: number;
  forgeryPerSecond: number;
  forgeSourcePorts: number;
  wrongKeyVictims: number;
  wrongKeyPerVictim: number;
  unknownKids: number;
  floodPerSecond: number;
  floodSeconds: number;
  floodSourcePorts: number;
  /** Terminals rebooted in the last phase. */
  reboots: number;
  drainSeconds: number;
  log: (line: string) => void;
}

export interface PhaseReport {
  name: string;
  seconds: number;
  /** Attack datagrams sent in this phase, by category. */
  sent: Record<string, number>;
  gateway: GatewayCounters;
  genuineAcknowledged: number;
  /** Accepted by the gateway minus acknowledged to genuine terminals: attack datagrams that got through. */
  attackAccepted: number;
}

export interface AttackReport {
  options: Omit<AttackOptions, 'log'>;
  phases: PhaseReport[];
  oracle: OracleReport;
  genuine: { requests: number; transmissions: number; retransmissions: number; acknowledged: number; refusals: Record<string, number>; largestResponseRatio: number; largestResponse: number };
  attack: { sent: number; accepted: number; categories: Record<string, CategoryCounts>; unmatchedResponses: number };
  gatewayTotals: GatewayCounters;
  rss: { before: number; duringMax: number; after: number };
  trackedFloodPorts: number;
  restarts: number;
  drained: boolean;
  gracefulExit: number | null;
  wallSeconds: number;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function* chain(...sources: Iterable<Datagram>[]): Generator<Datagram> {
  for (const source of sources) yield* source;
}

export async function runAttack(options: AttackOptions): Promise<AttackReport> {
  const started = Date.now();
  const log = options.log;
  const directory = temporaryDirectory('udt-attack-');
  const broker = await TestBroker.start();
  const dataDirectory = path.join(directory.path, 'data');
  const database = openDatabase(databaseFile(dataDirectory));
  const registry = new DeviceRegistry(database);
  const secrets: DeviceSecrets[] = [];
  for (let index = 0; index < options.terminals; index++) {
    secrets.push(registry.provision({ imei: testImei(7000 + index), channels: [{ name: 'count' }] }).secrets);
  }
  database.close();
  const knownKids = new Set(secrets.map((entry) => entry.oscore.kid));

  // The broker is Aedes, which loses QoS 2 messages (gateway/gateway.ts, connectPublisher): QoS 1.
  const gateway = await GatewayUnderTest.create(dataDirectory, broker.url, { UDT_GATEWAY_MQTT_QOS: '1' });
  // The forger's sockets each send every forgeSourcePorts / forgeryPerSecond seconds (128 ms by default): an
  // answer is due within a few milliseconds, so a request older than half that interval went unanswered.
  const forger = await AttackerPool.open(options.forgeSourcePorts, gateway.coapPort, (500 * options.forgeSourcePorts) / options.forgeryPerSecond);
  const flooder = await AttackerPool.open(options.floodSourcePorts, gateway.coapPort);
  const oracle = await ReadingOracle.connect(broker.url);
  const produced = new Map<string, Map<number, number>>();
  const retired: GenuineTerminal[] = [];
  let terminals: GenuineTerminal[] = [];
  const phases: PhaseReport[] = [];
  let report: AttackReport | null = null;
  try {
    await gateway.start();
    log(`gateway pid ${gateway.pid} on udp/${gateway.coapPort}, /metrics on tcp/${gateway.httpPort}, broker ${broker.url}`);
    const terminalOptions = { gatewayPort: gateway.coapPort, readingIntervalMilliseconds: options.readingIntervalMilliseconds, retransmitMilliseconds: 250, batchLimit: 8, checkpointInterval: 16 };
    terminals = secrets.map((entry, index) => {
      const readings = new Map<number, number>();
      produced.set(entry.imei, readings);
      return new GenuineTerminal(index, entry, { checkpoint: 0, nextReadingId: 1, pending: [] }, readings, terminalOptions);
    });
    for (const terminal of terminals) await terminal.start();
    for (const terminal of terminals) terminal.produce();
    const all = (): GenuineTerminal[] => [...retired, ...terminals];
    const acknowledged = (): number => all().reduce((sum, terminal) => sum + terminal.statistics.acknowledged, 0);
    const captured = (): Uint8Array[] => terminals.flatMap((terminal) => terminal.captured);
    const sentByCategory = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const pool of [forger, flooder]) for (const [name, counts] of pool.counts) out[name] = counts.sent;
      return out;
    };

    let before = await gateway.scrape();
    let acknowledgedBefore = acknowledged();
    let sentBefore = sentByCategory();
    let phaseStarted = Date.now();
    /** Ends a phase: genuine traffic paused so nothing is in flight, counters read, optionally the gateway killed. */
    const boundary = async (name: string, beforeResume?: () => Promise<void>): Promise<void> => {
      await sleep(300);
      await Promise.all(terminals.map((terminal) => terminal.pause()));
      await sleep(100);
      const after = await gateway.scrape();
      const sentNow = sentByCategory();
      const sent: Record<string, number> = {};
      for (const [category, count] of Object.entries(sentNow)) if (count - (sentBefore[category] ?? 0) > 0) sent[category] = count - (sentBefore[category] ?? 0);
      const delta = addCounters(after, before, -1);
      const genuineAcknowledged = acknowledged() - acknowledgedBefore;
      const phase: PhaseReport = { name, seconds: (Date.now() - phaseStarted) / 1000, sent, gateway: delta, genuineAcknowledged, attackAccepted: delta.accepted - genuineAcknowledged };
      phases.push(phase);
      log(`phase ${name}: ${JSON.stringify(sent)}; gateway accepted ${delta.accepted}, genuine acknowledged ${genuineAcknowledged}, rejected ${JSON.stringify(delta.rejected)}, retransmission answers ${delta.retransmissions}`);
      if (beforeResume) await beforeResume();
      before = await gateway.scrape();
      acknowledgedBefore = acknowledged();
      sentBefore = sentByCategory();
      phaseStarted = Date.now();
      for (const terminal of terminals) terminal.resume();
    };

    await sleep(options.warmupSeconds * 1000);
    await boundary('warm-up');
    const rssBefore = gateway.rss();

    // Replays at once: the same bytes (answered from the retransmission cache, never processed again) and the same
    // OSCORE content under a new message id (reaches the replay window).
    const firstCaptures = captured();
    await forger.sendPaced(chain(replays('replay at once', firstCaptures), replaysWithNewMessageId('replay at once, new message id', firstCaptures)), options.forgeryPerSecond);
    await boundary('replay at once');

    const flipSources = terminals.slice(0, options.flipSources).map((terminal) => terminal.captured[terminal.captured.length - 1]!).filter(Boolean);
    await forger.sendPaced(chain(singleBitFlips('single-bit flip', flipSources), truncations('truncation', flipSources)), options.forgeryPerSecond);
    await boundary('bit flips and truncations');

    await forger.sendPaced(
      chain(wrongKeyUplinks('wrong key', secrets.slice(0, options.wrongKeyVictims), options.wrongKeyPerVictim), unknownKidUplinks('unknown kid', options.unknownKids, knownKids)),
      options.forgeryPerSecond,
    );
    await boundary('wrong keys and unknown kids');

    let rssDuring = gateway.rss();
    const sampler = setInterval(() => (rssDuring = Math.max(rssDuring, gateway.rss())), 200);
    const floodTook = await flooder.sendPaced(junk('junk flood', Math.round(options.floodPerSecond * options.floodSeconds), 0xf100d, captured()), options.floodPerSecond);
    clearInterval(sampler);
    log(`flood: ${Math.round(options.floodPerSecond * options.floodSeconds)} datagrams in ${floodTook.toFixed(1)} s from ${flooder.sourcePorts} source ports`);
    await boundary('junk flood');
    await sleep(2000);
    const rssAfter = gateway.rss();

    const beforeRestart = captured();
    await boundary('before restart', async () => {
      await gateway.killAndRestart();
      log(`gateway SIGKILLed and restarted (pid ${gateway.pid})`);
    });
    await forger.sendPaced(chain(replays('replay after gateway restart', beforeRestart), replaysWithNewMessageId('replay after gateway restart, new message id', beforeRestart)), options.forgeryPerSecond);
    await boundary('replay after gateway restart');

    // Device reboots: the old client instance is powered off; a new one resumes from its flash (checkpoint,
    // journal) on a new source port. The old instance's captures are replayed.
    await Promise.all(terminals.map((terminal) => terminal.pause()));
    const rebooted = terminals.slice(0, options.reboots);
    const oldCaptures = rebooted.flatMap((terminal) => terminal.captured);
    for (const [index, terminal] of rebooted.entries()) {
      await terminal.stop();
      retired.push(terminal);
      const flash: TerminalFlash = terminal.flash;
      const fresh = new GenuineTerminal(terminal.deviceIndex, terminal.secrets, flash, terminal.produced, terminalOptions);
      terminals[index] = fresh;
      await fresh.start();
      fresh.produce();
    }
    for (const terminal of terminals) terminal.resume();
    await sleep(1000);
    await forger.sendPaced(chain(replays('replay after device reboot', oldCaptures), replaysWithNewMessageId('replay after device reboot, new message id', oldCaptures)), options.forgeryPerSecond);
    await boundary('replay after device reboot');

    for (const terminal of terminals) terminal.stopProducing();
    const drainDeadline = Date.now() + options.drainSeconds * 1000;
    while (Date.now() < drainDeadline && !terminals.every((terminal) => terminal.drained)) await sleep(50);
    const drained = terminals.every((terminal) => terminal.drained);
    const expected = [...produced].flatMap(([device, readings]) => [...readings.keys()].map((id) => [device, id] as const));
    while (Date.now() < drainDeadline && !expected.every(([device, id]) => oracle.has(device, id))) await sleep(50);
    await sleep(500);
    await boundary('drain');
    const totals = await gateway.scrape();
    for (const terminal of terminals) await terminal.stop();
    const gracefulExit = await gateway.stop();

    const genuine = { requests: 0, transmissions: 0, retransmissions: 0, acknowledged: 0, refusals: {} as Record<string, number>, largestResponseRatio: 0, largestResponse: 0 };
    for (const terminal of all()) {
      const statistics = terminal.statistics;
      genuine.requests += statistics.requests;
      genuine.transmissions += statistics.transmissions;
      genuine.retransmissions += statistics.retransmissions;
      genuine.acknowledged += statistics.acknowledged;
      for (const [reason, count] of Object.entries(statistics.refusals)) genuine.refusals[reason] = (genuine.refusals[reason] ?? 0) + count;
      genuine.largestResponseRatio = Math.max(genuine.largestResponseRatio, statistics.largestResponseRatio);
      genuine.largestResponse = Math.max(genuine.largestResponse, statistics.largestResponse);
    }
    const categories: Record<string, CategoryCounts> = {};
    for (const pool of [forger, flooder]) for (const [name, counts] of pool.counts) categories[name] = counts;
    const attackSent = Object.values(categories).reduce((sum, counts) => sum + counts.sent, 0);
    const { log: _log, ...settings } = options;
    report = {
      options: settings,
      phases,
      oracle: oracle.evaluate(produced),
      genuine,
      attack: { sent: attackSent, accepted: phases.reduce((sum, phase) => sum + Math.max(0, phase.attackAccepted), 0), categories, unmatchedResponses: forger.unmatchedResponses + flooder.unmatchedResponses },
      gatewayTotals: totals,
      rss: { before: rssBefore, duringMax: rssDuring, after: rssAfter },
      trackedFloodPorts: flooder.sourcePorts,
      restarts: gateway.restarts,
      drained,
      gracefulExit,
      wallSeconds: (Date.now() - started) / 1000,
    };
    return report;
  } finally {
    for (const terminal of terminals) await terminal.stop().catch(() => undefined);
    if (!report) await gateway.stop().catch(() => undefined);
    forger.close();
    flooder.close();
    await oracle.close();
    await broker.stop();
    directory.remove();
  }
}
