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
import { JournalPublisher, redactUrl } from './mqtt/publisher';
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

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly topics: TopicScheme;
  readonly registry: DeviceRegistry;
  readonly journal: Journal;
  readonly downlinks: DownlinkQueue;
  private readonly committer: GroupCommitter;
  private readonly responseSequence: ResponseSequence;
  private readonly publisher: JournalPublisher;
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

  private constructor(
    readonly config: GatewayConfig,
    private readonly database: Database,
    readonly mqttUrl: string,
    readonly logger: Logger,
    options: GatewayOptions,
  ) {
    this.now = options.now ?? Date.now;
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
      this.publisher.offer(rows);
    };
    const version = options.version ?? 'dev';
    this.publisher = new JournalPublisher(
      {
        url: mqttUrl,
        clientId: `udt-gateway-${config.gatewayId}`,
        username: config.mqttUsername || undefined,
        password: config.mqttPassword || undefined,
        caFile: config.mqttCaFile || undefined,
        certFile: config.mqttCertFile || undefined,
        keyFile: config.mqttKeyFile || undefined,
        window: config.publishWindow,
        bufferRows: config.publishBufferRows,
        statusTopic: this.topics.gatewayStatus(config.gatewayId),
        statusPayload: () => JSON.stringify({ gateway: config.gatewayId, online: true, since: new Date(this.startedAt).toISOString(), version }),
        offlinePayload: JSON.stringify({ gateway: config.gatewayId, online: false }),
        subscriptions: [this.topics.commandSubscription()],
        reconnectMilliseconds: config.mqttReconnectMilliseconds,
      },
      {
        loadRows: (after, limit) => this.journal.load(after, limit),
        acknowledged: (rows) => {
          const now = this.now();
          for (const row of rows) this.metrics.publishLatency.observe(Math.max(0, now - row.receivedAt) / 1000);
          this.metrics.published.inc(rows.length);
          this.committer.complete(rows.map((row) => row.sequence));
        },
        message: (topic, payload, retained, done) => this.intake.receive(topic, payload, retained, done),
        connectionChanged: (connected) => this.metrics.mqttConnected.set(connected ? 1 : 0),
      },
      logger,
    );
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
    this.metrics.sources = { journalDepth: () => this.journal.depth, pendingUplinks: () => this.committer.pendingWrites };
  }

  static async start(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? pino({ level: config.logLevel, base: { gateway: config.gatewayId } });
    // Commits do not fsync on the event loop; the committer fdatasyncs the WAL in the thread pool before it acknowledges.
    const database = openDatabase(databaseFile(config.dataDirectory), { synchronous: 'NORMAL' });
    let broker: EmbeddedBroker | null = null;
    let mqttUrl = config.mqttUrl;
    try {
      if (!mqttUrl) {
        broker = await startEmbeddedBroker(config.brokerHost, config.brokerPort);
        mqttUrl = broker.url;
        logger.info({ url: mqttUrl }, 'embedded MQTT broker listening');
      }
    } catch (error) {
      database.close();
      throw new GatewayError('mqtt', `cannot start the embedded broker on ${config.brokerHost}:${config.brokerPort}: ${(error as Error).message}`);
    }
    const gateway = new Gateway(config, database, mqttUrl, logger, options);
    gateway.broker = broker;
    try {
      await gateway.listen();
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    return gateway;
  }

  private async listen(): Promise<void> {
    const config = this.config;
    this.responseSequence.reserveFirstBlock(() => this.committer.syncWalNow());
    this.publisher.start();
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
    this.logger.info(
      { coap: `${config.coapHost}:${this.addresses.coap.port}`, mqtt: redactUrl(this.mqttUrl), http: this.operations?.port ?? null, plainCoap: config.insecurePlainCoap, journalDepth: this.journal.depth },
      'gateway started',
    );
    if (config.insecurePlainCoap) this.logger.warn('plain CoAP accepted: development mode, uplinks are not authenticated');
  }

  private send(datagram: Buffer, destination: Endpoint): void {
    const socket = this.socket;
    if (!socket) return;
    socket.send(datagram, destination.port, destination.address, (error) => {
      if (error) this.logger.warn({ error: error.message, destination: `${destination.address}:${destination.port}` }, 'cannot send a response');
    });
  }

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
    return this.publisher.whenDrained();
  }

  health(): HealthReport {
    const oldest = this.journal.depth > 0 ? this.journal.oldestReceivedAt() : null;
    const status = this.stopping ? 'stopping' : this.storageError ? 'failing' : this.publisher.connected ? 'ok' : 'degraded';
    return {
      status,
      gateway: this.config.gatewayId,
      uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000),
      coapPort: this.addresses.coap.port,
      mqtt: { url: redactUrl(this.mqttUrl), connected: this.publisher.connected, embedded: this.broker !== null, error: this.publisher.error },
      journalDepth: this.journal.depth,
      oldestUnpublishedSeconds: oldest === null ? null : Math.round((this.now() - oldest) / 1000),
      pendingUplinks: this.committer.pendingWrites,
      unacknowledgedPublishes: this.publisher.unacknowledged,
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
    await Promise.race([this.publisher.whenDrained(), new Promise((resolve) => setTimeout(resolve, grace).unref())]);
    await this.publisher.stop();
    this.committer.close();
    this.committer.releaseWal();
    await this.operations?.close();
    await this.broker?.close();
    this.database.close();
    this.logger.info({ journalDepth: this.journal.depth }, 'gateway stopped');
  }
}
