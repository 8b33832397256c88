/**
 * The application messages inside the OSCORE-protected CoAP exchange:
 * - uplink (terminal -> gateway, POST payload): a batch of readings as a compact SenML pack, optionally with
 *   results of earlier commands;
 * - downlink (the piggybacked 2.04 response): up to which reading id the gateway has stored readings, commands
 *   with ids, configuration, the time, and which command results it has stored.
 * Byte layouts with worked examples: docs/protocol.md.
 */
import { ByteWriter } from './bytes';
import { CborLimits, CborMap, CborValue, decodeCbor, MAJOR_ARRAY, MAJOR_MAP, writeHead, writeInteger, writeText, writeValue } from './cbor';
import { ProtocolError } from './errors';
import { readSenmlPack, SenmlRecord, writeSenmlPack } from './senml';

/** A value with an explicit name (events, or anything outside the device's channel list). */
export interface NamedValue {
  name: string;
  value?: number;
  booleanValue?: boolean;
  stringValue?: string;
  unit?: string;
}

/** A plain value is named by its position in the device's channel list. */
export type ChannelValue = number | boolean | string | NamedValue;

export interface Reading {
  /** Device-unique, monotonic, survives reboots; the gateway drops readings it has already stored. */
  id: number;
  /** Seconds since the Unix epoch; or, without a wall clock, zero or minus the reading's age in seconds. */
  time: number;
  values: ChannelValue[];
}

export interface CommandResult {
  commandId: number;
  /** 0 = done; other values are command-specific failure codes. */
  status: number;
  detail?: CborValue;
}

export interface UplinkMessage {
  readings: Reading[];
  commandResults: CommandResult[];
}

const UPLINK_PACK = 0;
const UPLINK_COMMAND_RESULTS = 1;

/** The SenML records of a batch: each reading starts with a record carrying its id and (if changed) its time. */
export function readingsToRecords(readings: Reading[]): SenmlRecord[] {
  const records: SenmlRecord[] = [];
  let baseTime = 0;
  for (let readingIndex = 0; readingIndex < readings.length; readingIndex++) {
    const reading = readings[readingIndex];
    if (reading.values.length === 0) throw new ProtocolError('invalid-argument', 'a reading needs at least one value');
    if (!(reading.id >= 0) || reading.id !== Math.floor(reading.id)) throw new ProtocolError('invalid-argument', 'reading id must be an unsigned integer');
    for (let valueIndex = 0; valueIndex < reading.values.length; valueIndex++) {
      const value = reading.values[valueIndex];
      const record: SenmlRecord = {};
      if (valueIndex === 0) {
        record.baseReadingId = reading.id;
        if (reading.time !== baseTime) {
          record.baseTime = reading.time;
          baseTime = reading.time;
        }
      }
      if (typeof value === 'number') {
        record.value = value;
      } else if (typeof value === 'boolean') {
        record.booleanValue = value;
      } else if (typeof value === 'string') {
        record.stringValue = value;
      } else {
        record.name = value.name;
        if (value.unit !== undefined) record.unit = value.unit;
        if (value.value !== undefined) record.value = value.value;
        if (value.booleanValue !== undefined) record.booleanValue = value.booleanValue;
        if (value.stringValue !== undefined) record.stringValue = value.stringValue;
      }
      records.push(record);
    }
  }
  return records;
}

/** The inverse of readingsToRecords for packs that follow its shape (every reading starts with a reading id). */
export function recordsToReadings(records: SenmlRecord[]): Reading[] {
  const readings: Reading[] = [];
  let baseTime = 0;
  let current: Reading | null = null;
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    if (record.baseTime !== undefined) baseTime = record.baseTime;
    if (record.baseReadingId !== undefined) {
      current = { id: record.baseReadingId, time: baseTime + (record.time || 0), values: [] };
      readings.push(current);
    }
    if (!current) throw new ProtocolError('malformed', 'uplink: a record before the first reading id');
    if (record.dataValue !== undefined || record.sum !== undefined || record.baseName !== undefined) {
      throw new ProtocolError('malformed', 'uplink: fields the terminal never sends');
    }
    if (record.name === undefined) {
      if (record.unit !== undefined) throw new ProtocolError('malformed', 'uplink: a channel value with a unit');
      if (record.value !== undefined) current.values.push(record.value);
      else if (record.booleanValue !== undefined) current.values.push(record.booleanValue);
      else if (record.stringValue !== undefined) current.values.push(record.stringValue);
      else throw new ProtocolError('malformed', 'uplink: a record without a value');
    } else {
      const named: NamedValue = { name: record.name };
      if (record.unit !== undefined) named.unit = record.unit;
      if (record.value !== undefined) named.value = record.value;
      if (record.booleanValue !== undefined) named.booleanValue = record.booleanValue;
      if (record.stringValue !== undefined) named.stringValue = record.stringValue;
      current.values.push(named);
    }
  }
  return readings;
}

