/**
 * The MQTT side of the gateway in a worker thread: the journal publisher (MQTT.js) and, without an external
 * broker, the embedded Aedes broker. The gateway's own thread keeps what a datagram needs (UDP, OSCORE, the
 * SQLite journal, the response) and the MQTT traffic no longer competes with it for one core.
 *
 * Durability does not change: rows cross to the worker only after their commit is on disk; the worker reports
 * PUBACKed sequence numbers back, and only then does a commit delete them. Rows that are not in the worker's
 * memory (a backlog after an outage or a restart) are read there from SQLite through a read-only connection.
 * Commands arriving on MQTT go to the gateway's thread to be stored; the worker sends their PUBACK when the
 * gateway says they are durable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { JournalRow } from '../store/journal';
import type { Publisher, PublisherHooks, PublisherOptions } from './publisher';

/**
 * Rows packed into one buffer of their own (transferred to the worker, not copied; never a pooled Buffer, whose
 * whole pool a post would copy): for n rows, n sequence numbers and n arrival times (float64), n topic ends and
 * n payload ends (uint32, offsets into the bytes part), n retain flags, then each row's topic (UTF-8) and payload.
 */
export interface PackedRows {
  count: number;
  buffer: ArrayBuffer;
}

export function packRows(rows: JournalRow[]): PackedRows {
  const count = rows.length;
  const topicBytes = new Array<number>(count);
  let bytes = 0;
  for (let index = 0; index < count; index++) {
    const row = rows[index]!;
    topicBytes[index] = Buffer.byteLength(row.topic, 'utf8');
    bytes += topicBytes[index]! + row.payload.length;
  }
  const head = count * (8 + 8 + 4 + 4 + 1);
  const buffer = Buffer.allocUnsafeSlow(head + bytes);
  const sequences = new Float64Array(buffer.buffer, 0, count);
  const receivedAts = new Float64Array(buffer.buffer, count * 8, count);
  const ends = new Uint32Array(buffer.buffer, count * 16, count * 2);
  let offset = head;
  for (let index = 0; index < count; index++) {
    const row = rows[index]!;
    sequences[index] = row.sequence;
    receivedAts[index] = row.receivedAt;
    buffer[count * 24 + index] = row.retain ? 1 : 0;
    offset += buffer.write(row.topic, offset, topicBytes[index]!, 'utf8');
    ends[2 * index] = offset;
    offset += row.payload.copy(buffer, offset);
    ends[2 * index + 1] = offset;
  }
  return { count, buffer: buffer.buffer };
}

export function unpackRows(packed: PackedRows): JournalRow[] {
  const count = packed.count;
  const bytes = Buffer.from(packed.buffer);
  const sequences = new Float64Array(packed.buffer, 0, count);
  const receivedAts = new Float64Array(packed.buffer, count * 8, count);
  const ends = new Uint32Array(packed.buffer, count * 16, count * 2);
  const rows: JournalRow[] = new Array(count);
  let start = count * 25;
  for (let index = 0; index < count; index++) {
    const topicEnd = ends[2 * index]!;
    const payloadEnd = ends[2 * index + 1]!;
    rows[index] = {
      sequence: sequences[index]!,
      topic: bytes.toString('utf8', start, topicEnd),
      payload: bytes.subarray(topicEnd, payloadEnd),
      retain: bytes[count * 24 + index] === 1,
      receivedAt: receivedAts[index]!,
    };
    start = payloadEnd;
  }
  return rows;
}

export interface PublisherWorkerSetup {
  /** `url` is ignored when `embeddedBroker` is set (the broker's own URL is used). */
  options: PublisherOptions;
  embeddedBroker: { host: string; port: number } | null;
  databaseFile: string;
  /** Log levels the gateway's logger writes; the worker forwards only those. */
  logLevels: string[];
}

export type ToWorker =
  | { type: 'start' }
  | { type: 'offer'; rows: PackedRows }
  | { type: 'command-done'; id: number; error: string | null }
  | { type: 'when-drained'; id: number }
  | { type: 'when-subscribed'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; url: string }
  | { type: 'failed'; message: string }
  | { type: 'acknowledged'; sequences: Float64Array; receivedAts: Float64Array; unacknowledged: number }
  | { type: 'command'; id: number; topic: string; payload: Uint8Array; retained: boolean }
  | { type: 'status'; connected: boolean; error: string | null; unacknowledged: number; refused: number }
  /** A when-drained or when-subscribed came true. */
  | { type: 'resolved'; id: number }
  | { type: 'log'; level: string; fields: Record<string, unknown>; message: string }
  | { type: 'stopped' };

