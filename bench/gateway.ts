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
 * gateway's MQTT client and embedded broker in its main thread instead of a worker thread, like the baseline).
 */
import { ChildProcess, spawn } from 'node:child_process';
import nodeCrypto from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { utf8Encode } from '../firmware/protocol/bytes';
import { buildUplinkRequest } from '../firmware/protocol/client';
import { CoapCode, CoapOption, CoapTypes, encodeCoap } from '../firmware/protocol/coap';
import { createNodeCcmAead } from '../firmware/protocol/crypto-backends';
import { OscoreContext, SenderSequence } from '../firmware/protocol/oscore-context';
import { encodeUplink } from '../firmware/protocol/uplink';
import { databaseFile, openDatabase } from '../gateway/store/database';
import { DeviceRegistry, DeviceSecrets } from '../gateway/store/registry';
import { LoadGenerator, RequestBuilder, StepResult, SUSTAINED_P99_LIMIT_MILLISECONDS } from './gateway-load';

const root = path.resolve(__dirname, '..');
const argumentsList = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const index = argumentsList.indexOf(`--${name}`);
  return index >= 0 ? Number(argumentsList[index + 1]) : fallback;
};
const deviceCount = option('devices', 200);
const stepSeconds = option('seconds', 4);
const maximumRate = option('max-rate', 40000);
const wantProfile = argumentsList.includes('--profile');
/** The gateway with its MQTT client and embedded broker in the same thread as everything else (mqttThread off). */
const oneThread = argumentsList.includes('--one-thread');
const quick = argumentsList.includes('--quick');
const RATES = (quick ? [500, 1000, 2000, 4000, 8000, 16000] : [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000, 28000, 32000, 40000]).filter(
  (rate) => rate <= maximumRate,
);
const CHANNELS = [{ name: 'volume', unit: 'm3' }];

async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

interface Child {
  process: ChildProcess;
  exited: Promise<void>;
}

function spawnReady(command: string[], readyMessage: string, environment: NodeJS.ProcessEnv = {}): Promise<Child> {
  const child = spawn(process.execPath, command, { cwd: root, env: { ...process.env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      output.push(line);
      if (line.includes(readyMessage)) resolve({ process: child, exited });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    exited.then(() => reject(new Error(`${command.join(' ')} exited before it was ready:\n${output.slice(-20).join('\n')}`)));
  });
}

async function stopChild(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 30000);
  await child.exited;
  clearTimeout(timer);
}

function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function deviceContext(secrets: DeviceSecrets): OscoreContext {
  const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
  return {
    keys: {
      senderId: hex(secrets.oscore.senderId),
      recipientId: hex(secrets.oscore.recipientId),
      idContext: null,
      senderKey: hex(secrets.oscore.senderKey),
      recipientKey: hex(secrets.oscore.recipientKey),
      commonIv: hex(secrets.oscore.commonIv),
    },
    aead: createNodeCcmAead(nodeCrypto),
    sequence: new SenderSequence(0, 1000000, () => true),
    replay: null,
  };
}

type MeasuredStep = StepResult & { systemCpu: number; cpuMicrosecondsPerUplink: number };

interface RunResult {
  name: string;
  steps: MeasuredStep[];
  sustainedRate: number;
  /** The step with the highest sustained rate. */
  best: MeasuredStep | null;
  at1000: StepResult | null;
}

interface CommitFigures {
  commits: number;
  uplinks: number;
  seconds: number;
  fsyncs: number;
  fsyncSeconds: number;
}

/** Commit count, uplinks committed and time in commits, from the gateway's /metrics. */
async function commitFigures(httpPort: number): Promise<CommitFigures> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    commits: value('udt_gateway_commit_batch_uplinks_count'),
    uplinks: value('udt_gateway_commit_batch_uplinks_sum'),
    seconds: value('udt_gateway_commit_duration_seconds_sum'),
    fsyncs: value('udt_gateway_fsync_duration_seconds_count'),
    fsyncSeconds: value('udt_gateway_fsync_duration_seconds_sum'),
  };
}

interface Target {
  /** "gateway" or "baseline", the first column of each line. */
  name: string;
  child: Child;
  generator: LoadGenerator;
  figures?: () => Promise<CommitFigures>;
  steps: MeasuredStep[];
  done: boolean;
}

const HEADER =
  '  target     offered/s  delivered/s    p50 ms    p99 ms    max ms  lost  dup  process CPU  CPU us/uplink  load CPU  uplinks/commit  ms/commit  ms/fsync\n';

