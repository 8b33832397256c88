/**
 * Publishes the journal to the broker at QoS 2 (or 1), in sequence order, with at most `window` messages awaiting
 * completion (PUBCOMP, or PUBACK at QoS 1). A row leaves the journal only once the broker completed it
 * (GroupCommitter.complete). Rows newer than what fits in memory stay in SQLite and are read back in order, so a
 * day-long broker outage costs disk, not memory. After a reconnect MQTT.js re-sends the uncompleted window first
 * (with DUP set) and only then reports "connect", so order holds across outages.
 *
 * Exactly once at QoS 2, across crashes too: a row's packet id follows from its sequence number and its release
 * is on disk before its PUBREL goes out (exactly-once.ts, release-log.ts). At QoS 1 a crash between the broker's
 * PUBACK and the row's deletion publishes the row again after the restart (at least once).
 */
import { readFileSync } from 'node:fs';
import mqtt, { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { JournalRow } from '../store/journal';
import { JournalOutgoingStore, JournalPacketIds, packetIdFor } from './exactly-once';
import { LARGEST_RECEIVE_MAXIMUM, refusalCode, Refusals, SESSION_NEVER_EXPIRES } from './mqtt5';
import { ReleaseLog } from './release-log';

export interface PublisherOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** 2: exactly once (needs `releaseLogFile`); 1: at least once. */
  qos: 1 | 2;
  /** Where QoS 2 releases are recorded (release-log.ts); null at QoS 1. */
  releaseLogFile: string | null;
  /** fdatasync the release log before each PUBREL (false only with the gateway's sqliteSynchronous NORMAL). */
  releaseLogSync: boolean;
  /** The journal's write-ahead log (release-log.ts syncs it before forgetting rows); null with sqliteSynchronous NORMAL. */
  journalWalFile: string | null;
  /** 4 (MQTT 3.1.1) or 5: with 5 the window also keeps to the broker's Receive Maximum (from its CONNACK). */
  protocolVersion: 4 | 5;
  window: number;
  bufferRows: number;
  /** Retained, and the last will's topic: the gateway's own status. */
  statusTopic: string;
  statusPayload: string;
  offlinePayload: string;
  /** Topics to subscribe (QoS 1) on every connect. */
  subscriptions: string[];
  reconnectMilliseconds?: number;
}

export interface PublisherHooks {
  /** Reads journal rows after a sequence number, oldest first. */
  loadRows(afterSequence: number, limit: number): JournalRow[];
  /** Sequence numbers of the journal's rows from `first` to `last`, as committed. */
  sequencesBetween(first: number, last: number): number[];
  /** The broker acknowledged the rows with these sequence numbers (and the arrival times of their uplinks). */
  acknowledged(sequences: ArrayLike<number>, receivedAts: ArrayLike<number>): void;
  /**
   * An incoming message on a subscribed topic. Call `done` once it is stored: only then is the PUBACK sent,
   * so a command is never acknowledged to its sender before it is durable.
   */
  message(topic: string, payload: Buffer, retained: boolean, done: (error?: Error) => void): void;
  connectionChanged(connected: boolean): void;
}

/** What the gateway needs from its publisher: this class in the gateway's thread, or threaded-publisher.ts. */
export interface Publisher {
  start(): void;
  readonly connected: boolean;
  readonly unacknowledged: number;
  readonly error: string | null;
  /** Journal rows the broker refused (MQTT 5 reason code) and has not taken since. */
  readonly refused: number;
  /** Freshly committed rows, in sequence order. */
  offer(rows: JournalRow[]): void;
  /** Resolves when everything offered or stored so far has been acknowledged by the broker. */
  whenDrained(): Promise<void>;
  /** Resolves once the broker granted the subscriptions (commands published from then on reach the gateway). */
  whenSubscribed(): Promise<void>;
  /** Publishes the offline status (graceful shutdown) and disconnects. Unacknowledged rows stay in the journal. */
  stop(): Promise<void>;
}

