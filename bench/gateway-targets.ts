/**
 * The two processes bench:gateway measures, started as children with a load generator each: the gateway
 * (`udt gateway`, provisioned terminals, OSCORE uplinks) and the baseline forwarder (plain CoAP), plus the CPU
 * figures read from /proc (the whole process, and one thread of it).
 */
import { ChildProcess, spawn } from 'node:child_process';
import nodeCrypto from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
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
import { LoadGenerator, RequestBuilder } from './gateway-load';

export const root = path.resolve(__dirname, '..');
const CHANNELS = [{ name: 'volume', unit: 'm3' }];

export async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
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

export interface Child {
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

export async function stopChild(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 30000);
  await child.exited;
  clearTimeout(timer);
}

/** User + system CPU seconds of a process (all its threads), or of one thread of it. */
export function cpuSecondsOf(pid: number, threadId?: number): number {
  try {
    const file = threadId === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${threadId}/stat`;
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}


/** CPU seconds of each thread of a process, by thread id (the main thread's id is the process id). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const byThread = new Map<number, number>();
  let threads: string[] = [];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byThread;
  }
  for (const thread of threads) {
    const seconds = cpuSecondsOf(pid, Number(thread));
    if (Number.isFinite(seconds)) byThread.set(Number(thread), seconds);
  }
  return byThread;
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


export interface CommitFigures {
  commits: number;
  uplinks: number;
  seconds: number;
  fsyncs: number;
  fsyncSeconds: number;
  /** Uplinks answered 5.03 because too many waited for their commit (maximumPendingUplinks). */
  busy: number;
}

/** Commit count, uplinks committed and time in commits, from the gateway's /metrics. */
export async function commitFigures(httpPort: number): Promise<CommitFigures> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    commits: value('udt_gateway_commit_batch_uplinks_count'),
    uplinks: value('udt_gateway_commit_batch_uplinks_sum'),
    seconds: value('udt_gateway_commit_duration_seconds_sum'),
    fsyncs: value('udt_gateway_fsync_duration_seconds_count'),
    fsyncSeconds: value('udt_gateway_fsync_duration_seconds_sum'),
    busy: Number(/^udt_gateway_uplinks_rejected_total\{reason="busy"\} ([0-9.e+-]+)$/m.exec(text)?.[1] ?? 0),
  };
}

/** A started child process and the load generator aimed at it. */
export interface Target {
  /** "gateway" or "baseline", the first column of each line. */
  name: string;
  child: Child;
  generator: LoadGenerator;
  figures?: () => Promise<CommitFigures>;
}

export interface GatewayStartOptions {
  deviceCount: number;
  /** Where node --cpu-prof writes one profile per thread; null for none. */
  profileDirectory: string | null;
  /** The gateway with MQTT in its main thread (mqttThread off). */
  oneThread: boolean;
  /**
   * An external broker: the gateway's --mqtt URL (it then publishes at its default QoS 2), where the load
   * generator subscribes too. The gateway's embedded broker when absent.
   */
  mqttUrl?: string;
  /** The gateway's QoS toward `mqttUrl` (its default, 2, when absent). */
  mqttQos?: 1 | 2;
  /** The gateway's mqttBrokerInflightMaximum (its default, 20, when absent). */
  brokerInflightMaximum?: number;
}


export async function closeTarget(target: Target): Promise<void> {
  await target.generator.close();
  await stopChild(target.child);
}

/** The gateway (`udt gateway`) with `deviceCount` provisioned terminals, in a fresh data directory under `directory`. */
export async function startGateway(directory: string, options: GatewayStartOptions): Promise<Target> {
  const { deviceCount, profileDirectory, oneThread } = options;
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
    {
      UDT_GATEWAY_RATE_LIMIT_PER_SECOND: '0',
      UDT_GATEWAY_LOG_LEVEL: 'info',
      UDT_GATEWAY_MQTT_THREAD: oneThread ? 'false' : 'true',
      ...(options.mqttUrl ? { UDT_GATEWAY_MQTT_URL: options.mqttUrl } : {}),
      ...(options.mqttQos ? { UDT_GATEWAY_MQTT_QOS: String(options.mqttQos) } : {}),
      ...(options.brokerInflightMaximum ? { UDT_GATEWAY_MQTT_BROKER_INFLIGHT_MAXIMUM: String(options.brokerInflightMaximum) } : {}),
    },
  );
  const build: RequestBuilder = (device, messageId, readingId, time) =>
    buildUplinkRequest(contexts[device]!, messageId, { readings: [{ id: readingId, time, values: [readingId / 1000] }], commandResults: [] }).datagram;
  const generator = new LoadGenerator({ deviceCount, coapPort, mqttUrl: options.mqttUrl ?? `mqtt://127.0.0.1:${brokerPort}`, buildRequest: build });
  await generator.open();
  return { name: 'gateway', child, generator, figures: () => commitFigures(httpPort) };
}

/** The baseline forwarder with its own embedded broker, or publishing to `mqttUrl`. */
export async function startBaseline(deviceCount: number, mqttUrl?: string): Promise<Target> {
  const coapPort = await freePort('udp');
  const brokerPort = await freePort('tcp');
  const channelText = CHANNELS.map((channel) => `${channel.name}:${channel.unit}`).join(',');
  const command = ['--require', 'tsx/cjs', 'bench/gateway-baseline.ts', String(coapPort), String(brokerPort), channelText, ...(mqttUrl ? [mqttUrl] : [])];
  const child = await spawnReady(command, 'baseline started');
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
  const generator = new LoadGenerator({ deviceCount, coapPort, mqttUrl: mqttUrl ?? `mqtt://127.0.0.1:${brokerPort}`, buildRequest: build });
  await generator.open();
  return { name: 'baseline', child, generator };
}

/** Self time per function and per module from a V8 CPU profile. */
export function summariseProfile(file: string): string {
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