/** A batch without command results is just the SenML pack (an array); otherwise a map {0: pack, 1: results}. */
export function encodeUplink(message: UplinkMessage): Uint8Array {
  const writer = new ByteWriter(64);
  const records = readingsToRecords(message.readings);
  if (message.commandResults.length === 0) {
    writeSenmlPack(writer, records);
    return writer.bytes();
  }
  writeHead(writer, MAJOR_MAP, 2);
  writeInteger(writer, UPLINK_PACK);
  writeSenmlPack(writer, records);
  writeInteger(writer, UPLINK_COMMAND_RESULTS);
  writeHead(writer, MAJOR_ARRAY, message.commandResults.length);
  for (let index = 0; index < message.commandResults.length; index++) {
    const result = message.commandResults[index];
    const hasDetail = result.detail !== undefined;
    writeHead(writer, MAJOR_ARRAY, hasDetail ? 3 : 2);
    writeInteger(writer, result.commandId);
    writeInteger(writer, result.status);
    if (hasDetail) writeValue(writer, result.detail as CborValue);
  }
  return writer.bytes();
}

export interface DecodedUplink {
  records: SenmlRecord[];
  commandResults: CommandResult[];
}

export const UPLINK_CBOR_LIMITS: CborLimits = { maxDepth: 6, maxMapEntries: 32, maxArrayItems: 1024, maxStringLength: 256 };

function expectUnsigned(value: CborValue, what: string): number {
  // 9007199254740991 = 2^53 - 1: larger whole numbers (sent as CBOR floats) cannot be exact ids.
  if (typeof value !== 'number' || value < 0 || value !== Math.floor(value) || value > 9007199254740991) {
    throw new ProtocolError('malformed', what + ' must be an unsigned integer');
  }
  return value;
}

/** Decodes an uplink payload; throws ProtocolError on anything malformed. */
export function decodeUplink(payload: Uint8Array): DecodedUplink {
  const root = decodeCbor(payload, UPLINK_CBOR_LIMITS);
  if (Array.isArray(root)) return { records: readSenmlPack(root), commandResults: [] };
  if (!(root instanceof CborMap)) throw new ProtocolError('malformed', 'uplink must be a SenML pack or a map');
  const records = readSenmlPack(root.has(UPLINK_PACK) ? root.get(UPLINK_PACK) : []);
  const commandResults: CommandResult[] = [];
  const results = root.get(UPLINK_COMMAND_RESULTS);
  if (results !== undefined) {
    if (!Array.isArray(results)) throw new ProtocolError('malformed', 'command results must be an array');
    for (let index = 0; index < results.length; index++) {
      const entry = results[index];
      if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) throw new ProtocolError('malformed', 'command result must be [id, status, detail?]');
      const result: CommandResult = { commandId: expectUnsigned(entry[0], 'command id'), status: expectUnsigned(entry[1], 'command status') };
      if (entry.length === 3) result.detail = entry[2];
      commandResults.push(result);
    }
  }
  return { records: records, commandResults: commandResults };
}

export interface Command {
  id: number;
  name: string;
  arguments: CborValue;
}

export interface DownlinkMessage {
  /** The gateway has stored every reading with an id up to and including this one; null: nothing new. */
  acknowledgedReadingId: number | null;
  commands: Command[];
  /** Configuration changes (text keys), or null. */
  configuration: CborMap | null;
  /** Gateway time in seconds since the Unix epoch, or null. */
  time: number | null;
  /** Command results the gateway has stored; the terminal may forget them. */
  acknowledgedCommandResults: number[];
}

