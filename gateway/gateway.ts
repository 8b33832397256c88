/**
 * The gateway service: UDP (CoAP/OSCORE) in, MQTT out, SQLite state, optional embedded broker, /metrics and
 * /health. `Gateway.start` brings it up; `stop` shuts it down gracefully (commits what is staged, lets the
 * broker acknowledge what it can within the grace time, publishes the offline status).
 */
import { createSocket, Socket } from 'node:dgram';
import pino, { Logger } from 'pino';
import type { GatewayConfig } from './config';
import { CommandIntake } from './command-intake';
import { PendingCommandChanges } from './commands';
import { GatewayError } from './errors';
import { HealthReport, OperationsServer, startOperationsServer } from './http';
import { GatewayMetrics } from './metrics';
import { EmbeddedBroker, startEmbeddedBroker } from './mqtt/broker';
import { JournalPublisher, Publisher, PublisherOptions, redactUrl } from './mqtt/publisher';
import { releaseLogFile } from './mqtt/release-log';
import { publisherWorkerSource, ThreadedPublisher, ThreadHooks } from './mqtt/threaded-publisher';
import { TopicScheme } from './mqtt/topics';
import { GroupCommitter } from './store/committer';
import { Database, databaseFile, openDatabase } from './store/database';
import { DownlinkQueue } from './store/downlinks';
import { Journal, JournalRow } from './store/journal';
import { DeviceRegistry } from './store/registry';
import { ResponseSequence } from './store/response-sequence';
import { UplinkHandler } from './uplink-handler';
import type { Endpoint } from './coap/response-cache';

export interface GatewayOptions {
  logger?: Logger;
  /** Wall clock in milliseconds (tests move time to expire commands). */
  now?: () => number;
  /** Collect Node process metrics too (the CLI does; tests with several gateways do not). */
  processMetrics?: boolean;
  version?: string;
}

export interface GatewayAddresses {
  coap: Endpoint;
  httpPort: number | null;
  mqttUrl: string;
}

const EXPIRY_SWEEP_MILLISECONDS = 5000;
const REGISTRY_REFRESH_MILLISECONDS = 2000;

