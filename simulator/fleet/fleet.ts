/**
 * A fleet: every terminal of a scenario, each with its modem model sending real UDP to one real gateway
 * (gateway/gateway.ts: OSCORE, SQLite journal, MQTT) whose clock is the fleet's virtual network time, and an MQTT
 * observer that counts what the gateway publishes per device and reading id. The gateway and the observer run in
 * a worker thread (gateway-worker.ts).
 *
 * The terminals run in shards (shard.ts): on a machine with several cores a big fleet is split into one shard per
 * core, each in its own worker thread on its own virtual clock; the shards keep within two minutes of virtual time of
 * each other (shard-sync.ts), and the gateway's clock reads each datagram's own send time. A small fleet is one
 * shard in this thread.
 *
 * Virtual time runs as fast as the machine allows (`run()`), pausing whenever a datagram is on its way to the
 * gateway so no reply is jumped over, or paced to the wall clock times `speed` (`udt start`).
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadBoards } from '../../hal/board-loader';
import { DEFAULT_CONFIG, type GatewayConfig } from '../../gateway/config';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { firmwareFor } from './firmware-cache';
import type { FromWorker, GatewayWorkerData, ToWorker } from './gateway-worker';
import { terminalCount, type Scenario } from './scenario';
import { imeiFor } from './imei';
import type { ShardSetup, TerminalSnapshot, TerminalSpec } from './shard';
import { localShard, workerShard, type ShardHandle } from './shard-handle';
import { ShardSync } from './shard-sync';

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
  /**
   * Threads the terminals run in (each a shard on its own virtual clock). Default: one per core for fleets of
   * 20 terminals or more, else 1 (in this thread).
   */
  threads?: number;
}

export interface Delivery {
  topic: string;
  imei: string;
  readingId: number;
  payload: Record<string, unknown>;
}

/** One terminal's accounting at the end of a run: its snapshot and what of it arrived on MQTT. */
export interface TerminalAccount extends TerminalSnapshot {
  delivered: number;
  missing: number[];
}

export interface FleetProgress {
  virtualMs: number;
  wallMs: number;
  delivered: number;
  terminals: number;
}

const defaultStart = '2026-08-01T00:00:00Z';