export class JournalPublisher implements Publisher {
  private client: MqttClient | null = null;
  private readonly buffer: JournalRow[] = [];
  private bufferStart = 0;
  /** Highest sequence number taken into the buffer (or published). */
  private loadedUpTo = 0;
  private backlogInDatabase = true;
  private inFlight = 0;
  private acknowledgedSequences: number[] = [];
  private acknowledgedReceivedAts: number[] = [];
  private acknowledgementFlush: NodeJS.Immediate | null = null;
  private drainWaiters: Array<() => void> = [];
  private subscribed = false;
  private subscribedWaiters: Array<() => void> = [];
  private lastError: string | null = null;
  /** Publishing waits for "connect": MQTT.js first re-sends what it holds from before the reconnect. */
  private ready = false;
  private readonly packetIds = new JournalPacketIds();
  private store: JournalOutgoingStore | null = null;
  private releaseLog: ReleaseLog | null = null;
  /** Rows released before a restart, finished by the store (PUBREL); the pump passes over them. */
  private readonly recovered = new Set<number>();
  /** Of those, the ones the broker has not completed yet. */
  private recoveredOutstanding = 0;
  /** Messages in flight at most: the window, and with MQTT 5 also the broker's Receive Maximum. */
  private windowNow: number;
  /** Rows the broker refused (MQTT 5): published again after the reconnect pause. */
  private readonly refusals: Refusals;

  constructor(private readonly options: PublisherOptions, private readonly hooks: PublisherHooks, private readonly logger: Logger) {
    this.windowNow = options.window;
    this.refusals = new Refusals(options.reconnectMilliseconds ?? 1000, logger, (rows) => {
      // Back to the front of the buffer, oldest first.
      for (let index = rows.length - 1; index >= 0; index--) {
        if (this.bufferStart > 0) this.buffer[--this.bufferStart] = rows[index]!;
        else this.buffer.unshift(rows[index]!);
      }
      this.pump();
    });
  }

