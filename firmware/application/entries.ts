/**
 * What the application journals, and how a journal entry becomes a protocol Reading (one entry = one reading,
 * with the entry's id as the reading id).
 *
 * Entries hold numbers only (the journal's slots are float64); names, units and texts are added when the entry
 * is sent, from the configuration the entry was made under (its revision is in the entry's flags). Kinds:
 * - Reading: `source` = position of the source in the configuration, values in the source's channel order;
 * - Event: `source` = an EventCode, values as listed at EventCode; published as `event:<type>`;
 * - Dropped (the journal's own): values[0] = entries lost because the journal was full;
 * - Status: the heartbeat, values in `statusFields` order.
 */
import type { ChannelValue, NamedValue, Reading } from '../protocol/uplink';
import type { JournalEntry } from '../journal/journal';

export const EntryKind = { Reading: 0, Event: 1, Dropped: 2, Status: 3 };

/** Event codes and their values: [value, subject] where a subject is needed. */
export const EventCode = {
  /** [battery volts] */
  AcLoss: 1,
  AcRestore: 2,
  LowBattery: 3,
  BatteryCritical: 4,
  BatteryOk: 5,
  /** [1, source index] */
  DeviceLost: 6,
  DeviceBack: 7,
  /** [value, threshold index, state: 0 normal, 1 high, 2 low] */
  Threshold: 8,
  /** [1 active / 0 inactive, digital input index] */
  Input: 9,
  /** [refused revision] */
  ConfigRejected: 10,
  /** [entries the gateway refused as malformed and the terminal gave up] */
  UplinkRejected: 11,
};

const eventNames: { [code: number]: string } = { 1: 'ac_loss', 2: 'ac_restore', 3: 'low_battery', 4: 'battery_critical', 5: 'battery_ok', 10: 'config_rejected', 11: 'uplink_rejected' };

export const statusFields = [
  'uptime', 'boot_count', 'reset_reason', 'battery', 'power_source', 'signal', 'journal_depth', 'config_version',
  'uplink_failures', 'modem_recoveries', 'source_failures', 'dropped_readings', 'torn_records', 'time_corrections',
];
const statusUnits: { [field: string]: string } = { uptime: 's', battery: 'V', signal: 'dBm' };
export const resetReasons = ['unknown', 'power-on', 'watchdog', 'software'];
export const powerSources = ['ac', 'battery', 'unknown'];

export interface SourceNaming {
  name: string;
  kind: string;
  channels: string[];
  units: Array<string | undefined>;
}

/** What names entries: the active configuration's sources, inputs and thresholds. */
export interface NamingContext {
  /** Low 7 bits of the configuration revision the names belong to. */
  revisionTag: number;
  sources: SourceNaming[];
  /** Event type of each configured digital input. */
  inputEvents: string[];
  /** "<source>.<channel>" of each configured threshold. */
  thresholdSubjects: string[];
  compactNames: boolean;
  firmwareVersion: string;
}

/** Event types are at most 32 characters (the gateway's topic rule). */
function eventType(text: string): string {
  return text.length > 32 ? text.substring(0, 32) : text;
}

function named(name: string, value: number, unit?: string): NamedValue {
  const result: NamedValue = { name: name, value: value };
  if (unit !== undefined) result.unit = unit;
  return result;
}

function eventValue(entry: JournalEntry, context: NamingContext, current: boolean): NamedValue {
  const values = entry.values;
  const code = entry.source;
  let type = eventNames[code];
  const subject = values.length > 1 ? values[1] : -1;
  if (code === EventCode.DeviceLost || code === EventCode.DeviceBack) {
    const source = current ? context.sources[subject] : undefined;
    const prefix = source && source.kind !== 'modbus' ? 'sensor' : 'modbus';
    type = prefix + (code === EventCode.DeviceLost ? '_lost.' : '_back.') + (source ? source.name : 'source' + subject);
    return { name: 'event:' + eventType(type), booleanValue: true };
  }
  if (code === EventCode.Threshold) {
    const state = values.length > 2 ? values[2] : 0;
    const subjectName = current && context.thresholdSubjects[subject] ? context.thresholdSubjects[subject] : 'threshold' + subject;
    type = (state === 1 ? 'high.' : state === 2 ? 'low.' : 'normal.') + subjectName;
    return { name: 'event:' + eventType(type), value: values[0] };
  }
  if (code === EventCode.Input) {
    type = current && context.inputEvents[subject] ? context.inputEvents[subject] : 'input' + subject;
    return { name: 'event:' + eventType(type), booleanValue: values[0] !== 0 };
  }
  const volts = code >= EventCode.AcLoss && code <= EventCode.BatteryOk;
  return named('event:' + (type || 'event' + code), values[0], volts && values[0] === values[0] ? 'V' : undefined);
}

function statusValues(values: number[], context: NamingContext): ChannelValue[] {
  const result: ChannelValue[] = [{ name: 'firmware', stringValue: context.firmwareVersion }];
  for (let index = 0; index < statusFields.length && index < values.length; index++) {
    const field = statusFields[index];
    const value = values[index];
    // NaN: not known (no battery, no signal reading yet).
    if (value !== value) continue;
    if (field === 'reset_reason') result.push({ name: field, stringValue: resetReasons[value] || 'unknown' });
    else if (field === 'power_source') result.push({ name: field, stringValue: powerSources[value] || 'unknown' });
    else result.push(named(field, value, statusUnits[field]));
  }
  return result;
}

/** The protocol reading of a journal entry; `time` is the protocol time (see TimeKeeper.resolve). */
export function entryToReading(entry: JournalEntry, time: number, context: NamingContext): Reading {
  const current = (entry.flags & 0x7f) === context.revisionTag;
  const values: ChannelValue[] = [];
  if (entry.kind === EntryKind.Reading) {
    const source = current ? context.sources[entry.source] : undefined;
    for (let index = 0; index < entry.values.length; index++) {
      const value = entry.values[index];
      if (source && context.compactNames) values.push(value);
      else if (source && index < source.channels.length) values.push(named(source.name + '.' + source.channels[index], value, source.units[index]));
      else values.push(named('source' + entry.source + '.' + index, value));
    }
  } else if (entry.kind === EntryKind.Event) {
    values.push(eventValue(entry, context, current));
  } else if (entry.kind === EntryKind.Dropped) {
    values.push(named('event:readings_dropped', entry.values[0]));
  } else if (entry.kind === EntryKind.Status) {
    return { id: entry.id, time: time, values: statusValues(entry.values, context) };
  } else {
    for (let index = 0; index < entry.values.length; index++) values.push(named('kind' + entry.kind + '.' + index, entry.values[index]));
  }
  return { id: entry.id, time: time, values: values };
}
