/**
 * One datagram's way through the gateway: size and rate checks, retransmission cache, OSCORE verification and
 * decoding (the codec's never-throwing receiveUplink), dedup by reading id, then one staged write holding the
 * journal rows, the device's replay window and reading id, and the commands that go out in the response.
 * The response is built and sent only after that write committed (fsync), to the device's latest address.
 */
import type { Logger } from 'pino';
import { CoapCode, CoapMessage } from '../firmware/protocol/coap';
import { isProtocolError } from '../firmware/protocol/errors';
import type { OscoreContext } from '../firmware/protocol/oscore-context';
import { buildRejectionResponse, receiveUplink } from '../firmware/protocol/server';
import { Command, decodeUplink, DecodedUplink } from '../firmware/protocol/uplink';
import type { GatewayConfig } from './config';
import { ackFor, commandAckMessage, PendingCommandChanges, planResults, PlannedResult, selectCommands } from './commands';
import { classifyPlainRequest, discoveryResponse, plainErrorResponse } from './coap/plain';
import { SourceRateLimiter } from './coap/rate-limit';
import { MessageIds, OscoreResponder, PlainResponder, Responder } from './coap/responders';
import { datagramKey, Endpoint, PendingResponse, ResponseCache } from './coap/response-cache';
import type { GatewayMetrics } from './metrics';
import type { TopicScheme } from './mqtt/topics';
import type { GroupCommitter, StagedWrite } from './store/committer';
import type { Downlink, DownlinkQueue } from './store/downlinks';
import type { Journal, JournalMessage, JournalRow } from './store/journal';
import type { ActiveDevice, DeviceRegistry } from './store/registry';
import type { ResponseSequence } from './store/response-sequence';
import { TextSlab } from './text-slab';
import { eventJson, isoArrivalTime, MappedUplink, mapUplink, mergeState, readingJson, readingSenml, stateJson, UplinkMappingError } from './uplink-mapping';

export interface UplinkHandlerDependencies {
  config: GatewayConfig;
  registry: DeviceRegistry;
  journal: Journal;
  downlinks: DownlinkQueue;
  committer: GroupCommitter;
  pendingCommands: PendingCommandChanges;
  responseSequence: ResponseSequence;
  offerRows(rows: JournalRow[]): void;
  metrics: GatewayMetrics;
  topics: TopicScheme;
  logger: Logger;
  send(datagram: Buffer, destination: Endpoint): void;
  now(): number;
}

const COMMANDS_PER_RESPONSE = 8;

/** One accepted uplink between staging and its commit; a class rather than closures (one per datagram). */
class StagedUplink implements StagedWrite {
  rows: JournalRow[] = [];

  constructor(
    private readonly handler: UplinkHandler,
    readonly device: ActiveDevice,
    readonly uplink: DecodedUplink,
    readonly mapped: MappedUplink,
    readonly source: Endpoint,
    readonly pending: PendingResponse,
    readonly responder: Responder,
    readonly receivedAt: number,
    readonly stateChanged: boolean,
    readonly messages: JournalMessage[],
    readonly results: PlannedResult[],
    readonly commands: Array<{ downlink: Downlink; command: Command }>,
    readonly firstSends: number,
    readonly touchedCommands: number[],
  ) {}

  write(): void {
    this.handler.writeStaged(this);
  }

  settle(error: Error | null): void {
    this.handler.settleStaged(this, error);
  }
}

/** An authenticated request that was refused still used up its sequence number: its window is stored. */
class StagedReplayWindow implements StagedWrite {
  constructor(private readonly registry: DeviceRegistry, private readonly device: ActiveDevice) {}

  write(): void {
    this.registry.writeUplinkState(this.device, false);
  }

  settle(): void {}
}

export class UplinkHandler {
  private readonly rateLimiter: SourceRateLimiter;
  private readonly responses: ResponseCache;
  private readonly messageIds = new MessageIds();
  private readonly payloads = new TextSlab();
  /** The device the last OSCORE lookup found (read right after receiveUplink). */
  private lookedUp: ActiveDevice | null = null;
  private readonly lookup = (kid: Uint8Array, kidContext: Uint8Array | null): OscoreContext | null => {
    // Terminals are provisioned without an ID Context: a request naming one matches no context.
    if (kidContext) return null;
    const device = this.dependencies.registry.activeByKid(kid);
    this.lookedUp = device;
    return device ? device.context : null;
  };

  constructor(private readonly dependencies: UplinkHandlerDependencies) {
    const config = dependencies.config;
    this.rateLimiter = new SourceRateLimiter(config.rateLimitPerSecond, config.rateLimitBurst, config.rateLimitSources, dependencies.now);
    this.responses = new ResponseCache(config.responseCacheEntries, config.responseCacheSeconds * 1000, dependencies.now);
  }