export type ThreadHooks = Omit<PublisherHooks, 'loadRows' | 'sequencesBetween'>;

/**
 * How to start the worker: from the TypeScript source through tsx (bin/udt.js, tests), or from
 * `publisher-worker.cjs` beside a bundle of the gateway (esbuild; test/gateway/support/gateway-process.ts).
 * Null when neither is there.
 */
export function publisherWorkerSource(): string | null {
  const source = path.join(__dirname, 'publisher-worker.ts');
  if (existsSync(source)) return `require('tsx/cjs'); require(${JSON.stringify(source)});`;
  const bundled = path.join(__dirname, 'publisher-worker.cjs');
  if (existsSync(bundled)) return `require(${JSON.stringify(bundled)});`;
  return null;
}

const STOP_TIMEOUT_MILLISECONDS = 10000;

/** Starts a worker and resolves with it once it reported ready (and the broker URL it uses). */
function spawnWorker(source: string, setup: PublisherWorkerSetup, logger: Logger): Promise<{ worker: Worker; url: string }> {
  const worker = new Worker(source, { eval: true, workerData: setup });
  return new Promise((resolve, reject) => {
    const early = (message: FromWorker): void => {
      if (message.type === 'log') forwardLog(logger, message);
      else if (message.type === 'ready') {
        worker.off('message', early);
        worker.off('error', reject);
        resolve({ worker, url: message.url });
      } else if (message.type === 'failed') {
        worker.off('message', early);
        void worker.terminate();
        reject(new Error(message.message));
      }
    };
    worker.on('message', early);
    worker.once('error', reject);
  });
}