/** One rate on one target, tried twice when it is not sustained the first time. */
async function measureRate(target: Target, rate: number): Promise<MeasuredStep> {
  let result: MeasuredStep | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const cpuBefore = cpuSecondsOf(target.child.process.pid!);
    const wallBefore = Date.now();
    const commitsBefore = target.figures ? await target.figures() : null;
    const step = await target.generator.runStep(rate, stepSeconds);
    const cpuSeconds = cpuSecondsOf(target.child.process.pid!) - cpuBefore;
    const systemCpu = cpuSeconds / ((Date.now() - wallBefore) / 1000);
    // All threads of the process (the gateway runs MQTT in a second one), per reading delivered.
    const cpuMicrosecondsPerUplink = step.delivered > 0 ? (cpuSeconds / step.delivered) * 1e6 : NaN;
    let commitText = '';
    if (target.figures && commitsBefore) {
      const after = await target.figures();
      const commits = after.commits - commitsBefore.commits;
      const fsyncs = after.fsyncs - commitsBefore.fsyncs;
      commitText =
        `  ${((after.uplinks - commitsBefore.uplinks) / commits).toFixed(1).padStart(14)}  ${(((after.seconds - commitsBefore.seconds) / commits) * 1000).toFixed(2).padStart(9)}` +
        `  ${(((after.fsyncSeconds - commitsBefore.fsyncSeconds) / fsyncs) * 1000).toFixed(2).padStart(8)}`;
    }
    result = { ...step, systemCpu, cpuMicrosecondsPerUplink };
    process.stdout.write(
      `  ${target.name.padEnd(9)}  ${String(rate).padStart(9)}  ${step.achievedRate.toFixed(0).padStart(11)}  ${step.p50Milliseconds.toFixed(1).padStart(8)}  ${step.p99Milliseconds
        .toFixed(1)
        .padStart(8)}  ${step.maximumMilliseconds.toFixed(0).padStart(8)}  ${String(step.sent - step.delivered).padStart(4)}  ${String(step.duplicates).padStart(3)}  ${(
        systemCpu * 100
      )
        .toFixed(0)
        .padStart(10)}%  ${cpuMicrosecondsPerUplink.toFixed(0).padStart(13)}  ${(step.generatorCpu * 100).toFixed(0).padStart(7)}%${commitText}${step.sustained ? '' : attempt === 0 ? '  (not sustained; again)' : '  (not sustained)'}\n`,
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

async function closeTarget(target: Target): Promise<void> {
  await target.generator.close();
  await stopChild(target.child);
}

/** The gateway (`udt gateway`) with `deviceCount` provisioned terminals; a fixed rate only (for a profile) when given. */
async function startGateway(directory: string, profileDirectory: string | null): Promise<Target> {
  const dataDirectory = path.join(directory, profileDirectory ? 'gateway-profile-data' : 'gateway-data');
  rmSync(dataDirectory, { recursive: true, force: true });
  const database = openDatabase(databaseFile(dataDirectory));
  const registry = new DeviceRegistry(database);
  const contexts: OscoreContext[] = [];
  for (let index = 0; index < deviceCount; index++) {
    const imei = `99${String(index).padStart(13, '0')}`;
    contexts.push(deviceContext(registry.provision({ imei, channels: CHANNELS, allowInvalidImei: true }).secrets));
  }
  database.close();
  const coapPort = await freePort('udp');
  const brokerPort = await freePort('tcp');
  const httpPort = await freePort('tcp');
  const nodeOptions = profileDirectory ? ['--cpu-prof', '--cpu-prof-dir', profileDirectory] : [];
  const child = await spawnReady(
    [...nodeOptions, 'bin/udt.js', 'gateway', '--data-dir', dataDirectory, '--coap-host', '127.0.0.1', '--coap-port', String(coapPort), '--broker-port', String(brokerPort), '--http-port', String(httpPort)],
    '"msg":"gateway started"',
    { UDT_GATEWAY_RATE_LIMIT_PER_SECOND: '0', UDT_GATEWAY_LOG_LEVEL: 'info', UDT_GATEWAY_MQTT_THREAD: oneThread ? 'false' : 'true' },
  );
  const build: RequestBuilder = (device, messageId, readingId, time) =>
    buildUplinkRequest(contexts[device]!, messageId, { readings: [{ id: readingId, time, values: [readingId / 1000] }], commandResults: [] }).datagram;
  const generator = new LoadGenerator({ deviceCount, coapPort, mqttUrl: `mqtt://127.0.0.1:${brokerPort}`, buildRequest: build });
  await generator.open();
  return { name: 'gateway', child, generator, figures: () => commitFigures(httpPort), steps: [], done: false };
}

async function startBaseline(): Promise<Target> {
  const coapPort = await freePort('udp');
  const brokerPort = await freePort('tcp');
  const channelText = CHANNELS.map((channel) => `${channel.name}:${channel.unit}`).join(',');
  const child = await spawnReady(['--require', 'tsx/cjs', 'bench/gateway-baseline.ts', String(coapPort), String(brokerPort), channelText], 'baseline started');
  const imeis = Array.from({ length: deviceCount }, (_, index) => `99${String(index).padStart(13, '0')}`);
  const build: RequestBuilder = (device, messageId, readingId, time) =>
    encodeCoap({
      type: CoapTypes.Confirmable,
      code: CoapCode.Post,
      messageId,
      token: new Uint8Array(0),
      options: [
        { number: CoapOption.UriPath, value: utf8Encode('up') },
        { number: CoapOption.UriQuery, value: utf8Encode(`imei=${imeis[device]}`) },
      ],
      payload: encodeUplink({ readings: [{ id: readingId, time, values: [readingId / 1000] }], commandResults: [] }),
    });
  const generator = new LoadGenerator({ deviceCount, coapPort, mqttUrl: `mqtt://127.0.0.1:${brokerPort}`, buildRequest: build });
  await generator.open();
  return { name: 'baseline', child, generator, steps: [], done: false };
}

/** Self time per function and per module from a V8 CPU profile. */
function summariseProfile(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
    samples: number[];
  };
  const total = profile.samples.length;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const url = node.callFrame.url.replace(`file://${root}/`, '').replace(root + '/', '');
    const name = `${node.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${node.callFrame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    let area: string;
    if (!url) area = node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : '(native / V8)';
    else if (url.startsWith('node:')) area = url.split('/')[0]!.replace(/^node:internal.*/, 'node internals') + (url.startsWith('node:internal') ? '' : '');
    else if (url.includes('node_modules/')) area = 'npm ' + url.split('node_modules/')[1]!.split('/')[0]!;
    else area = url.split('/').slice(0, 2).join('/');
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const top = (map: Map<string, number>, count: number): string =>
    [...map.entries()]
      .sort((left, right) => right[1] - left[1])
      .slice(0, count)
      .map(([name, hits]) => `    ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return `  by area (self time):\n${top(byArea, 14)}\n  by function (self time):\n${top(byFunction, 20)}`;
}

async function main(): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'udt-bench-gateway-'));
  process.stdout.write(
    `bench:gateway: ${deviceCount} terminals over loopback, ${stepSeconds} s per step, rates ${RATES[0]}..${RATES[RATES.length - 1]}/s; ` +
      `sustained = every reading delivered and p99 < ${SUSTAINED_P99_LIMIT_MILLISECONDS} ms\n` +
      `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
  );
  try {
    const targets: Target[] = [];
    let gateway: RunResult;
    let baseline: RunResult;
    try {
      targets.push(await startGateway(directory, null));
      targets.push(await startBaseline());
      await runInterleaved(targets);
      gateway = resultOf(targets[0]!);
      baseline = resultOf(targets[1]!);
    } finally {
      for (const target of targets) await closeTarget(target);
    }
    const ratio = baseline.sustainedRate > 0 ? gateway.sustainedRate / baseline.sustainedRate : NaN;
    const p99At1000 = gateway.at1000?.p99Milliseconds ?? NaN;
    process.stdout.write(
      `\nsummary\n` +
        `  gateway (OSCORE + fsynced journal):  sustained ${gateway.sustainedRate.toFixed(0)} uplinks/s; at 1000/s p50 ${gateway.at1000?.p50Milliseconds.toFixed(1)} ms, p99 ${p99At1000.toFixed(1)} ms\n` +
        `  baseline (plain, no durability):     sustained ${baseline.sustainedRate.toFixed(0)} uplinks/s; at 1000/s p50 ${baseline.at1000?.p50Milliseconds.toFixed(1)} ms, p99 ${baseline.at1000?.p99Milliseconds.toFixed(1)} ms\n` +
        `  ratio gateway/baseline: ${(ratio * 100).toFixed(0)}% (target >= 80%); p99 at 1000/s ${p99At1000.toFixed(1)} ms (target < 50 ms)\n` +
        `  CPU per uplink at the highest sustained rate (all threads of the process): gateway ${gateway.best?.cpuMicrosecondsPerUplink.toFixed(0)} us ` +
        `(${oneThread ? 'everything in one thread (--one-thread)' : 'UDP, OSCORE and the journal in one thread, MQTT client and embedded broker in a second'}), baseline ${baseline.best?.cpuMicrosecondsPerUplink.toFixed(0)} us (one thread)\n`,
    );
    const missed = !(ratio >= 0.8) || !(p99At1000 < 50);
    if (missed || wantProfile) {
      const profileDirectory = path.join(directory, 'profile');
      const rate = Math.max(1000, Math.round(gateway.sustainedRate / 500) * 500);
      process.stdout.write(`\nprofile of the gateway process at ${rate} uplinks/s${missed ? ' (a target was missed)' : ''}:\n`);
      const profiled = await startGateway(directory, profileDirectory);
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
        process.stdout.write(`  ${thread === 0 ? 'main thread (UDP, OSCORE, journal)' : `thread ${thread} (MQTT client and embedded broker)`}, wall-clock samples:\n`);
        process.stdout.write(summariseProfile(path.join(profileDirectory, file)) + '\n');
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench:gateway failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
