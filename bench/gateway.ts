/**
 * `npm run bench:gateway`: authentic uplinks (OSCORE, SenML-CBOR) from many simulated terminals over loopback
 * at rising rates into the real gateway (`udt gateway`, embedded broker, SQLite journal with fsync), and the
 * same load in plain CoAP into a baseline forwarder built from the same libraries without security or
 * durability (bench/gateway-baseline.ts), the two alternating rate by rate so that load from elsewhere on a
 * shared machine falls on both alike. Prints sustained uplinks/s, p50/p99 uplink-to-MQTT latency and CPU per
 * uplink of both, and the ratio. Targets: gateway >= 80% of the baseline's sustained rate; p99 < 50 ms at
 * 1,000 uplinks/s.
 *
 * Options: --devices N (200), --seconds S per step (4), --max-rate R, --profile (CPU profile of the gateway at
 * its highest sustained rate; done anyway when a target is missed), --quick (fewer steps), --one-thread (the
 * gateway's MQTT client and embedded broker in its main thread instead of a worker thread, like the baseline),
 * --broker mosquitto (each target publishes to a Mosquitto of its own instead of an embedded Aedes: the gateway
 * then at its production default, QoS 2 exactly once with at most 20 messages in flight; the baseline at QoS 1),
 * --mqtt-qos 1 (with --broker mosquitto: the gateway at QoS 1, at least once, like the baseline), --broker-inflight N
 * (with --broker mosquitto: Mosquitto's max_inflight_messages and the gateway's mqttBrokerInflightMaximum, 20 by default).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flag, numberOption, textOption } from './arguments';
import { StepResult, SUSTAINED_P99_LIMIT_MILLISECONDS } from './gateway-load';
import { closeTarget, cpuSecondsOf, freePort, startBaseline, startGateway, summariseProfile, Target as StartedTarget } from './gateway-targets';
import { findExecutable } from '../test/gateway/support/mosquitto';
import { SoakBroker } from './soak/broker';

/** Bad input: say what is wrong and stop with exit code 2. */
function usageError(message: string): never {
  process.stderr.write(`bench:gateway: ${message}\n`);
  process.exit(2);
}

const deviceCount = numberOption('devices', 200);
const stepSeconds = numberOption('seconds', 4);
const maximumRate = numberOption('max-rate', 40000);
const wantProfile = flag('profile');
/** The gateway with its MQTT client and embedded broker in the same thread as everything else (mqttThread off). */
const oneThread = flag('one-thread');
const quick = flag('quick');
const brokerChoice = flag('broker') ? textOption('broker') : 'embedded';
if (brokerChoice !== 'embedded' && brokerChoice !== 'mosquitto') usageError(`--broker takes "mosquitto" or "embedded", not "${brokerChoice}"`);
const useMosquitto = brokerChoice === 'mosquitto';
if (useMosquitto && !findExecutable('mosquitto')) usageError('--broker mosquitto needs the mosquitto broker (Debian: apt-get install mosquitto)');
const qosOption = numberOption('mqtt-qos', 2);
if (qosOption !== 1 && qosOption !== 2) usageError('--mqtt-qos takes 1 or 2');
const gatewayQos: 1 | 2 = qosOption;
if (gatewayQos !== 2 && !useMosquitto) usageError('--mqtt-qos needs --broker mosquitto (toward its embedded broker the gateway always publishes at QoS 1)');
/** Mosquitto's max_inflight_messages and the gateway's mqttBrokerInflightMaximum, set together (null: their defaults). */
const brokerInflight = flag('broker-inflight') ? numberOption('broker-inflight', NaN) : null;
if (brokerInflight !== null && (!useMosquitto || !Number.isInteger(brokerInflight) || brokerInflight < 1 || brokerInflight > 65535)) {
  usageError('--broker-inflight takes a whole number from 1 to 65535, with --broker mosquitto');
}
const RATES = (quick ? [500, 1000, 2000, 4000, 8000, 16000] : [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000, 28000, 32000, 40000]).filter(
  (rate) => rate <= maximumRate,
);

type MeasuredStep = StepResult & { systemCpu: number; cpuMicrosecondsPerUplink: number; mainThreadMicrosecondsPerUplink: number };

interface RunResult {
  name: string;
  steps: MeasuredStep[];
  sustainedRate: number;
  /** The step with the highest sustained rate. */
  best: MeasuredStep | null;
  at1000: StepResult | null;
}

interface Target extends StartedTarget {
  steps: MeasuredStep[];
  done: boolean;
}

const HEADER =
  '  target     offered/s  delivered/s    p50 ms    p99 ms    max ms  lost  dup  process CPU  CPU us/uplink  main us/uplink  load CPU  uplinks/commit  ms/commit  ms/fsync  busy\n';