export class Fleet {
  /** The fleet's virtual time: that of its slowest shard. */
  readonly clock = { now: (): number => this.sync?.slowest() ?? 0 };
  /** The terminals, in scenario order. */
  readonly terminals: Array<{ name: string; imei: string; board: string }> = [];
  /** Reading ids delivered on MQTT, per IMEI. */
  readonly delivered = new Map<string, Set<number>>();
  deliveredCount = 0;
  duplicates = 0;
  onDelivery: ((delivery: Delivery) => void) | null = null;
  /** Where the gateway's embedded broker listens, and the gateway's CoAP port. */
  mqttUrl = '';
  coapPort = 0;
  readonly epochMs: number;
  /** The gateway's clock: virtual ms, shared with its worker thread and the shards. */
  private readonly sharedTime = new Float64Array(new SharedArrayBuffer(8));
  /** Virtual send time of the last datagram per local UDP port (gateway-worker.ts). */
  private readonly sendTimes = new Float64Array(new SharedArrayBuffer(8 * 65536)).fill(Number.NaN);
  private worker: Worker | null = null;
  private readonly waiters = new Map<number, () => void>();
  private nextWaiter = 1;
  private workerStopped: Promise<void> | null = null;
  private sync: ShardSync | null = null;
  private shards: ShardHandle[] = [];
  private failure: Error | null = null;
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
    try {
      await fleet.setUp();
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Shards for `count` terminals: FleetOptions.threads, or one per core for 20 terminals and more. */
  private shardCount(count: number): number {
    const wanted = this.options.threads ?? (count >= 20 ? os.availableParallelism() : 1);
    return Math.max(1, Math.min(count, Math.floor(wanted) || 1));
  }

  private async setUp(): Promise<void> {
    const scenario = this.scenario;
    const boards = loadBoards();
    const buildStarted = Date.now();
    const built = new Map<string, string>();
    const firmware: string[] = [];
    for (const group of scenario.groups) {
      const key = group.board + JSON.stringify(group.config);
      if (!built.has(key)) {
        const image = await firmwareFor(boards[group.board]!, group.config);
        this.log(`firmware for ${group.board}: ${image.code.length} bytes${image.cached ? ' (cached)' : ' (built)'}`);
        built.set(key, image.code);
      }
      firmware.push(built.get(key)!);
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
    const specs: TerminalSpec[] = [];
    let index = 0;
    scenario.groups.forEach((group, groupIndex) => {
      const spreadMs = (group.startSpreadSeconds ?? 600) * 1000;
      for (let indexInGroup = 0; indexInGroup < group.count; indexInGroup++) {
        const imei = devices[index]!.imei;
        const name = `${group.name ?? group.board}-${indexInGroup + 1}`;
        specs.push({
          index,
          groupIndex,
          indexInGroup,
          name,
          imei,
          secrets: secrets[index]!,
          seed: (scenario.seed ?? 1) * 100003 + index,
          powerOnAt: group.count > 1 ? Math.round((spreadMs * indexInGroup) / group.count) : 0,
        });
        this.terminals.push({ name, imei, board: group.board });
        this.delivered.set(imei, new Set());
        index++;
      }
    });
    const shardCount = this.shardCount(specs.length);
    const sync = ShardSync.create(shardCount);
    this.sync = sync;
    const setups: ShardSetup[] = [];
    for (let shard = 0; shard < shardCount; shard++) {
      setups.push({
        shard,
        shardCount,
        sync: sync.buffers,
        gatewayTime: this.sharedTime.buffer as SharedArrayBuffer,
        sendTimes: this.sendTimes.buffer as SharedArrayBuffer,
        groups: scenario.groups,
        firmware,
        // Every shardCount-th terminal, so that each shard gets a like mix of groups and start times.
        terminals: specs.filter((spec) => spec.index % shardCount === shard),
        gatewayPort: this.coapPort,
        networkEpochMs: this.epochMs,
      });
    }
    const onFailure = (error: Error): void => {
      this.failure ??= error;
    };
    if (shardCount === 1) this.shards = [localShard(setups[0]!, onFailure)];
    else {
      const started = await Promise.allSettled(setups.map((setup) => workerShard(setup, onFailure)));
      // Keep the ones that started, so that close() ends their threads when another failed.
      for (const result of started) if (result.status === 'fulfilled') this.shards.push(result.value);
      for (const result of started) if (result.status === 'rejected') throw result.reason;
    }
    this.log(
      `${terminalCount(scenario)} terminals provisioned and flashed${shardCount > 1 ? ` in ${shardCount} threads` : ''}; gateway CoAP on 127.0.0.1:${this.coapPort}, MQTT on ${this.mqttUrl}`,
    );
  }

  /** Start the gateway and its MQTT observer in a worker thread; provisions `devices` and returns their secrets. */
  private startGateway(config: GatewayConfig, devices: Array<{ imei: string; profile: string | null }>): Promise<DeviceSecrets[]> {
    const data: GatewayWorkerData = {
      config,
      epochMs: this.epochMs,
      time: this.sharedTime.buffer as SharedArrayBuffer,
      sendTimes: this.sendTimes.buffer as SharedArrayBuffer,
      devices,
    };
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
    const sync = this.sync;
    if (!sync) return;
    const wallStart = Date.now();
    const virtualStart = sync.slowest();
    const every = options.progressEveryMs ?? 500;
    let nextReport = wallStart + every;
    const report = (): void => options.onProgress?.({ virtualMs: sync.slowest(), wallMs: Date.now() - wallStart, delivered: this.deliveredCount, terminals: this.terminals.length });
    while (!this.stopped) {
      if (this.failure) throw this.failure;
      const now = sync.slowest();
      if (now >= untilMs) break;
      const target = options.speed ? Math.min(untilMs, virtualStart + (Date.now() - wallStart) * options.speed) : untilMs;
      if (target > sync.limit) sync.limit = target;
      // The shards run by themselves up to the limit; look in now and then.
      await new Promise((resolve) => setTimeout(resolve, 10));
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

  /** Every terminal's snapshot (in scenario order) with what of it was delivered and what is still missing. */
  async accounting(): Promise<TerminalAccount[]> {
    const snapshots = (await Promise.all(this.shards.map((shard) => shard.snapshot()))).flat().sort((a, b) => a.index - b.index);
    return snapshots.map((snapshot) => {
      const produced = snapshot.produced ?? 0;
      const ids = this.delivered.get(snapshot.imei) ?? new Set<number>();
      const missing: number[] = [];
      for (let id = 1; id <= produced; id++) if (!ids.has(id)) missing.push(id);
      return { ...snapshot, delivered: ids.size, missing };
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
    this.sync?.stop();
    const shards = this.shards;
    this.shards = [];
    await Promise.all(shards.map((shard) => shard.close()));
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
