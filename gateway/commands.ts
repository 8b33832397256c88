/**
 * Downlink commands: MQTT `{prefix}/{device}/cmd/{name}` -> persistent queue -> the response to the device's
 * next uplink -> the device's result in a later uplink, with every status change published on `.../ack`
 * through the journal (so acks are durable and ordered like readings).
 */
import { CborMap, CborValue, encodeCbor } from '../firmware/protocol/cbor';
import type { Command as WireCommand, CommandResult } from '../firmware/protocol/uplink';
import type { JournalMessage } from './store/journal';
import type { Downlink, DownlinkQueue, DownlinkStatus } from './store/downlinks';
import type { TopicScheme } from './mqtt/topics';

/** The JSON an MQTT user publishes on a command topic; every field is optional. */
export interface CommandRequest {
  arguments?: unknown;
  /** Seconds until the command expires if the device has not reported a result. */
  ttl?: number;
  /** Echoed in every ack, to match acks to requests. */
  correlation?: string;
}

export function parseCommandRequest(payload: Buffer): { ok: true; request: CommandRequest } | { ok: false; error: string } {
  if (payload.length === 0) return { ok: true, request: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, error: 'payload must be a JSON object' };
  const request = parsed as Record<string, unknown>;
  for (const key of Object.keys(request)) {
    if (!['arguments', 'ttl', 'correlation'].includes(key)) return { ok: false, error: `unknown field ${key} (expected arguments, ttl, correlation)` };
  }
  if (request.ttl !== undefined && !(typeof request.ttl === 'number' && request.ttl > 0 && request.ttl <= 366 * 24 * 3600)) {
    return { ok: false, error: 'ttl must be a number of seconds (at most a year)' };
  }
  if (request.correlation !== undefined && !(typeof request.correlation === 'string' && request.correlation.length <= 128)) {
    return { ok: false, error: 'correlation must be a string of at most 128 characters' };
  }
  try {
    if (request.arguments !== undefined) jsonToCbor(request.arguments);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  return { ok: true, request: request as CommandRequest };
}

/** JSON arguments as CBOR values: objects become maps with text keys; integers stay integers. */
export function jsonToCbor(value: unknown, depth = 0): CborValue {
  if (depth > 6) throw new Error('arguments nest too deeply');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('arguments hold a non-finite number');
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => jsonToCbor(item, depth + 1));
  if (typeof value === 'object') {
    const map = new CborMap();
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) map.set(key, jsonToCbor(item, depth + 1));
    return map;
  }
  throw new Error('arguments hold a value JSON cannot carry');
}

/** A CBOR value (a device's result detail) as JSON. */
export function cborToJson(value: CborValue): unknown {
  if (value instanceof CborMap) {
    const object: Record<string, unknown> = {};
    // defineProperty: a key "__proto__" from a device stays a key instead of setting the object's prototype.
    for (let index = 0; index < value.keys.length; index++) {
      Object.defineProperty(object, String(value.keys[index]), { value: cborToJson(value.values[index]), enumerable: true, writable: true, configurable: true });
    }
    return object;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(cborToJson);
  if (value === undefined) return null;
  return value;
}

export interface AckFields {
  device: string;
  command: string;
  id: number | null;
  status: DownlinkStatus;
  correlation: string | null;
  code?: number;
  detail?: unknown;
  error?: string;
}

export function commandAckMessage(topics: TopicScheme, fields: AckFields, now: number): JournalMessage {
  const payload: Record<string, unknown> = { device: fields.device, command: fields.command, id: fields.id, status: fields.status, time: new Date(now).toISOString() };
  if (fields.correlation !== null) payload.correlation = fields.correlation;
  if (fields.code !== undefined) payload.code = fields.code;
  if (fields.detail !== undefined) payload.detail = fields.detail;
  if (fields.error !== undefined) payload.error = fields.error;
  return { topic: topics.commandAck(fields.device, fields.command), payload: Buffer.from(JSON.stringify(payload)), retain: false, receivedAt: now };
}

export function ackFor(downlink: Downlink, device: string, status: DownlinkStatus): AckFields {
  return { device, command: downlink.name, id: downlink.id, status, correlation: downlink.correlation };
}

export function wireCommand(downlink: Downlink): WireCommand {
  const request = JSON.parse(downlink.argumentsJson) as unknown;
  return { id: downlink.id, name: downlink.name, arguments: request === null ? null : jsonToCbor(request) };
}

/** Commands for one response: oldest first, as many as fit in the byte budget (at least one, if any). */
export function selectCommands(open: Downlink[], budgetBytes: number): Array<{ downlink: Downlink; command: WireCommand }> {
  const selected: Array<{ downlink: Downlink; command: WireCommand }> = [];
  let used = 0;
  for (const downlink of open) {
    const command = wireCommand(downlink);
    const size = encodeCbor([command.id, command.name, command.arguments]).length;
    if (selected.length > 0 && used + size > budgetBytes) break;
    selected.push({ downlink, command });
    used += size;
  }
  return selected;
}

/**
 * Command state the gateway decided on but has not committed yet, so two uplinks in one commit batch do not
 * both announce the same change.
 */
export class PendingCommandChanges {
  private readonly statuses = new Map<number, DownlinkStatus>();

  effectiveStatus(downlink: Downlink): DownlinkStatus {
    return this.statuses.get(downlink.id) ?? downlink.status;
  }

  set(id: number, status: DownlinkStatus): void {
    this.statuses.set(id, status);
  }

  clear(ids: number[]): void {
    for (const id of ids) this.statuses.delete(id);
  }
}

export interface PlannedResult {
  downlink: Downlink;
  status: 'done' | 'failed';
  resultJson: string;
  ack: AckFields;
}

/** What the device's reported results change: finished commands and their acks (repeats change nothing). */
export function planResults(
  queue: DownlinkQueue,
  pending: PendingCommandChanges,
  deviceId: number,
  device: string,
  results: CommandResult[],
): PlannedResult[] {
  const planned: PlannedResult[] = [];
  for (const result of results) {
    const downlink = queue.get(result.commandId);
    if (!downlink || downlink.deviceId !== deviceId) continue;
    const status = pending.effectiveStatus(downlink);
    if (status !== 'queued' && status !== 'sent') continue;
    const finalStatus = result.status === 0 ? 'done' : 'failed';
    const detail = result.detail === undefined ? undefined : cborToJson(result.detail);
    const ack: AckFields = { ...ackFor(downlink, device, finalStatus) };
    if (finalStatus === 'failed') ack.code = result.status;
    if (detail !== undefined) ack.detail = detail;
    planned.push({ downlink, status: finalStatus, resultJson: JSON.stringify({ code: result.status, detail: detail ?? null }), ack });
    pending.set(downlink.id, finalStatus);
  }
  return planned;
}