/** How the journal is published: QoS, MQTT version and the most messages in flight. */
function mqttDelivery(config: GatewayConfig): { qos: 1 | 2; protocolVersion: 4 | 5; window: number } {
  // QoS 2 toward an external broker only. The embedded Aedes dies with the gateway (its subscribers' sessions
  // with it), and Aedes 1.2 drops QoS 2 messages on their way to QoS 1 and 2 subscribers when two arrive close
  // together (its dedupe by broker counter after reordering; moscajs/aedes#994, reproduced: 62 of 2,000 lost).
  const qos: 1 | 2 = config.mqttUrl && config.mqttQos === 2 ? 2 : 1;
  // MQTT 5 toward an external broker only (Aedes 1.2 speaks 3.1.1); its CONNACK then sets the in-flight limit.
  const protocolVersion: 4 | 5 = config.mqttUrl && config.mqttProtocolVersion === 5 ? 5 : 4;
  // Over MQTT 3.1.1 Mosquitto drops QoS 2 messages beyond its max_inflight_messages without a word.
  const window = qos === 2 && protocolVersion === 4 ? Math.min(config.publishWindow, config.mqttBrokerInflightMaximum) : config.publishWindow;
  return { qos, protocolVersion, window };
}

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly topics: TopicScheme;
  readonly registry: DeviceRegistry;
  readonly journal: Journal;
  readonly downlinks: DownlinkQueue;
  private readonly committer: GroupCommitter;
  private readonly responseSequence: ResponseSequence;
  private publisher: Publisher | null = null;
  private readonly handler: UplinkHandler;
  private readonly intake: CommandIntake;
  private socket: Socket | null = null;
  private operations: OperationsServer | null = null;
  private broker: EmbeddedBroker | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private storageError: string | null = null;
  private readonly startedAt: number;
  readonly now: () => number;

  private url = '';
  private readonly version: string;

  private constructor(
    readonly config: GatewayConfig,
    private readonly database: Database,
    readonly logger: Logger,
    options: GatewayOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.version = options.version ?? 'dev';
    this.startedAt = this.now();
    this.metrics = new GatewayMetrics({ defaultMetrics: options.processMetrics });
    this.topics = new TopicScheme(config.topicPrefix);
    this.registry = new DeviceRegistry(database);
    this.journal = new Journal(database);
    this.downlinks = new DownlinkQueue(database);
    const pendingCommands = new PendingCommandChanges();
    this.committer = new GroupCommitter(database, this.journal, {
      batchLimit: config.commitBatchLimit,
      walFile: config.sqliteSynchronous === 'FULL' ? `${databaseFile(config.dataDirectory)}-wal` : null,
      maximumPending: config.maximumPendingUplinks + 1024,
      onCommit: (statistics) => {
        if (statistics.writes > 0) {
          this.metrics.commitDuration.observe(statistics.durationSeconds);
          this.metrics.commitBatchSize.observe(statistics.writes);
        }
      },
      onSync: (seconds) => this.metrics.fsyncDuration.observe(seconds),
      onFailure: (error) => {
        this.storageError = error.message;
        this.logger.error({ error: error.message }, 'journal commit failed; the uplinks of this batch were answered 5.03');
        this.registry.forgetAll();
        this.downlinks.refreshOpenDevices();
      },
    });
    this.responseSequence = new ResponseSequence(database, this.committer);
    const offerRows = (rows: JournalRow[]): void => {
      this.storageError = null;
      this.publisher!.offer(rows);
    };
    const dependencies = {
      config,
      registry: this.registry,
      journal: this.journal,
      downlinks: this.downlinks,
      committer: this.committer,
      pendingCommands,
      responseSequence: this.responseSequence,
      offerRows,
      metrics: this.metrics,
      topics: this.topics,
      logger,
      now: this.now,
    };
    this.intake = new CommandIntake(dependencies);
    this.handler = new UplinkHandler({ ...dependencies, send: (datagram, destination) => this.send(datagram, destination) });
    this.metrics.sources = {
      journalDepth: () => this.journal.depth,
      pendingUplinks: () => this.committer.pendingWrites,
      mqttRefused: () => this.publisher?.refused ?? 0,
    };
  }

  static async start(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? pino({ level: config.logLevel, base: { gateway: config.gatewayId } });
    // Commits do not fsync on the event loop; the committer fdatasyncs the WAL in the thread pool before it acknowledges.
    const database = openDatabase(databaseFile(config.dataDirectory), { synchronous: 'NORMAL' });
    const gateway = new Gateway(config, database, logger, options);
    try {
      await gateway.connectPublisher();
      await gateway.listen();
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    return gateway;
  }

  /** The broker URL: the external one, or the embedded broker's. */
  get mqttUrl(): string {
    return this.url;
  }

  /**
   * The MQTT client and the embedded broker (without an external one): in a worker thread (`mqttThread`, the
   * default) so MQTT traffic does not take the event loop that answers the terminals, else in this thread.
   */
  private async connectPublisher(): Promise<void> {
    const config = this.config;
    const { qos, protocolVersion, window } = mqttDelivery(config);
    const options: PublisherOptions = {
      url: config.mqttUrl,
      clientId: `udt-gateway-${config.gatewayId}`,
      username: config.mqttUsername || undefined,
      password: config.mqttPassword || undefined,
      caFile: config.mqttCaFile || undefined,
      certFile: config.mqttCertFile || undefined,
      keyFile: config.mqttKeyFile || undefined,
      qos,
      releaseLogFile: qos === 2 ? releaseLogFile(config.dataDirectory) : null,
      releaseLogSync: config.sqliteSynchronous === 'FULL',
      journalWalFile: config.sqliteSynchronous === 'FULL' ? `${databaseFile(config.dataDirectory)}-wal` : null,
      protocolVersion,
      window,
      bufferRows: config.publishBufferRows,
      statusTopic: this.topics.gatewayStatus(config.gatewayId),
      statusPayload: JSON.stringify({ gateway: config.gatewayId, online: true, since: new Date(this.startedAt).toISOString(), version: this.version }),
      offlinePayload: JSON.stringify({ gateway: config.gatewayId, online: false }),
      subscriptions: [this.topics.commandSubscription()],
      reconnectMilliseconds: config.mqttReconnectMilliseconds,
    };
    const hooks: ThreadHooks = {
      acknowledged: (sequences, receivedAts) => this.acknowledged(sequences, receivedAts),
      message: (topic, payload, retained, done) => this.intake.receive(topic, payload, retained, done),
      connectionChanged: (connected) => this.metrics.mqttConnected.set(connected ? 1 : 0),
    };
    const embedded = config.mqttUrl ? null : { host: config.brokerHost, port: config.brokerPort };
    const brokerProblem = (error: unknown): GatewayError =>
      new GatewayError('mqtt', `cannot start the embedded broker on ${config.brokerHost}:${config.brokerPort}: ${(error as Error).message}`);
    const source = config.mqttThread ? publisherWorkerSource() : null;
    if (config.mqttThread && !source) this.logger.warn('the MQTT worker script is missing beside the gateway; MQTT runs in the gateway thread');
    if (source) {
      const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].filter((level) => this.logger.isLevelEnabled(level));
      try {
        const setup = { options, embeddedBroker: embedded, databaseFile: databaseFile(config.dataDirectory), logLevels };
        const threaded = await ThreadedPublisher.open(source, setup, hooks, this.logger, config.mqttReconnectMilliseconds);
        this.publisher = threaded;
        this.url = threaded.url;
      } catch (error) {
        throw embedded ? brokerProblem(error) : new GatewayError('mqtt', `cannot start the MQTT worker thread: ${(error as Error).message}`);
      }
    } else {
      this.url = config.mqttUrl;
      if (embedded) {
        try {
          this.broker = await startEmbeddedBroker(embedded.host, embedded.port);
        } catch (error) {
          throw brokerProblem(error);
        }
        this.url = this.broker.url;
      }
      this.publisher = new JournalPublisher({ ...options, url: this.url }, {
        ...hooks,
        loadRows: (after, limit) => this.journal.load(after, limit),
        sequencesBetween: (first, last) => this.journal.sequencesBetween(first, last),
      }, this.logger);
    }
    if (embedded) this.logger.info({ url: this.url, thread: source ? 'worker' : 'gateway' }, 'embedded MQTT broker listening');
  }

  /** PUBACKs: the rows may leave the journal (with the next commit). */
  private acknowledged(sequences: ArrayLike<number>, receivedAts: ArrayLike<number>): void {
    const now = this.now();
    for (let index = 0; index < receivedAts.length; index++) this.metrics.publishLatency.observe(Math.max(0, now - receivedAts[index]!) / 1000);
    this.metrics.published.inc(sequences.length);
    this.committer.complete(sequences);
  }

  private async listen(): Promise<void> {
    const config = this.config;
    this.responseSequence.reserveFirstBlock(() => this.committer.syncWalNow());
    this.publisher!.start();
    const socket = createSocket({ type: config.coapHost.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.socket = socket;
    socket.on('message', (datagram, remote) => {
      if (this.stopping) return;
      this.handler.handleDatagram(datagram, { address: remote.address, port: remote.port });
    });
    socket.on('error', (error) => this.logger.error({ error: error.message }, 'UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(config.coapPort, config.coapHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (config.httpPort >= 0) {
      this.operations = await startOperationsServer(config.httpHost, config.httpPort, this.metrics.registry, () => this.health());
    }
    this.timers.push(setInterval(() => this.intake.expire(), EXPIRY_SWEEP_MILLISECONDS));
    this.timers.push(setInterval(() => this.registry.refreshIfChangedElsewhere(), REGISTRY_REFRESH_MILLISECONDS));
    for (const timer of this.timers) timer.unref();
    // The window bounds QoS 2 throughput; with MQTT 5 the broker's Receive Maximum may lower it (logged on connecting).
    const delivery = mqttDelivery(config);
    this.logger.info(
      {
        coap: `${config.coapHost}:${this.addresses.coap.port}`,
        mqtt: redactUrl(this.mqttUrl),
        mqttQos: delivery.qos,
        mqttProtocolVersion: delivery.protocolVersion,
        mqttInFlight: delivery.window,
        http: this.operations?.port ?? null,
        plainCoap: config.insecurePlainCoap,
        journalDepth: this.journal.depth,
      },
      'gateway started',
    );
    if (config.insecurePlainCoap) this.logger.warn('plain CoAP accepted: development mode, uplinks are not authenticated');
  }

  private send(datagram: Buffer, destination: Endpoint): void {
    const socket = this.socket;
    if (!socket) return;
    socket.send(datagram, destination.port, destination.address, this.sent);
  }

  /** One callback for every response (no closure per datagram); dgram's errors carry the address and port. */
  private readonly sent = (error: Error | null): void => {
    if (!error) return;
    const { address, port } = error as Error & { address?: string; port?: number };
    this.logger.warn({ error: error.message, destination: `${address}:${port}` }, 'cannot send a response');
  };

  get addresses(): GatewayAddresses {
    const coap = this.socket?.address();
    return { coap: { address: coap?.address ?? '', port: coap?.port ?? 0 }, httpPort: this.operations?.port ?? null, mqttUrl: this.mqttUrl };
  }

  /** Expire due commands now (the timer does this every few seconds). */
  expireCommands(): number {
    return this.intake.expire();
  }

  /** Resolves when every journal row so far has been acknowledged by the broker. */
  async whenPublished(): Promise<void> {
    await this.committer.whenSettled();
    return this.publisher!.whenDrained();
  }

  /** Resolves once the broker granted the gateway's command subscription (commands published from then on arrive). */
  whenSubscribed(): Promise<void> {
    return this.publisher!.whenSubscribed();
  }

  health(): HealthReport {
    const oldest = this.journal.depth > 0 ? this.journal.oldestReceivedAt() : null;
    // Messages the broker refuses (MQTT 5) do not flow even while connected: degraded until it takes them.
    const flowing = this.publisher?.connected === true && this.publisher.refused === 0;
    const status = this.stopping ? 'stopping' : this.storageError ? 'failing' : flowing ? 'ok' : 'degraded';
    return {
      status,
      gateway: this.config.gatewayId,
      uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000),
      coapPort: this.addresses.coap.port,
      mqtt: {
        url: redactUrl(this.mqttUrl),
        connected: this.publisher?.connected ?? false,
        embedded: !this.config.mqttUrl,
        error: this.publisher?.error ?? null,
        refused: this.publisher?.refused ?? 0,
      },
      journalDepth: this.journal.depth,
      oldestUnpublishedSeconds: oldest === null ? null : Math.round((this.now() - oldest) / 1000),
      pendingUplinks: this.committer.pendingWrites,
      unacknowledgedPublishes: this.publisher?.unacknowledged ?? 0,
      cachedDevices: this.registry.cachedDevices,
      storageError: this.storageError,
    };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.logger.info({ journalDepth: this.journal.depth }, 'gateway stopping');
    // Commit and answer what was already received, then stop listening.
    await this.committer.whenSettled();
    if (this.socket) {
      const socket = this.socket;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      this.socket = null;
    }
    const grace = this.config.shutdownGraceSeconds * 1000;
    if (this.publisher) {
      await Promise.race([this.publisher.whenDrained(), new Promise((resolve) => setTimeout(resolve, grace).unref())]);
      await this.publisher.stop();
    }
    this.committer.close();
    this.committer.releaseWal();
    await this.operations?.close();
    await this.broker?.close();
    this.database.close();
    this.logger.info({ journalDepth: this.journal.depth }, 'gateway stopped');
  }
}
