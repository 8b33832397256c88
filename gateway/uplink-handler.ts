/**
 * One datagram's way through the gateway: size and rate checks, retransmission cache, OSCORE verification and
 * decoding (the codec's never-throwing receiveUplink), dedup by reading id, then one staged write holding the
 * journal rows, the device's replay window and reading id, and the commands that go out in the response.
 * The response is built and sent only after that write committed (fsync), to the device's latest address.
 */
import type { Logger } from 'pino';
import { CoapCode, CoapMessage, CoapOption, CoapTypes, encodeCoap, encodeUintOption } from '../firmware/protocol/coap';
import { utf8Encode } from '../firmware/protocol/bytes';
import { isProtocolError } from '../firmware/protocol/errors';
import { AcceptedUplink, buildDownlinkResponse, buildProtectedErrorResponse, buildRejectionResponse, receiveUplink } from '../firmware/protocol/server';
import { decodeUplink, DecodedUplink, DownlinkMessage, encodeDownlink } from '../firmware/protocol/uplink';
import type { GatewayConfig } from './config';
import { commandAckMessage, PendingCommandChanges, planResults, selectCommands, ackFor } from './commands';
import { classifyPlainRequest, CONTENT_FORMAT_CBOR, discoveryResponse, plainErrorResponse, plainResponse } from './coap/plain';
import { SourceRateLimiter } from './coap/rate-limit';
import { datagramKey, Endpoint, ResponseCache } from './coap/response-cache';
import type { GatewayMetrics } from './metrics';
import type { TopicScheme } from './mqtt/topics';
import type { GroupCommitter } from './store/committer';
import type { DownlinkQueue } from './store/downlinks';
import type { Journal, JournalMessage, JournalRow } from './store/journal';
import type { ActiveDevice, DeviceRegistry } from './store/registry';
import type { ResponseSequence } from './store/response-sequence';
import { eventJson, mapUplink, mergeState, readingJson, readingSenml, stateJson, UplinkMappingError } from './uplink-mapping';

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

/** How to answer one authentic uplink: OSCORE-protected, or plain in development mode. */
interface Responder {
  downlink(message: DownlinkMessage): Buffer;
  /** An application error (deterministic for a given request, so a repeat costs no fresh nonce use). */
  error(code: number, text: string): Buffer;
  /** 5.03 with Max-Age: store nothing, retry later. Null when it cannot be protected safely (nothing is sent). */
  unavailable(text: string): Buffer | null;
}

const SERVICE_UNAVAILABLE_RETRY_SECONDS = 10;
const COMMANDS_PER_RESPONSE = 8;

