/**
 * From an authenticated uplink to what users see on MQTT: one `up` message per new reading, one `event`
 * message per alarm, and changes to the device's retained state. Payload layouts: docs/mqtt.md.
 *
 * Naming conventions inside a reading (SenML names, after the device's channel list named the compact records):
 * - `event:<type>`: an alarm (tamper, power_loss, low_battery, ...), published on `event/<type>`, not in `up`;
 * - `battery`, `signal`, `power_source`, `firmware`, `config_version`: also update the retained state.
 */
import { ResolvedSenmlRecord, resolveSenmlPack, SenmlRecord } from '../firmware/protocol/senml';
import type { Channel, DeviceState } from './store/registry';
import { EVENT_TYPE_PATTERN } from './mqtt/topics';

export interface PublishedValue {
  value?: number;
  booleanValue?: boolean;
  stringValue?: string;
  dataValue?: string;
  sum?: number;
  unit?: string;
}

export interface MappedReading {
  readingId: number;
  /** Seconds since the epoch (fractional). */
  time: number;
  values: Array<{ name: string } & PublishedValue>;
}

export interface MappedEvent {
  readingId: number;
  time: number;
  type: string;
  value: PublishedValue;
}

export interface MappedUplink {
  readings: MappedReading[];
  events: MappedEvent[];
  /** State fields the new readings carried (the latest value of each). */
  state: DeviceState;
  /** Reading ids in this uplink at or below what was already stored: dropped as duplicates. */
  duplicates: number;
  highestReadingId: number;
}

export class UplinkMappingError extends Error {
  override readonly name = 'UplinkMappingError';
}

const EVENT_PREFIX = 'event:';

function valueOf(record: ResolvedSenmlRecord, unit: string | undefined): PublishedValue {
  const value: PublishedValue = {};
  if (record.value !== undefined) value.value = record.value;
  if (record.booleanValue !== undefined) value.booleanValue = record.booleanValue;
  if (record.stringValue !== undefined) value.stringValue = record.stringValue;
  if (record.dataValue !== undefined) value.dataValue = Buffer.from(record.dataValue).toString('base64');
  if (record.sum !== undefined) value.sum = record.sum;
  if (unit !== undefined) value.unit = unit;
  return value;
}

function applyState(state: DeviceState, name: string, value: PublishedValue): void {
  switch (name) {
    case 'battery':
      if (value.value !== undefined) state.battery = value.unit ? { value: value.value, unit: value.unit } : { value: value.value };
      break;
    case 'signal':
      if (value.value !== undefined) state.signal = value.unit ? { value: value.value, unit: value.unit } : { value: value.value };
      break;
    case 'power_source':
      if (value.stringValue !== undefined) state.powerSource = value.stringValue;
      break;
    case 'firmware':
      if (value.stringValue !== undefined) state.firmware = value.stringValue;
      break;
    case 'config_version':
      if (value.value !== undefined) state.configVersion = value.value;
      else if (value.stringValue !== undefined) state.configVersion = value.stringValue;
      break;
  }
}

/** Names and units of a channel list, made once per list (a device's list is replaced, never changed in place). */
const channelLookups = new WeakMap<Channel[], { names: string[]; units: Map<string, string | undefined> }>();

function channelLookup(channels: Channel[]): { names: string[]; units: Map<string, string | undefined> } {
  let lookup = channelLookups.get(channels);
  if (!lookup) {
    lookup = { names: channels.map((channel) => channel.name), units: new Map(channels.map((channel) => [channel.name, channel.unit])) };
    channelLookups.set(channels, lookup);
  }
  return lookup;
}

/**
 * Resolves the SenML records with the device's channel list and splits them into new readings, events and
 * state. Throws UplinkMappingError when the pack cannot be resolved (no reading id, unnamed values beyond the
 * channel list): the device gets a 4.00 and the batch is not stored.
 */
export function mapUplink(records: SenmlRecord[], channels: Channel[], lastReadingId: number, receivedAtMilliseconds: number): MappedUplink {
  const { names, units } = channelLookup(channels);
  let resolved: ResolvedSenmlRecord[];
  try {
    resolved = resolveSenmlPack(records, receivedAtMilliseconds / 1000, names);
  } catch (error) {
    throw new UplinkMappingError((error as { message?: string }).message ?? String(error));
  }
  const readings: MappedReading[] = [];
  const events: MappedEvent[] = [];
  const state: DeviceState = {};
  const byId = new Map<number, MappedReading>();
  const duplicateIds = new Set<number>();
  let highestReadingId = lastReadingId;
  for (const record of resolved) {
    if (record.readingId === null) throw new UplinkMappingError('a record without a reading id');
    if (record.readingId <= lastReadingId) {
      duplicateIds.add(record.readingId);
      continue;
    }
    if (record.readingId > highestReadingId) highestReadingId = record.readingId;
    const value = valueOf(record, record.unit ?? units.get(record.name));
    if (record.name.startsWith(EVENT_PREFIX) && EVENT_TYPE_PATTERN.test(record.name.slice(EVENT_PREFIX.length))) {
      events.push({ readingId: record.readingId, time: record.time, type: record.name.slice(EVENT_PREFIX.length), value });
      continue;
    }
    let reading = byId.get(record.readingId);
    if (!reading) {
      reading = { readingId: record.readingId, time: record.time, values: [] };
      byId.set(record.readingId, reading);
      readings.push(reading);
    }
    reading.values.push({ name: record.name, ...value });
    applyState(state, record.name, value);
  }
  readings.sort((left, right) => left.readingId - right.readingId);
  return { readings, events, state, duplicates: duplicateIds.size, highestReadingId };
}