export const DownlinkKey = { AcknowledgedReadingId: 1, Commands: 2, Configuration: 3, Time: 4, AcknowledgedCommandResults: 5 };

export function emptyDownlink(): DownlinkMessage {
  return { acknowledgedReadingId: null, commands: [], configuration: null, time: null, acknowledgedCommandResults: [] };
}

export function encodeDownlink(message: DownlinkMessage): Uint8Array {
  const writer = new ByteWriter(64);
  let entries = 0;
  if (message.acknowledgedReadingId !== null) entries++;
  if (message.commands.length > 0) entries++;
  if (message.configuration !== null) entries++;
  if (message.time !== null) entries++;
  if (message.acknowledgedCommandResults.length > 0) entries++;
  writeHead(writer, MAJOR_MAP, entries);
  if (message.acknowledgedReadingId !== null) {
    writeInteger(writer, DownlinkKey.AcknowledgedReadingId);
    writeInteger(writer, message.acknowledgedReadingId);
  }
  if (message.commands.length > 0) {
    writeInteger(writer, DownlinkKey.Commands);
    writeHead(writer, MAJOR_ARRAY, message.commands.length);
    for (let index = 0; index < message.commands.length; index++) {
      const command = message.commands[index];
      writeHead(writer, MAJOR_ARRAY, 3);
      writeInteger(writer, command.id);
      writeText(writer, command.name);
      writeValue(writer, command.arguments);
    }
  }
  if (message.configuration !== null) {
    writeInteger(writer, DownlinkKey.Configuration);
    writeValue(writer, message.configuration);
  }
  if (message.time !== null) {
    writeInteger(writer, DownlinkKey.Time);
    writeValue(writer, message.time);
  }
  if (message.acknowledgedCommandResults.length > 0) {
    writeInteger(writer, DownlinkKey.AcknowledgedCommandResults);
    writeHead(writer, MAJOR_ARRAY, message.acknowledgedCommandResults.length);
    for (let index = 0; index < message.acknowledgedCommandResults.length; index++) writeInteger(writer, message.acknowledgedCommandResults[index]);
  }
  return writer.bytes();
}

export const DOWNLINK_CBOR_LIMITS: CborLimits = { maxDepth: 12, maxMapEntries: 64, maxArrayItems: 256, maxStringLength: 512 };

/** Decodes a downlink payload (an empty payload is an empty downlink). Unknown keys are ignored for forward compatibility. */
export function decodeDownlink(payload: Uint8Array): DownlinkMessage {
  const message = emptyDownlink();
  if (payload.length === 0) return message;
  const root = decodeCbor(payload, DOWNLINK_CBOR_LIMITS);
  if (!(root instanceof CborMap)) throw new ProtocolError('malformed', 'downlink must be a map');
  const acknowledged = root.get(DownlinkKey.AcknowledgedReadingId);
  if (acknowledged !== undefined) message.acknowledgedReadingId = expectUnsigned(acknowledged, 'acknowledged reading id');
  const commands = root.get(DownlinkKey.Commands);
  if (commands !== undefined) {
    if (!Array.isArray(commands)) throw new ProtocolError('malformed', 'commands must be an array');
    for (let index = 0; index < commands.length; index++) {
      const entry = commands[index];
      if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[1] !== 'string') throw new ProtocolError('malformed', 'command must be [id, name, arguments]');
      message.commands.push({ id: expectUnsigned(entry[0], 'command id'), name: entry[1], arguments: entry[2] });
    }
  }
  const configuration = root.get(DownlinkKey.Configuration);
  if (configuration !== undefined) {
    if (!(configuration instanceof CborMap)) throw new ProtocolError('malformed', 'configuration must be a map');
    message.configuration = configuration;
  }
  const time = root.get(DownlinkKey.Time);
  if (time !== undefined) {
    if (typeof time !== 'number' || !(time >= 0) || time === Infinity) throw new ProtocolError('malformed', 'time must be a non-negative number');
    message.time = time;
  }
  const results = root.get(DownlinkKey.AcknowledgedCommandResults);
  if (results !== undefined) {
    if (!Array.isArray(results)) throw new ProtocolError('malformed', 'acknowledged command results must be an array');
    for (let index = 0; index < results.length; index++) message.acknowledgedCommandResults.push(expectUnsigned(results[index], 'command id'));
  }
  return message;
}