/** One rate on one target, tried twice when it is not sustained the first time. */
async function measureRate(target: Target, rate: number): Promise<MeasuredStep> {
  let result: MeasuredStep | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const pid = target.child.process.pid!;
    const cpuBefore = cpuSecondsOf(pid);
    const mainBefore = cpuSecondsOf(pid, pid);
    const wallBefore = Date.now();
    const commitsBefore = target.figures ? await target.figures() : null;
    const step = await target.generator.runStep(rate, stepSeconds);
    const cpuSeconds = cpuSecondsOf(pid) - cpuBefore;
    const mainSeconds = cpuSecondsOf(pid, pid) - mainBefore;
    const systemCpu = cpuSeconds / ((Date.now() - wallBefore) / 1000);
    // All threads of the process (the gateway runs MQTT in a second one), per reading delivered.
    const cpuMicrosecondsPerUplink = step.delivered > 0 ? (cpuSeconds / step.delivered) * 1e6 : NaN;
    // The thread that answers terminals (UDP, OSCORE, journal): what limits the gateway's rate.
    const mainThreadMicrosecondsPerUplink = step.delivered > 0 ? (mainSeconds / step.delivered) * 1e6 : NaN;
    let commitText = '';
    if (target.figures && commitsBefore) {
      const after = await target.figures();
      const commits = after.commits - commitsBefore.commits;
      const fsyncs = after.fsyncs - commitsBefore.fsyncs;
      commitText =
        `  ${((after.uplinks - commitsBefore.uplinks) / commits).toFixed(1).padStart(14)}  ${(((after.seconds - commitsBefore.seconds) / commits) * 1000).toFixed(2).padStart(9)}` +
        `  ${(((after.fsyncSeconds - commitsBefore.fsyncSeconds) / fsyncs) * 1000).toFixed(2).padStart(8)}  ${String(after.busy - commitsBefore.busy).padStart(4)}`;
    }
    result = { ...step, systemCpu, cpuMicrosecondsPerUplink, mainThreadMicrosecondsPerUplink };
    process.stdout.write(
      `  ${target.name.padEnd(9)}  ${String(rate).padStart(9)}  ${step.achievedRate.toFixed(0).padStart(11)}  ${step.p50Milliseconds.toFixed(1).padStart(8)}  ${step.p99Milliseconds
        .toFixed(1)
        .padStart(8)}  ${step.maximumMilliseconds.toFixed(0).padStart(8)}  ${String(step.sent - step.delivered).padStart(4)}  ${String(step.duplicates).padStart(3)}  ${(
        systemCpu * 100
      )
        .toFixed(0)
        .padStart(10)}%  ${cpuMicrosecondsPerUplink.toFixed(0).padStart(13)}  ${mainThreadMicrosecondsPerUplink.toFixed(0).padStart(14)}  ${(step.generatorCpu * 100).toFixed(0).padStart(7)}%${commitText}${step.sustained ? '' : attempt === 0 ? '  (not sustained; again)' : '  (not sustained)'}\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (step.sustained) break;
  }
  return result!;
}

/**
 * Both targets over the same rising rates, alternating at each rate (gateway, then baseline), so that load from
 * elsewhere on the machine falls on both alike instead of on whichever ran first. A target stops at its first
 * rate not sustained.
 */
async function runInterleaved(targets: Target[]): Promise<void> {
  process.stdout.write(`\n${HEADER}`);
  for (const target of targets) await target.generator.runStep(200, 1);
  for (const rate of RATES) {
    for (const target of targets) {
      if (target.done) continue;
      const result = await measureRate(target, rate);
      target.steps.push(result);
      if (!result.sustained) target.done = true;
    }
    if (targets.every((target) => target.done)) break;
  }
}

function resultOf(target: Target): RunResult {
  const steps = target.steps;
  const sustained = steps.filter((step) => step.sustained);
  const best = sustained.reduce<MeasuredStep | null>((top, step) => (!top || step.achievedRate > top.achievedRate ? step : top), null);
  return {
    name: target.name,
    steps,
    best,
    sustainedRate: best ? best.achievedRate : 0,
    at1000: steps.find((step) => step.offeredRate === 1000) ?? null,
  };
}

async function main(): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'udt-bench-gateway-'));
  process.stdout.write(
    `bench:gateway: ${deviceCount} terminals over loopback, ${stepSeconds} s per step, rates ${RATES[0]}..${RATES[RATES.length - 1]}/s; ` +
      `sustained = every reading delivered and p99 < ${SUSTAINED_P99_LIMIT_MILLISECONDS} ms\n` +
      `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
  );
  const brokers: SoakBroker[] = [];
  try {
    const targets: Target[] = [];
    let gateway: RunResult;
    let baseline: RunResult;
    let gatewayBrokerUrl: string | undefined;
    let baselineBrokerUrl: string | undefined;
    if (useMosquitto) {
      // One broker per target, so that neither competes with the other's traffic inside one broker.
      for (const name of ['gateway-broker', 'baseline-broker']) {
        const brokerDirectory = path.join(directory, name);
        mkdirSync(brokerDirectory);
        const settings = brokerInflight === null ? [] : [`max_inflight_messages ${brokerInflight}`];
        brokers.push(await SoakBroker.start(brokerDirectory, await freePort('tcp'), 'mosquitto', settings));
      }
      gatewayBrokerUrl = brokers[0]!.url;
      baselineBrokerUrl = brokers[1]!.url;
      process.stdout.write(
        `brokers: ${brokers.map((broker) => broker.description).join('; ')}; gateway at QoS ${gatewayQos}${gatewayQos === 2 ? ' (exactly once)' : ''}, baseline at QoS 1; ` +
          `max_inflight_messages ${brokerInflight ?? '20 (default)'}\n`,
      );
    }
    try {
      targets.push({ ...(await startGateway(directory, { deviceCount, profileDirectory: null, oneThread, mqttUrl: gatewayBrokerUrl, mqttQos: useMosquitto ? gatewayQos : undefined, brokerInflightMaximum: brokerInflight ?? undefined })), steps: [], done: false });
      targets.push({ ...(await startBaseline(deviceCount, baselineBrokerUrl)), steps: [], done: false });
      await runInterleaved(targets);
      gateway = resultOf(targets[0]!);
      baseline = resultOf(targets[1]!);
    } finally {
      for (const target of targets) await closeTarget(target);
    }
    const ratio = baseline.sustainedRate > 0 ? gateway.sustainedRate / baseline.sustainedRate : NaN;
    const mqttSide = useMosquitto ? 'MQTT client in a second, Mosquitto in its own process' : 'MQTT client and embedded broker in a second';
    const p99At1000 = gateway.at1000?.p99Milliseconds ?? NaN;
    process.stdout.write(
      `\nsummary\n` +
        `  gateway (OSCORE + fsynced journal${useMosquitto ? `, QoS ${gatewayQos} to Mosquitto` : ''}):  sustained ${gateway.sustainedRate.toFixed(0)} uplinks/s; at 1000/s p50 ${gateway.at1000?.p50Milliseconds.toFixed(1)} ms, p99 ${p99At1000.toFixed(1)} ms\n` +
        `  baseline (plain, no durability${useMosquitto ? ', QoS 1 to Mosquitto' : ''}):     sustained ${baseline.sustainedRate.toFixed(0)} uplinks/s; at 1000/s p50 ${baseline.at1000?.p50Milliseconds.toFixed(1)} ms, p99 ${baseline.at1000?.p99Milliseconds.toFixed(1)} ms\n` +
        `  ratio gateway/baseline: ${(ratio * 100).toFixed(0)}% (target >= 80%); p99 at 1000/s ${p99At1000.toFixed(1)} ms (target < 50 ms)\n` +
        `  CPU per uplink at the highest sustained rate (all threads of the process): gateway ${gateway.best?.cpuMicrosecondsPerUplink.toFixed(0)} us, main thread ${gateway.best?.mainThreadMicrosecondsPerUplink.toFixed(0)} us ` +
        `(${oneThread ? 'everything in one thread (--one-thread)' : `UDP, OSCORE and the journal in one thread, ${mqttSide}`}), baseline ${baseline.best?.cpuMicrosecondsPerUplink.toFixed(0)} us (one thread)\n`,
    );
    const missed = !(ratio >= 0.8) || !(p99At1000 < 50);
    if (missed || wantProfile) {
      const profileDirectory = path.join(directory, 'profile');
      const rate = Math.max(1000, Math.round(gateway.sustainedRate / 500) * 500);
      process.stdout.write(`\nprofile of the gateway process at ${rate} uplinks/s${missed ? ' (a target was missed)' : ''}:\n`);
      const profiled = await startGateway(directory, { deviceCount, profileDirectory, oneThread, mqttUrl: gatewayBrokerUrl, mqttQos: useMosquitto ? gatewayQos : undefined, brokerInflightMaximum: brokerInflight ?? undefined });
      try {
        // Long enough that start-up (module loading, TypeScript compilation by tsx) is a small part of the profile.
        await profiled.generator.runStep(rate, Math.max(12, stepSeconds * 3));
      } finally {
        await closeTarget(profiled);
      }
      // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile (thread 0 is the main one).
      const files = readdirSync(profileDirectory)
        .filter((file) => file.endsWith('.cpuprofile'))
        .map((file) => ({ file, thread: Number(file.split('.').slice(-3)[0]) }))
        .sort((left, right) => left.thread - right.thread);
      for (const { file, thread } of files) {
        process.stdout.write(`  ${thread === 0 ? 'main thread (UDP, OSCORE, journal)' : `thread ${thread} (MQTT client${useMosquitto ? '' : ' and embedded broker'})`}, wall-clock samples:\n`);
        process.stdout.write(summariseProfile(path.join(profileDirectory, file)) + '\n');
      }
    }
  } finally {
    for (const broker of brokers) await broker.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench:gateway failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
