/**
 * A fleet: every terminal of a scenario on ONE virtual clock, each with its modem model sending real UDP to one
 * real gateway (gateway/gateway.ts: OSCORE, SQLite journal, MQTT) whose clock is the fleet's virtual network
 * time, and an MQTT observer that counts what the gateway publishes per device and reading id. The gateway and
 * the observer run in a worker thread (gateway-worker.ts), the terminals in this one.
 *
 * Virtual time runs as fast as the machine allows (`run()`), pausing whenever a datagram is on its way to the
 * gateway so no reply is jumped over, or paced to the wall clock times `speed` (`udt start`).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadBoards } from '../../hal/board-loader';
import { DEFAULT_CONFIG, type GatewayConfig } from '../../gateway/config';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { VirtualClock } from '../clock';
import { firmwareFor } from './firmware-cache';
import { FleetTerminal } from './fleet-terminal';
import type { FromWorker, GatewayWorkerData, ToWorker } from './gateway-worker';
import { terminalCount, type Scenario } from './scenario';
import { imeiFor } from './imei';

export interface FleetOptions {
  /** Gateway database directory (emptied first). */
  dataDirectory: string;
  /** Embedded broker port (0: any free port) and host. */
  brokerPort?: number;
  brokerHost?: string;
  /** CoAP port of the gateway (0: any free port). */
  coapPort?: number;
  /** Network time at virtual 0 (default: the scenario's start). */
  epochMs?: number;
  log?: (line: string) => void;
  gatewayLogLevel?: string;
}

export interface Delivery {
  topic: string;
  imei: string;
  readingId: number;
  payload: Record<string, unknown>;
}

export interface FleetProgress {
  virtualMs: number;
  wallMs: number;
  delivered: number;
  terminals: number;
}

const defaultStart = '2026-08-01T00:00:00Z';


export class Fleet {
  readonly clock = new VirtualClock();
  readonly terminals: FleetTerminal[] = [];
  /** Reading ids delivered on MQTT, per IMEI. */
  readonly delivered = new Map<string, Set<number>>();
  deliveredCount = 0;
  duplicates = 0;
  onDelivery: ((delivery: Delivery) => void) | null = null;
  /** Where the gateway's embedded broker listens, and the gateway's CoAP port. */
  mqttUrl = '';
  coapPort = 0;
  readonly epochMs: number;
  /** The gateway's clock: virtual ms, shared with its worker thread. */
  private readonly sharedTime = new Float64Array(new SharedArrayBuffer(8));
  private worker: Worker | null = null;
  private readonly waiters = new Map<number, () => void>();
  private nextWaiter = 1;
  private workerStopped: Promise<void> | null = null;
  buildMs = 0;
  private stopped = false;

  private constructor(
    readonly scenario: Scenario,
    readonly options: FleetOptions,
  ) {
    this.epochMs = options.epochMs ?? Date.parse(scenario.start ?? defaultStart);
  }