/** 10000-01-01T00:00:00Z: below it (and from 1970) toISOString's text up to the seconds has a fixed width. */
const FOUR_DIGIT_YEARS_END = 253402300800000;
/** The range of Date (ECMAScript TimeClip). */
const DATE_LIMIT = 8.64e15;

/**
 * ISO 8601 text of a time in milliseconds, exactly as Date.prototype.toISOString writes it. toISOString costs
 * about a microsecond, and the times of one second share their text up to the milliseconds, so the text of the
 * last second seen is kept (each use keeps its own instance: arrival times and reading times each come in runs).
 */
export class IsoTimeText {
  private second = NaN;
  private prefix = '';

  of(milliseconds: number): string {
    if (!(milliseconds >= 0 && milliseconds < FOUR_DIGIT_YEARS_END) || milliseconds !== Math.floor(milliseconds)) return new Date(milliseconds).toISOString();
    const second = Math.floor(milliseconds / 1000);
    if (second !== this.second) {
      // "YYYY-MM-DDTHH:MM:SS."
      this.prefix = new Date(second * 1000).toISOString().slice(0, 20);
      this.second = second;
    }
    const fraction = milliseconds - second * 1000;
    return this.prefix + (fraction < 10 ? '00' : fraction < 100 ? '0' : '') + fraction + 'Z';
  }
}

const readingTimes = new IsoTimeText();
const arrivalTimes = new IsoTimeText();

/** A reading's time (seconds since the epoch); the epoch when it is beyond what a Date holds. */
export function isoTime(seconds: number): string {
  const milliseconds = Math.round(seconds * 1000);
  return readingTimes.of(Math.abs(milliseconds) <= DATE_LIMIT ? milliseconds : 0);
}

/** When the gateway received an uplink (milliseconds since the epoch). */
export function isoArrivalTime(milliseconds: number): string {
  return arrivalTimes.of(milliseconds);
}

function jsonValue(value: PublishedValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value.value !== undefined) out.value = value.value;
  else if (value.booleanValue !== undefined) out.value = value.booleanValue;
  else if (value.stringValue !== undefined) out.value = value.stringValue;
  else if (value.dataValue !== undefined) out.data = value.dataValue;
  if (value.sum !== undefined) out.sum = value.sum;
  if (value.unit !== undefined) out.unit = value.unit;
  return out;
}

/** The `up` payload in the default JSON format. */
export function readingJson(device: string, reading: MappedReading, state: DeviceState, receivedAt: number): string {
  const values: Record<string, Record<string, unknown>> = {};
  for (const entry of reading.values) values[entry.name] = jsonValue(entry);
  const payload: Record<string, unknown> = {
    device,
    readingId: reading.readingId,
    time: isoTime(reading.time),
    receivedAt: isoArrivalTime(receivedAt),
    values,
  };
  if (state.signal) payload.signal = state.signal;
  if (state.battery) payload.battery = state.battery;
  return JSON.stringify(payload);
}

/** The `up` payload as a SenML-JSON pack (RFC 8428): base name `urn:dev:imei:<imei>:`, extension field `rid`. */
export function readingSenml(device: string, reading: MappedReading): string {
  const pack = reading.values.map((entry, index) => {
    const record: Record<string, unknown> = {};
    if (index === 0) {
      record.bn = `urn:dev:imei:${device}:`;
      record.bt = reading.time;
      record.rid = reading.readingId;
    }
    record.n = entry.name;
    if (entry.unit !== undefined) record.u = entry.unit;
    if (entry.value !== undefined) record.v = entry.value;
    if (entry.booleanValue !== undefined) record.vb = entry.booleanValue;
    if (entry.stringValue !== undefined) record.vs = entry.stringValue;
    if (entry.dataValue !== undefined) record.vd = entry.dataValue.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    if (entry.sum !== undefined) record.s = entry.sum;
    return record;
  });
  return JSON.stringify(pack);
}

export function eventJson(device: string, event: MappedEvent, receivedAt: number): string {
  return JSON.stringify({
    device,
    type: event.type,
    readingId: event.readingId,
    time: isoTime(event.time),
    receivedAt: isoArrivalTime(receivedAt),
    ...jsonValue(event.value),
  });
}

export function stateJson(device: string, state: DeviceState): string {
  return JSON.stringify({ device, ...state });
}

/** Merges fields into a state; returns whether anything other than lastSeen/lastReadingId changed. */
export function mergeState(target: DeviceState, changes: DeviceState): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(changes) as Array<[keyof DeviceState, unknown]>) {
    if (value === undefined) continue;
    if (JSON.stringify(target[key]) !== JSON.stringify(value)) {
      (target as Record<string, unknown>)[key] = value;
      if (key !== 'lastSeen' && key !== 'lastReadingId') changed = true;
    }
  }
  return changed;
}