export class UplinkHandler {
  private readonly rateLimiter: SourceRateLimiter;
  private readonly responses: ResponseCache;
  private messageId = Math.floor(Math.random() * 0x10000);

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
    this.messageId = (this.messageId + 1) & 0xffff;
    return this.messageId;
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
    let device: ActiveDevice | null = null;
    const received = receiveUplink(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length), (kid, kidContext) => {
      // Terminals are provisioned without an ID Context: a request naming one matches no context.
      if (kidContext) return null;
      device = this.dependencies.registry.activeByKid(kid);
      return device ? device.context : null;
    });
    if (received.ok) {
      const accepted = received;
      return this.accept(device!, accepted.uplink, source, key, {
        downlink: (message) => Buffer.from(buildDownlinkResponse(accepted, message, false)),
        error: (code, text) => Buffer.from(buildProtectedErrorResponse(accepted.context, accepted.binding, accepted.coap, code, text)),
        unavailable: (text) => this.protectedUnavailable(accepted, text, datagram.length),
      });
    }
    if (received.reason === 'not-oscore' && config.insecurePlainCoap && received.coap) return this.handlePlain(received.coap, source, key, datagram.length);
    this.reject(received.reason, source, received.detail);
    if (received.context && device) this.persistReplayWindow(device);
    const response = buildRejectionResponse(received, false, this.nextMessageId());
    if (response) this.dependencies.send(Buffer.from(response), source);
  }

  /** An authenticated request that was refused still used up its sequence number: keep the window durable. */
  private persistReplayWindow(device: ActiveDevice): void {
    this.dependencies.committer.stage({ write: () => this.dependencies.registry.writeUplinkState(device, false), settle: () => undefined });
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
    const messageId = this.nextMessageId();
    this.accept(device, uplink, source, key, {
      downlink: (message) => plainResponse(request, CoapCode.Changed, CONTENT_FORMAT_CBOR, encodeDownlink(message), messageId),
      error: (code, text) => plainErrorResponse(request, code, text, messageId, requestLength),
      unavailable: (text) => this.plainUnavailable(request, text, requestLength),
    });
  }

  /**
   * RFC 8613 Section 8.3: an error from processing an authenticated request is a protected response (only the
   * OSCORE errors of Section 8.2 go unprotected). The request's replay window was not stored, so the same
   * request may be accepted again later and answered 2.04 under the request's nonce: this response therefore
   * uses a nonce of the gateway's own (its Partial IV is in the response; store/response-sequence.ts).
   */
  private protectedUnavailable(accepted: AcceptedUplink, text: string, requestLength: number): Buffer | null {
    const context = { ...accepted.context, sequence: this.dependencies.responseSequence.sequence };
    const build = (diagnostic: string): Buffer =>
      Buffer.from(buildProtectedErrorResponse(context, accepted.binding, accepted.coap, CoapCode.ServiceUnavailable, diagnostic, SERVICE_UNAVAILABLE_RETRY_SECONDS, true, this.nextMessageId()));
    try {
      // Never larger than the request: the diagnostic text goes only if it fits.
      const withText = build(text);
      return withText.length <= requestLength ? withText : build('');
    } catch (error) {
      // No reserved sequence number left (the journal cannot reserve more): silence; the terminal retries anyway.
      if (isProtocolError(error) && (error.code === 'persist-failed' || error.code === 'sequence-exhausted')) {
        this.dependencies.logger.warn({ error: error.message }, 'no response sequence number reserved; 5.03 not sent');
        return null;
      }
      throw error;
    }
  }

  /** Development mode: a plain 5.03 with Max-Age. */
  private plainUnavailable(request: CoapMessage, reason: string, requestLength: number): Buffer {
    const build = (text: string): Uint8Array => encodeCoap({
      type: request.type === CoapTypes.Confirmable ? CoapTypes.Acknowledgement : CoapTypes.NonConfirmable,
      code: CoapCode.ServiceUnavailable,
      messageId: request.type === CoapTypes.Confirmable ? request.messageId : this.nextMessageId(),
      token: request.token,
      options: [{ number: CoapOption.MaxAge, value: encodeUintOption(SERVICE_UNAVAILABLE_RETRY_SECONDS) }],
      payload: utf8Encode(text),
    });
    // Never larger than the request: the diagnostic text goes only if it fits.
    const withText = build(reason);
    return Buffer.from(withText.length <= requestLength ? withText : build(''));
  }

  private accept(device: ActiveDevice, uplink: DecodedUplink, source: Endpoint, key: string, responder: Responder): void {
    const { config, metrics, topics, downlinks, pendingCommands, registry } = this.dependencies;
    const receivedAt = this.dependencies.now();
    if (this.dependencies.committer.pendingWrites >= config.maximumPendingUplinks) {
      this.reject('busy', source);
      const response = responder.unavailable('Gateway busy');
      if (response) {
        // Retransmissions of this request get the same answer (its sequence number is already in the window).
        this.responses.begin(key);
        this.responses.finish(key, response);
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
    this.responses.begin(key);
    device.lastReadingId = mapped.highestReadingId;
    device.lastAddress = source.address;
    device.lastPort = source.port;
    device.lastSeenAt = receivedAt;
    const stateChanged = mergeState(device.state, mapped.state);

    const messages: JournalMessage[] = [];
    for (const reading of mapped.readings) {
      const payload = config.payloadFormat === 'senml' ? readingSenml(device.imei, reading) : readingJson(device.imei, reading, device.state, receivedAt);
      messages.push({ topic: topics.readings(device.imei), payload: Buffer.from(payload), retain: false, receivedAt });
    }
    for (const event of mapped.events) {
      messages.push({ topic: topics.event(device.imei, event.type), payload: Buffer.from(eventJson(device.imei, event, receivedAt)), retain: false, receivedAt });
    }
    // The twin follows every change; when only "last seen" moved, at most every stateRefreshSeconds.
    if (stateChanged || device.statePublishedAt === 0 || receivedAt - device.statePublishedAt >= config.stateRefreshSeconds * 1000) {
      const twin = { ...device.state, lastSeen: new Date(receivedAt).toISOString(), lastReadingId: device.lastReadingId >= 0 ? device.lastReadingId : undefined };
      messages.push({ topic: topics.state(device.imei), payload: Buffer.from(stateJson(device.imei, twin)), retain: true, receivedAt });
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

    let rows: JournalRow[] = [];
    this.dependencies.committer.stage({
      write: () => {
        registry.writeUplinkState(device, stateChanged);
        rows = this.dependencies.journal.append(messages);
        for (const result of results) downlinks.finish(result.downlink.id, result.status, receivedAt, result.resultJson);
        for (const entry of commands) downlinks.markSent(entry.downlink.id, receivedAt);
      },
      settle: (error) => {
        pendingCommands.clear(touchedCommands);
        if (error) {
          this.responses.abandon(key);
          this.reject('storage-failed', source, error.message);
          const response = responder.unavailable('Journal unavailable');
          if (response) this.dependencies.send(response, this.latestEndpoint(device, source));
          return;
        }
        if (results.length > 0) downlinks.refreshOpenDevices();
        const response = responder.downlink({
          acknowledgedReadingId: device.lastReadingId >= 0 ? device.lastReadingId : null,
          commands: commands.map((entry) => entry.command),
          configuration: null,
          time: Math.floor(receivedAt / 1000),
          acknowledgedCommandResults: uplink.commandResults.map((result) => result.commandId),
        });
        const retransmittedFrom = this.responses.finish(key, response);
        this.dependencies.send(response, retransmittedFrom ?? this.latestEndpoint(device, source));
        metrics.uplinksAccepted.inc();
        metrics.readingsStored.inc(mapped.readings.length);
        metrics.eventsStored.inc(mapped.events.length);
        if (mapped.duplicates > 0) metrics.readingsDuplicate.inc(mapped.duplicates);
        for (const result of results) metrics.downlinks.inc({ status: result.status });
        if (firstSends.length > 0) metrics.downlinks.inc({ status: 'sent' }, firstSends.length);
        this.dependencies.offerRows(rows);
      },
    });
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