  static async create(scenario: Scenario, options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(scenario, options);
    await fleet.setUp();
    return fleet;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private async setUp(): Promise<void> {
    const scenario = this.scenario;
    const boards = loadBoards();
    const buildStarted = Date.now();
    const firmware = new Map<string, string>();
    for (const group of scenario.groups) {
      const key = group.board + JSON.stringify(group.config);
      if (firmware.has(key)) continue;
      const built = await firmwareFor(boards[group.board]!, group.config);
      this.log(`firmware for ${group.board}: ${built.code.length} bytes${built.cached ? ' (cached)' : ' (built)'}`);
      firmware.set(key, built.code);
    }
    this.buildMs = Date.now() - buildStarted;

    rmSync(this.options.dataDirectory, { recursive: true, force: true });
    mkdirSync(this.options.dataDirectory, { recursive: true });
    const config: GatewayConfig = {
      ...DEFAULT_CONFIG,
      gatewayId: 'fleet',
      dataDirectory: this.options.dataDirectory,
      coapHost: '127.0.0.1',
      coapPort: this.options.coapPort ?? 0,
      brokerHost: this.options.brokerHost ?? '127.0.0.1',
      brokerPort: this.options.brokerPort ?? 0,
      httpPort: -1,
      // Virtual time runs hundreds of times faster than wall time: a per-source limit in wall time would bite.
      rateLimitPerSecond: 0,
      sqliteSynchronous: scenario.gateway?.sqliteSynchronous ?? 'NORMAL',
      logLevel: this.options.gatewayLogLevel ?? 'silent',
      shutdownGraceSeconds: 5,
    };

    const devices: Array<{ imei: string; profile: string | null }> = [];
    let serial = scenario.imeiBase ?? 100000;
    for (const group of scenario.groups) {
      for (let indexInGroup = 0; indexInGroup < group.count; indexInGroup++) devices.push({ imei: imeiFor(serial++), profile: group.meters?.[0]?.profile ?? null });
    }
    const secrets = await this.startGateway(config, devices);
    let index = 0;
    for (const group of scenario.groups) {
      const board = boards[group.board]!;
      const spreadMs = (group.startSpreadSeconds ?? 600) * 1000;
      for (let indexInGroup = 0; indexInGroup < group.count; indexInGroup++) {
        const imei = devices[index]!.imei;
        const terminal = new FleetTerminal({
          clock: this.clock,
          board,
          group,
          indexInGroup,
          name: `${group.name ?? board.id}-${indexInGroup + 1}`,
          imei,
          secrets: secrets[index]!,
          firmware: firmware.get(group.board + JSON.stringify(group.config))!,
          gatewayPort: this.coapPort,
          networkEpochMs: this.epochMs,
          seed: (scenario.seed ?? 1) * 100003 + index,
          powerOnAt: group.count > 1 ? Math.round((spreadMs * indexInGroup) / group.count) : 0,
        });
        // The gateway handles a datagram at the virtual time it was sent (virtual time waits for the reply).
        const udp = terminal.modem.udp;
        const send = udp.send.bind(udp);
        udp.send = (socketId, data, destination) => {
          this.sharedTime[0] = this.clock.now();
          return send(socketId, data, destination);
        };
        this.terminals.push(terminal);
        this.delivered.set(imei, new Set());
        index++;
      }
    }
    this.log(`${terminalCount(scenario)} terminals provisioned and flashed; gateway CoAP on 127.0.0.1:${this.coapPort}, MQTT on ${this.mqttUrl}`);
  }

  /** Start the gateway and its MQTT observer in a worker thread; provisions `devices` and returns their secrets. */
  private startGateway(config: GatewayConfig, devices: Array<{ imei: string; profile: string | null }>): Promise<DeviceSecrets[]> {
    const data: GatewayWorkerData = { config, epochMs: this.epochMs, time: this.sharedTime.buffer as SharedArrayBuffer, devices };
    const entry = path.join(__dirname, 'gateway-worker.ts');
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: data });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let stopped: () => void = () => {};
      this.workerStopped = new Promise((done) => (stopped = done));
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            this.mqttUrl = message.mqttUrl;
            this.coapPort = message.coapPort;
            resolve(message.secrets as DeviceSecrets[]);
            break;
          case 'deliveries':
            for (const item of message.items) this.record(item.topic, item.payload);
            break;
          case 'published':
            this.waiters.get(message.id)?.();
            this.waiters.delete(message.id);
            break;
          case 'stopped':
            stopped();
            break;
          case 'failed':
            reject(new Error(`fleet gateway: ${message.message}`));
            break;
        }
      });
      worker.once('error', (error) => reject(error));
      worker.once('exit', () => {
        stopped();
        for (const wake of this.waiters.values()) wake();
        this.waiters.clear();
      });
    });
  }

  private record(topic: string, payload: string): void {
    const levels = topic.split('/');
    if (levels.length < 3 || (levels[2] !== 'up' && levels[2] !== 'event')) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return;
    }
    const readingId = body.readingId;
    const imei = levels[1]!;
    if (typeof readingId !== 'number') return;
    let ids = this.delivered.get(imei);
    if (!ids) {
      ids = new Set();
      this.delivered.set(imei, ids);
    }
    if (ids.has(readingId)) {
      this.duplicates++;
      return;
    }
    ids.add(readingId);
    this.deliveredCount++;
    this.onDelivery?.({ topic, imei, readingId, payload: body });
  }

  /**
   * Run virtual time up to `untilMs`. speed null: as fast as possible; a number: paced to wall time times
   * `speed`. `onProgress` is called about every `progressEveryMs` of wall time.
   */
  async run(untilMs: number, options: { speed?: number | null; onProgress?: (progress: FleetProgress) => void; progressEveryMs?: number } = {}): Promise<void> {
    const clock = this.clock;
    const wallStart = Date.now();
    const virtualStart = clock.now();
    const every = options.progressEveryMs ?? 500;
    let nextReport = wallStart + every;
    const report = (): void => options.onProgress?.({ virtualMs: clock.now(), wallMs: Date.now() - wallStart, delivered: this.deliveredCount, terminals: this.terminals.length });
    while (clock.now() < untilMs && !this.stopped) {
      let target: number;
      if (options.speed) {
        target = Math.min(untilMs, virtualStart + (Date.now() - wallStart) * options.speed);
        if (target <= clock.now()) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          continue;
        }
      } else {
        target = Math.min(untilMs, clock.now() + 60_000);
      }
      this.sharedTime[0] = clock.now();
      await clock.runWithRealIo(target);
      // Let the gateway's replies, commits and MQTT traffic run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (Date.now() >= nextReport) {
        nextReport = Date.now() + every;
        report();
      }
    }
    report();
  }

  /** Stop a paced `run` at its next step. */
  stop(): void {
    this.stopped = true;
  }

  /** Produced and delivered per terminal, and what is still missing. */
  accounting(): Array<{ terminal: FleetTerminal; produced: number; waiting: number; delivered: number; missing: number[] }> {
    return this.terminals.map((terminal) => {
      const counters = terminal.counters();
      const produced = counters?.produced ?? 0;
      const ids = this.delivered.get(terminal.imei) ?? new Set<number>();
      const missing: number[] = [];
      for (let id = 1; id <= produced; id++) if (!ids.has(id)) missing.push(id);
      return { terminal, produced, waiting: counters?.waiting ?? 0, delivered: ids.size, missing };
    });
  }

  /** Wait (wall time) until the gateway published everything it stored and the observer has it. */
  async drainMqtt(timeoutMs = 10000): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const id = this.nextWaiter++;
    const published = new Promise<void>((resolve) => this.waiters.set(id, resolve));
    worker.postMessage({ type: 'when-published', id } satisfies ToWorker);
    await Promise.race([published, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const terminal of this.terminals) terminal.close();
    const worker = this.worker;
    this.worker = null;
    if (worker) {
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      await Promise.race([this.workerStopped, new Promise((resolve) => setTimeout(resolve, 15000).unref())]);
      await worker.terminate();
    }
  }
}

export function defaultDataDirectory(root: string, name: string): string {
  return path.join(root, '.udt', 'fleet', name.replace(/[^A-Za-z0-9_.-]+/g, '-'));
}