  /** Never throws: a hostile datagram must not take the gateway down. */
  handleDatagram(datagram: Buffer, source: Endpoint): void {
    try {
      this.handle(datagram, source);
    } catch (error) {
      this.reject('internal-error', source, String((error as Error)?.stack ?? error));
    }
  }

  private reject(reason: string, source: Endpoint, detail?: string): void {
    this.dependencies.metrics.uplinksRejected.inc({ reason });
    const level = reason === 'internal-error' ? 'error' : 'debug';
    this.dependencies.logger[level]({ reason, source: `${source.address}:${source.port}`, detail }, 'uplink rejected');
  }

  private nextMessageId(): number {
    return this.messageIds.next();
  }

  private handle(datagram: Buffer, source: Endpoint): void {
    const { config, metrics } = this.dependencies;
    if (datagram.length > config.maximumDatagramBytes) return this.reject('oversized', source, `${datagram.length} bytes`);
    const sourceKey = config.rateLimitKey === 'address' ? source.address : `${source.address}:${source.port}`;
    if (!this.rateLimiter.allow(sourceKey)) return this.reject('rate-limited', source);
    const key = datagramKey(datagram);
    const seen = this.responses.lookup(key, source);
    if (seen) {
      metrics.retransmissions.inc();
      if (seen.response) this.dependencies.send(seen.response, source);
      return;
    }
    this.lookedUp = null;
    const received = receiveUplink(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length), this.lookup);
    const device = this.lookedUp as ActiveDevice | null;
    if (received.ok) {
      const responder = new OscoreResponder(received, datagram.length, this.dependencies.responseSequence, this.messageIds, this.dependencies.logger);
      return this.accept(device!, received.uplink, source, key, responder);
    }
    if (received.reason === 'not-oscore' && config.insecurePlainCoap && received.coap) return this.handlePlain(received.coap, source, key, datagram.length);
    this.reject(received.reason, source, received.detail);
    if (received.context && device) this.persistReplayWindow(device);
    const response = buildRejectionResponse(received, false, this.nextMessageId());
    if (response) this.dependencies.send(Buffer.from(response), source);
  }

  /** An authenticated request that was refused still used up its sequence number: keep the window durable. */
  private persistReplayWindow(device: ActiveDevice): void {
    this.dependencies.committer.stage(new StagedReplayWindow(this.dependencies.registry, device));
  }

  private handlePlain(request: CoapMessage, source: Endpoint, key: string, requestLength: number): void {
    const classified = classifyPlainRequest(request);
    if (classified.kind === 'discovery') return this.dependencies.send(discoveryResponse(request, this.nextMessageId()), source);
    if (classified.kind === 'invalid') {
      this.reject('plain-invalid', source, classified.text);
      return this.dependencies.send(plainErrorResponse(request, classified.code, classified.text, this.nextMessageId(), requestLength), source);
    }
    const device = this.dependencies.registry.activeByImei(classified.imei);
    if (!device) {
      this.reject('unknown-device', source, classified.imei);
      return this.dependencies.send(plainErrorResponse(request, CoapCode.NotFound, 'Unknown device', this.nextMessageId(), requestLength), source);
    }
    let uplink: DecodedUplink;
    try {
      uplink = decodeUplink(request.payload);
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.reject('malformed-payload', source, error.message);
      return this.dependencies.send(plainErrorResponse(request, CoapCode.BadRequest, error.message, this.nextMessageId(), requestLength), source);
    }
    this.accept(device, uplink, source, key, new PlainResponder(request, requestLength, this.messageIds));
  }

  private accept(device: ActiveDevice, uplink: DecodedUplink, source: Endpoint, key: string, responder: Responder): void {
    const { config, topics, downlinks, pendingCommands } = this.dependencies;
    const receivedAt = this.dependencies.now();
    if (this.dependencies.committer.pendingWrites >= config.maximumPendingUplinks) {
      this.reject('busy', source);
      const response = responder.unavailable('Gateway busy');
      if (response) {
        // Retransmissions of this request get the same answer (its sequence number is already in the window).
        this.responses.finish(this.responses.begin(key), response);
        this.dependencies.send(response, source);
      }
      return;
    }
    let mapped;
    try {
      mapped = mapUplink(uplink.records, device.channels, device.lastReadingId, receivedAt);
    } catch (error) {
      if (!(error instanceof UplinkMappingError)) throw error;
      this.reject('malformed-payload', source, error.message);
      this.persistReplayWindow(device);
      return this.dependencies.send(responder.error(CoapCode.BadRequest, error.message), source);
    }
    const pending = this.responses.begin(key);
    device.lastReadingId = mapped.highestReadingId;
    device.lastAddress = source.address;
    device.lastPort = source.port;
    device.lastSeenAt = receivedAt;
    const stateChanged = mergeState(device.state, mapped.state);

    const messages: JournalMessage[] = [];
    for (const reading of mapped.readings) {
      const payload = config.payloadFormat === 'senml' ? readingSenml(device.imei, reading) : readingJson(device.imei, reading, device.state, receivedAt);
      messages.push({ topic: topics.readings(device.imei), payload: this.payloads.encode(payload), retain: false, receivedAt });
    }
    for (const event of mapped.events) {
      messages.push({ topic: topics.event(device.imei, event.type), payload: this.payloads.encode(eventJson(device.imei, event, receivedAt)), retain: false, receivedAt });
    }
    // The twin follows every change; when only "last seen" moved, at most every stateRefreshSeconds.
    if (stateChanged || device.statePublishedAt === 0 || receivedAt - device.statePublishedAt >= config.stateRefreshSeconds * 1000) {
      const twin = { ...device.state, lastSeen: isoArrivalTime(receivedAt), lastReadingId: device.lastReadingId >= 0 ? device.lastReadingId : undefined };
      messages.push({ topic: topics.state(device.imei), payload: this.payloads.encode(stateJson(device.imei, twin)), retain: true, receivedAt });
      device.statePublishedAt = receivedAt;
    }
    const results = planResults(downlinks, pendingCommands, device.id, device.imei, uplink.commandResults);
    for (const result of results) messages.push(commandAckMessage(topics, result.ack, receivedAt));
    const open = downlinks.openFor(device.id, receivedAt, COMMANDS_PER_RESPONSE).filter((downlink) => {
      const status = pendingCommands.effectiveStatus(downlink);
      return status === 'queued' || status === 'sent';
    });
    const commands = selectCommands(open, config.commandBytesPerResponse);
    const firstSends = commands.filter((entry) => pendingCommands.effectiveStatus(entry.downlink) === 'queued');
    for (const entry of firstSends) {
      pendingCommands.set(entry.downlink.id, 'sent');
      messages.push(commandAckMessage(topics, ackFor(entry.downlink, device.imei, 'sent'), receivedAt));
    }
    const touchedCommands = [...results.map((result) => result.downlink.id), ...firstSends.map((entry) => entry.downlink.id)];
    this.dependencies.committer.stage(
      new StagedUplink(this, device, uplink, mapped, source, pending, responder, receivedAt, stateChanged, messages, results, commands, firstSends.length, touchedCommands),
    );
  }

  /** Inside the commit transaction (StagedUplink.write). */
  writeStaged(staged: StagedUplink): void {
    const { registry, downlinks, journal } = this.dependencies;
    registry.writeUplinkState(staged.device, staged.stateChanged);
    staged.rows = journal.append(staged.messages);
    for (const result of staged.results) downlinks.finish(result.downlink.id, result.status, staged.receivedAt, result.resultJson);
    for (const entry of staged.commands) downlinks.markSent(entry.downlink.id, staged.receivedAt);
  }

  /** After the commit is on disk, or failed (StagedUplink.settle): the response goes out only now. */
  settleStaged(staged: StagedUplink, error: Error | null): void {
    const { metrics, downlinks, pendingCommands } = this.dependencies;
    const { device, source, pending, mapped, results } = staged;
    if (staged.touchedCommands.length > 0) pendingCommands.clear(staged.touchedCommands);
    if (error) {
      this.responses.abandon(pending);
      this.reject('storage-failed', source, error.message);
      const response = staged.responder.unavailable('Journal unavailable');
      if (response) this.dependencies.send(response, this.latestEndpoint(device, source));
      return;
    }
    if (results.length > 0) downlinks.refreshOpenDevices();
    const commandResults = staged.uplink.commandResults;
    const response = staged.responder.downlink({
      acknowledgedReadingId: device.lastReadingId >= 0 ? device.lastReadingId : null,
      commands: staged.commands.map((entry) => entry.command),
      configuration: null,
      time: Math.floor(staged.receivedAt / 1000),
      acknowledgedCommandResults: commandResults.map((result) => result.commandId),
    });
    const retransmittedFrom = this.responses.finish(pending, response);
    this.dependencies.send(response, retransmittedFrom ?? this.latestEndpoint(device, source));
    metrics.uplinksAccepted.inc();
    if (mapped.readings.length > 0) metrics.readingsStored.inc(mapped.readings.length);
    if (mapped.events.length > 0) metrics.eventsStored.inc(mapped.events.length);
    if (mapped.duplicates > 0) metrics.readingsDuplicate.inc(mapped.duplicates);
    for (const result of results) metrics.downlinks.inc({ status: result.status });
    if (staged.firstSends > 0) metrics.downlinks.inc({ status: 'sent' }, staged.firstSends);
    this.dependencies.offerRows(staged.rows);
  }

  /** Replies go where the device was last heard from: its NAT binding may have changed since the request. */
  private latestEndpoint(device: ActiveDevice, fallback: Endpoint): Endpoint {
    return device.lastAddress && device.lastPort ? { address: device.lastAddress, port: device.lastPort } : fallback;
  }

  get cachedResponses(): number {
    return this.responses.size;
  }

  get trackedSources(): number {
    return this.rateLimiter.trackedSources;
  }
}