  start(): void {
    const store = this.openStore();
    const clientOptions: IClientOptions = {
      clientId: this.options.clientId,
      protocolVersion: this.options.protocolVersion,
      // A persistent session: commands sent while the gateway is away wait at the broker, and the broker keeps the
      // QoS 2 state that exactly once relies on. MQTT 5 ends a session at disconnect unless told to keep it.
      clean: false,
      ...(this.options.protocolVersion === 5 ? { properties: { sessionExpiryInterval: SESSION_NEVER_EXPIRES } } : {}),
      keepalive: 30,
      reconnectPeriod: this.options.reconnectMilliseconds ?? 1000,
      connectTimeout: 10000,
      messageIdProvider: this.packetIds,
      outgoingStore: store,
      // Subscribed again on every "connect" below; MQTT.js's own re-subscription would take packet ids unasked.
      resubscribe: false,
      will: { topic: this.options.statusTopic, payload: Buffer.from(this.options.offlinePayload), qos: 1, retain: true },
    };
    if (this.options.username) clientOptions.username = this.options.username;
    if (this.options.password) clientOptions.password = this.options.password;
    if (this.options.caFile) clientOptions.ca = readFileSync(this.options.caFile);
    if (this.options.certFile) clientOptions.cert = readFileSync(this.options.certFile);
    if (this.options.keyFile) clientOptions.key = readFileSync(this.options.keyFile);
    const client = mqtt.connect(this.options.url, clientOptions);
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, callback) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
      this.hooks.message(packet.topic, payload, packet.retain === true, (error) => callback(error));
    };
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') store.sessionPresent = packet.sessionPresent === true;
    });
    client.on('connect', (connack) => {
      this.ready = true;
      this.lastError = null;
      // MQTT 5: the broker's Receive Maximum (absent means 65,535); Mosquitto sends its max_inflight_messages.
      const receiveMaximum = this.options.protocolVersion === 5 ? (connack.properties?.receiveMaximum ?? LARGEST_RECEIVE_MAXIMUM) : null;
      this.windowNow = receiveMaximum === null ? this.options.window : Math.max(1, Math.min(this.options.window, receiveMaximum));
      this.logger.info(
        { url: redactUrl(this.options.url), protocolVersion: this.options.protocolVersion, receiveMaximum, inFlight: this.windowNow },
        'connected to the MQTT broker',
      );
      client.publish(this.options.statusTopic, this.options.statusPayload, { qos: 1, retain: true });
      if (this.options.subscriptions.length > 0) {
        client.subscribe(this.options.subscriptions, { qos: 1 }, (error) => {
          if (error) return this.logger.error({ error: error.message }, 'subscribing to command topics failed');
          this.subscribed = true;
          for (const waiter of this.subscribedWaiters.splice(0)) waiter();
        });
      }
      this.hooks.connectionChanged(true);
      this.pump();
    });
    client.on('close', () => {
      this.ready = false;
      this.hooks.connectionChanged(false);
    });
    client.on('offline', () => this.logger.warn({ inFlight: this.inFlight }, 'MQTT broker unreachable; the journal keeps every message'));
    client.on('error', (error) => {
      // A broker that speaks only MQTT 3.1.1 refuses an MQTT 5 CONNECT ("Unacceptable protocol version").
      const hint = this.options.protocolVersion === 5 && /protocol version/i.test(error.message) ? ' (the broker does not take MQTT 5: set mqttProtocolVersion to 4)' : '';
      const message = error.message + hint;
      if (this.lastError !== message) this.logger.error({ error: message }, 'MQTT error');
      this.lastError = message;
    });
  }

  /** The outgoing store, with the rows released before a restart taken over (they are finished first). */
  private openStore(): JournalOutgoingStore {
    if (this.options.qos === 2 && this.options.releaseLogFile) {
      this.releaseLog = new ReleaseLog(this.options.releaseLogFile, {
        sync: this.options.releaseLogSync,
        journalSequencesBetween: (first, last) => this.hooks.sequencesBetween(first, last),
        journalWalFile: this.options.journalWalFile,
      });
    }
    const store = new JournalOutgoingStore(this.releaseLog, {
      recoveredCompleted: (row) => {
        this.recoveredOutstanding--;
        this.completed(row);
        this.checkDrained();
      },
      releaseFailed: (row, error) => {
        this.logger.error({ sequence: row.sequence, error: error.message }, 'cannot record a QoS 2 release; reconnecting to send the row again');
        this.client?.stream?.destroy();
      },
    });
    this.store = store;
    for (const sequence of this.releaseLog?.releasedBefore ?? []) {
      const row = this.hooks.loadRows(sequence - 1, 1)[0];
      if (row && row.sequence === sequence) {
        store.recover(row, this.options.qos);
        this.recoveredOutstanding++;
        this.recovered.add(sequence);
      } else {
        this.releaseLog!.completed(sequence);
      }
    }
    if (this.recovered.size > 0) this.logger.info({ rows: this.recovered.size }, 'finishing QoS 2 messages released before the restart');
    return store;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get unacknowledged(): number {
    return this.inFlight;
  }

  get error(): string | null {
    return this.lastError;
  }

  get refused(): number {
    return this.refusals.outstanding;
  }

  /** Freshly committed rows. Taken straight into memory when nothing older waits in the database. */
  offer(rows: JournalRow[]): void {
    if (rows.length === 0) return;
    if (!this.backlogInDatabase && rows[0]!.sequence > this.loadedUpTo && this.buffered + rows.length <= this.options.bufferRows) {
      for (const row of rows) this.buffer.push(row);
      this.loadedUpTo = rows[rows.length - 1]!.sequence;
    } else {
      this.backlogInDatabase = true;
    }
    this.pump();
  }

  private get buffered(): number {
    return this.buffer.length - this.bufferStart;
  }

  private refill(): void {
    if (!this.backlogInDatabase || this.buffered > this.options.bufferRows / 2) return;
    const room = this.options.bufferRows - this.buffered;
    const rows = this.hooks.loadRows(this.loadedUpTo, room);
    for (const row of rows) this.buffer.push(row);
    if (rows.length > 0) this.loadedUpTo = rows[rows.length - 1]!.sequence;
    if (rows.length < room) this.backlogInDatabase = false;
  }

  /** Publishes buffered rows while the window has room. */
  pump(): void {
    const client = this.client;
    const store = this.store;
    if (!client || !store || !this.ready || !client.connected) return;
    this.refill();
    while (this.inFlight < this.windowNow && this.buffered > 0) {
      const row = this.buffer[this.bufferStart]!;
      const packetId = packetIdFor(row.sequence);
      // The row 65,535 before this one, or the gateway's status, still holds the id: wait for it.
      if (this.packetIds.isInUse(packetId)) break;
      this.buffer[this.bufferStart] = undefined as unknown as JournalRow;
      this.bufferStart++;
      if (this.recovered.delete(row.sequence)) continue;
      this.inFlight++;
      this.packetIds.claim(packetId);
      store.expect(packetId, row);
      client.publish(row.topic, row.payload, { qos: this.options.qos, retain: row.retain }, (error) => this.onPublished(row, error));
      if (!this.packetIds.claimTaken()) this.logger.warn({ sequence: row.sequence }, 'a journal row was published without its own packet id');
      if (this.buffered === 0) this.refill();
    }
    if (this.bufferStart > 1024 && this.bufferStart * 2 > this.buffer.length) {
      this.buffer.splice(0, this.bufferStart);
      this.bufferStart = 0;
    }
    this.checkDrained();
  }

  private onPublished(row: JournalRow, error: Error | undefined): void {
    this.inFlight--;
    const reasonCode = refusalCode(error);
    if (error && reasonCode !== null) {
      // MQTT 5: the broker refused this message and holds nothing of it; the rows after it go on meanwhile.
      this.refusals.refused(row, reasonCode, error);
    } else if (error) {
      // Only when the client is being closed: the row stays in the journal and is published after a restart.
      this.logger.debug({ sequence: row.sequence, error: error.message }, 'publish abandoned');
    } else {
      this.completed(row);
    }
    this.pump();
  }

  private completed(row: JournalRow): void {
    this.refusals.taken(row);
    this.acknowledgedSequences.push(row.sequence);
    this.acknowledgedReceivedAts.push(row.receivedAt);
    if (!this.acknowledgementFlush) {
      this.acknowledgementFlush = setImmediate(() => {
        this.acknowledgementFlush = null;
        this.reportAcknowledged();
      });
    }
  }

  private reportAcknowledged(): void {
    const sequences = this.acknowledgedSequences;
    const receivedAts = this.acknowledgedReceivedAts;
    this.acknowledgedSequences = [];
    this.acknowledgedReceivedAts = [];
    if (sequences.length > 0) this.hooks.acknowledged(sequences, receivedAts);
  }

  private checkDrained(): void {
    if (this.inFlight > 0 || this.recoveredOutstanding > 0 || this.buffered > 0 || this.backlogInDatabase || this.refusals.waiting > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves when everything offered or stored so far has been acknowledged by the broker. */
  whenDrained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  whenSubscribed(): Promise<void> {
    if (this.subscribed || this.options.subscriptions.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.subscribedWaiters.push(resolve));
  }

  /** Publishes the offline status (graceful shutdown) and disconnects. Unacknowledged rows stay in the journal. */
  async stop(offlineGraceMilliseconds = 2000): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = null;
    this.refusals.stop();
    if (this.acknowledgementFlush) {
      clearImmediate(this.acknowledgementFlush);
      this.acknowledgementFlush = null;
      this.reportAcknowledged();
    }
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, offlineGraceMilliseconds);
        client.publish(this.options.statusTopic, this.options.offlinePayload, { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.releaseLog?.close();
    this.releaseLog = null;
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