export class ThreadedPublisher implements Publisher {
  private connectedNow = false;
  private errorNow: string | null = null;
  private unacknowledgedNow = 0;
  private refusedNow = 0;
  private pending: JournalRow[] = [];
  private flushQueued = false;
  private nextWaiterId = 1;
  /** Open when-drained / when-subscribed questions, asked again of a restarted worker. */
  private readonly waiters = new Map<number, { type: 'when-drained' | 'when-subscribed'; resolve: () => void }>();
  private worker!: Worker;
  private workerAlive = false;
  private started = false;
  private stopping = false;
  private stopped: (() => void) | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly source: string,
    private readonly setup: PublisherWorkerSetup,
    worker: Worker,
    readonly url: string,
    private readonly hooks: ThreadHooks,
    private readonly logger: Logger,
    private readonly restartMilliseconds: number,
  ) {
    this.attach(worker);
  }

  /** Starts the worker (and in it the embedded broker, if there is one); resolves once it is ready. */
  static async open(source: string, setup: PublisherWorkerSetup, hooks: ThreadHooks, logger: Logger, restartMilliseconds = 1000): Promise<ThreadedPublisher> {
    const { worker, url } = await spawnWorker(source, setup, logger);
    // A restarted worker runs its broker on the same port, so clients find it where they left it.
    const port = setup.embeddedBroker ? Number(new URL(url).port) : 0;
    const kept: PublisherWorkerSetup = setup.embeddedBroker ? { ...setup, embeddedBroker: { ...setup.embeddedBroker, port } } : setup;
    return new ThreadedPublisher(source, kept, worker, url, hooks, logger, restartMilliseconds);
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    this.workerAlive = true;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.failed(worker, error));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.workerAlive = false;
      if (this.stopping) {
        this.stopped?.();
        for (const waiter of this.waiters.values()) waiter.resolve();
        this.waiters.clear();
      } else {
        this.failed(worker, new Error(`exited with code ${code}`));
      }
    });
  }

  /**
   * The MQTT side died (a bug in it): like a broker outage, nothing is lost (unacknowledged rows are still in the
   * journal), and a new worker takes over after a pause, publishing the journal from its oldest row again.
   */
  private failed(worker: Worker, error: Error): void {
    if (this.worker !== worker || this.stopping || this.restartTimer) return;
    this.errorNow = `MQTT worker failed: ${error.message}`;
    if (this.connectedNow) this.hooks.connectionChanged(false);
    this.connectedNow = false;
    this.logger.error({ error: error.stack ?? error.message }, 'the MQTT worker thread failed; the journal keeps every message; restarting it');
    void worker.terminate();
    this.restartTimer = setTimeout(() => void this.restart(), this.restartMilliseconds);
  }

  private async restart(): Promise<void> {
    this.restartTimer = null;
    if (this.stopping) return;
    let spawned: { worker: Worker; url: string };
    try {
      spawned = await spawnWorker(this.source, this.setup, this.logger);
    } catch (error) {
      this.logger.error({ error: (error as Error).message }, 'cannot restart the MQTT worker thread; trying again');
      this.restartTimer = setTimeout(() => void this.restart(), this.restartMilliseconds);
      return;
    }
    if (this.stopping) {
      await spawned.worker.terminate();
      return;
    }
    this.attach(spawned.worker);
    this.logger.info({ url: spawned.url }, 'MQTT worker thread restarted');
    if (this.started) this.post({ type: 'start' });
    for (const [id, waiter] of this.waiters) this.post({ type: waiter.type, id });
  }

  private post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.workerAlive) this.worker.postMessage(message, transfer);
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'acknowledged':
        this.unacknowledgedNow = message.unacknowledged;
        this.hooks.acknowledged(message.sequences, message.receivedAts);
        break;
      case 'command':
        this.hooks.message(message.topic, Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.length), message.retained, (error) =>
          this.post({ type: 'command-done', id: message.id, error: error ? error.message : null }),
        );
        break;
      case 'status':
        if (message.connected !== this.connectedNow) this.hooks.connectionChanged(message.connected);
        this.connectedNow = message.connected;
        this.errorNow = message.error;
        this.unacknowledgedNow = message.unacknowledged;
        this.refusedNow = message.refused;
        break;
      case 'resolved':
        this.waiters.get(message.id)?.resolve();
        this.waiters.delete(message.id);
        break;
      case 'log':
        forwardLog(this.logger, message);
        break;
      case 'stopped':
        this.stopped?.();
        break;
      default:
        break;
    }
  }

  start(): void {
    this.started = true;
    this.post({ type: 'start' });
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  get unacknowledged(): number {
    return this.unacknowledgedNow;
  }

  get refused(): number {
    return this.refusedNow;
  }

  get error(): string | null {
    return this.errorNow;
  }

  offer(rows: JournalRow[]): void {
    for (const row of rows) this.pending.push(row);
    // Every uplink of a commit is settled in one callback: post them together once it returns.
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.pending.length === 0) return;
    const packed = packRows(this.pending);
    this.pending = [];
    this.post({ type: 'offer', rows: packed }, [packed.buffer]);
  }

  whenDrained(): Promise<void> {
    this.flush();
    return this.ask('when-drained');
  }

  whenSubscribed(): Promise<void> {
    return this.ask('when-subscribed');
  }

  private ask(type: 'when-drained' | 'when-subscribed'): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const id = this.nextWaiterId++;
    return new Promise((resolve) => {
      this.waiters.set(id, { type, resolve });
      this.post({ type, id });
    });
  }

  async stop(): Promise<void> {
    this.flush();
    this.stopping = true;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    if (this.workerAlive) {
      // The worker gives the broker its own grace for the offline status; this only guards against a hung thread.
      let timer: NodeJS.Timeout | null = null;
      await new Promise<void>((resolve) => {
        this.stopped = resolve;
        timer = setTimeout(resolve, STOP_TIMEOUT_MILLISECONDS);
        this.post({ type: 'stop' });
      });
      if (timer) clearTimeout(timer);
    }
    for (const waiter of this.waiters.values()) waiter.resolve();
    this.waiters.clear();
    await this.worker.terminate();
  }

  /** For tests: the worker thread, to make it fail. */
  get workerForTests(): Worker {
    return this.worker;
  }
}

function forwardLog(logger: Logger, message: { level: string; fields: Record<string, unknown>; message: string }): void {
  const write = (logger as unknown as Record<string, (fields: Record<string, unknown>, text: string) => void>)[message.level];
  if (typeof write === 'function') write.call(logger, message.fields, message.message);
}
