/**
 * SenML (RFC 8428) records in their CBOR representation (Section 6: integer labels), plus one private base
 * label for reading ids, and the resolution rules of Section 4.6 with one extension for the radio link:
 * a record may omit its name, and the gateway then names it from the device's channel list by its position
 * within its reading (see docs/protocol.md, "Compact SenML"). What the gateway publishes is plain SenML.
 */
import { ByteWriter } from './bytes';
import { CborMap, CborValue, MAJOR_ARRAY, MAJOR_MAP, writeBytes, writeHead, writeNumber, writeText } from './cbor';
import { ProtocolError } from './errors';

/** RFC 8428 Table 6 labels, and our private base reading id. */
export const SenmlLabel = {
  BaseVersion: -1,
  BaseName: -2,
  BaseTime: -3,
  BaseUnit: -4,
  BaseValue: -5,
  BaseSum: -6,
  Name: 0,
  Unit: 1,
  Value: 2,
  StringValue: 3,
  BooleanValue: 4,
  Sum: 5,
  Time: 6,
  UpdateTime: 7,
  DataValue: 8,
  /**
   * Private (not IANA-registered) base field: the reading id of this record and the records after it, until
   * the next record that carries one. Chosen from the one-byte negative range, far from the registered labels.
   */
  BaseReadingId: -24,
};

/** Times below 2^28 are relative to "now" (RFC 8428 Section 4.5.3). */
export const SENML_RELATIVE_TIME_LIMIT = 268435456;

export interface SenmlRecord {
  baseVersion?: number;
  baseName?: string;
  baseTime?: number;
  baseUnit?: string;
  baseValue?: number;
  baseSum?: number;
  baseReadingId?: number;
  name?: string;
  unit?: string;
  value?: number;
  stringValue?: string;
  booleanValue?: boolean;
  dataValue?: Uint8Array;
  sum?: number;
  time?: number;
  updateTime?: number;
}

function countFields(record: SenmlRecord): number {
  let count = 0;
  const fields = [
    record.baseVersion, record.baseName, record.baseTime, record.baseUnit, record.baseValue, record.baseSum, record.baseReadingId,
    record.name, record.unit, record.value, record.stringValue, record.booleanValue, record.dataValue, record.sum, record.time, record.updateTime,
  ];
  for (let index = 0; index < fields.length; index++) if (fields[index] !== undefined) count++;
  return count;
}

function writeNumberField(writer: ByteWriter, label: number, value: number | undefined): void {
  if (value === undefined) return;
  writeNumber(writer, label);
  writeNumber(writer, value);
}

function writeTextField(writer: ByteWriter, label: number, value: string | undefined): void {
  if (value === undefined) return;
  writeNumber(writer, label);
  writeText(writer, value);
}

/** Writes one record as a CBOR map: base fields first, then the record's own fields. */
export function writeSenmlRecord(writer: ByteWriter, record: SenmlRecord): void {
  writeHead(writer, MAJOR_MAP, countFields(record));
  writeNumberField(writer, SenmlLabel.BaseVersion, record.baseVersion);
  writeTextField(writer, SenmlLabel.BaseName, record.baseName);
  writeNumberField(writer, SenmlLabel.BaseTime, record.baseTime);
  writeTextField(writer, SenmlLabel.BaseUnit, record.baseUnit);
  writeNumberField(writer, SenmlLabel.BaseValue, record.baseValue);
  writeNumberField(writer, SenmlLabel.BaseSum, record.baseSum);
  writeNumberField(writer, SenmlLabel.BaseReadingId, record.baseReadingId);
  writeTextField(writer, SenmlLabel.Name, record.name);
  writeTextField(writer, SenmlLabel.Unit, record.unit);
  writeNumberField(writer, SenmlLabel.Value, record.value);
  writeTextField(writer, SenmlLabel.StringValue, record.stringValue);
  if (record.booleanValue !== undefined) {
    writeNumber(writer, SenmlLabel.BooleanValue);
    writer.byte(record.booleanValue ? 0xf5 : 0xf4);
  }
  if (record.dataValue !== undefined) {
    writeNumber(writer, SenmlLabel.DataValue);
    writeBytes(writer, record.dataValue);
  }
  writeNumberField(writer, SenmlLabel.Sum, record.sum);
  writeNumberField(writer, SenmlLabel.Time, record.time);
  writeNumberField(writer, SenmlLabel.UpdateTime, record.updateTime);
}

export function writeSenmlPack(writer: ByteWriter, records: SenmlRecord[]): void {
  writeHead(writer, MAJOR_ARRAY, records.length);
  for (let index = 0; index < records.length; index++) writeSenmlRecord(writer, records[index]);
}

export function encodeSenmlPack(records: SenmlRecord[]): Uint8Array {
  const writer = new ByteWriter(16 + records.length * 8);
  writeSenmlPack(writer, records);
  return writer.bytes();
}

function malformed(message: string): ProtocolError {
  return new ProtocolError('malformed', 'SenML: ' + message);
}

function expectNumber(value: CborValue, label: string): number {
  if (typeof value !== 'number' || value !== value || value === Infinity || value === -Infinity) throw malformed(label + ' must be a finite number');
  return value;
}

function expectText(value: CborValue, label: string): string {
  if (typeof value !== 'string') throw malformed(label + ' must be text');
  return value;
}

function expectReadingId(value: CborValue): number {
  if (typeof value !== 'number' || value < 0 || value !== Math.floor(value) || value > 9007199254740991) {
    throw malformed('reading id must be an unsigned integer');
  }
  return value;
}

/** Decodes one record from a decoded CBOR map. Unknown labels are ignored unless they are must-understand (text ending in "_"). */
export function readSenmlRecord(map: CborValue): SenmlRecord {
  if (!(map instanceof CborMap)) throw malformed('record must be a map');
  const record: SenmlRecord = {};
  let valueFields = 0;
  for (let index = 0; index < map.keys.length; index++) {
    const key = map.keys[index];
    const value = map.values[index];
    switch (key) {
      case SenmlLabel.BaseVersion: record.baseVersion = expectNumber(value, 'bver'); break;
      case SenmlLabel.BaseName: record.baseName = expectText(value, 'bn'); break;
      case SenmlLabel.BaseTime: record.baseTime = expectNumber(value, 'bt'); break;
      case SenmlLabel.BaseUnit: record.baseUnit = expectText(value, 'bu'); break;
      case SenmlLabel.BaseValue: record.baseValue = expectNumber(value, 'bv'); break;
      case SenmlLabel.BaseSum: record.baseSum = expectNumber(value, 'bs'); break;
      case SenmlLabel.BaseReadingId: record.baseReadingId = expectReadingId(value); break;
      case SenmlLabel.Name: record.name = expectText(value, 'n'); break;
      case SenmlLabel.Unit: record.unit = expectText(value, 'u'); break;
      case SenmlLabel.Value: record.value = expectNumber(value, 'v'); valueFields++; break;
      case SenmlLabel.StringValue: record.stringValue = expectText(value, 'vs'); valueFields++; break;
      case SenmlLabel.BooleanValue:
        if (typeof value !== 'boolean') throw malformed('vb must be a boolean');
        record.booleanValue = value;
        valueFields++;
        break;
      case SenmlLabel.DataValue:
        if (!(value instanceof Uint8Array)) throw malformed('vd must be a byte string');
        record.dataValue = value;
        valueFields++;
        break;
      case SenmlLabel.Sum: record.sum = expectNumber(value, 's'); break;
      case SenmlLabel.Time: record.time = expectNumber(value, 't'); break;
      case SenmlLabel.UpdateTime: record.updateTime = expectNumber(value, 'ut'); break;
      default:
        if (typeof key === 'string' && key.length > 0 && key.charAt(key.length - 1) === '_') throw malformed('unknown must-understand label ' + key);
    }
  }
  if (valueFields > 1) throw malformed('a record carries more than one value field');
  return record;
}

export function readSenmlPack(pack: CborValue): SenmlRecord[] {
  if (!Array.isArray(pack)) throw malformed('pack must be an array');
  const records: SenmlRecord[] = [];
  for (let index = 0; index < pack.length; index++) records.push(readSenmlRecord(pack[index]));
  return records;
}

/** A record after Section 4.6 resolution: absolute name and time, base value/sum applied, reading id attached. */
export interface ResolvedSenmlRecord {
  name: string;
  /** Seconds since the Unix epoch. */
  time: number;
  unit?: string;
  value?: number;
  stringValue?: string;
  booleanValue?: boolean;
  dataValue?: Uint8Array;
  sum?: number;
  updateTime?: number;
  /** Null when no record before it carried a reading id. */
  readingId: number | null;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:./_-]*$/;

/**
 * Resolves a pack (RFC 8428 Section 4.6). `now` (seconds since the epoch) anchors relative times. A record
 * without a name is named `channelNames[position]`, where position counts the records since the last one that
 * carried a reading id; a missing channel name or an invalid resolved name is malformed.
 */
export function resolveSenmlPack(records: SenmlRecord[], now: number, channelNames: string[]): ResolvedSenmlRecord[] {
  const resolved: ResolvedSenmlRecord[] = [];
  let baseName = '';
  let baseTime = 0;
  let baseUnit: string | undefined;
  let baseValue = 0;
  let baseSum = 0;
  let readingId: number | null = null;
  let position = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    if (record.baseVersion !== undefined && record.baseVersion > 10) throw malformed('unsupported SenML version');
    if (record.baseName !== undefined) baseName = record.baseName;
    if (record.baseTime !== undefined) baseTime = record.baseTime;
    if (record.baseUnit !== undefined) baseUnit = record.baseUnit;
    if (record.baseValue !== undefined) baseValue = record.baseValue;
    if (record.baseSum !== undefined) baseSum = record.baseSum;
    if (record.baseReadingId !== undefined) {
      readingId = record.baseReadingId;
      position = 0;
    }
    let name: string;
    if (record.name !== undefined) {
      name = baseName + record.name;
    } else if (position < channelNames.length) {
      name = baseName + channelNames[position];
    } else {
      throw malformed('record ' + index + ' has no name and no channel at its position');
    }
    position++;
    if (!NAME_PATTERN.test(name)) throw malformed('invalid resolved name');
    let time = baseTime + (record.time === undefined ? 0 : record.time);
    if (time < SENML_RELATIVE_TIME_LIMIT) time = now + time;
    const out: ResolvedSenmlRecord = { name: name, time: time, readingId: readingId };
    const unit = record.unit !== undefined ? record.unit : baseUnit;
    if (unit !== undefined) out.unit = unit;
    const hasValue = record.value !== undefined || record.stringValue !== undefined || record.booleanValue !== undefined || record.dataValue !== undefined;
    if (record.value !== undefined) out.value = baseValue + record.value;
    else if (record.baseValue !== undefined && !hasValue && record.sum === undefined) out.value = baseValue;
    if (record.stringValue !== undefined) out.stringValue = record.stringValue;
    if (record.booleanValue !== undefined) out.booleanValue = record.booleanValue;
    if (record.dataValue !== undefined) out.dataValue = record.dataValue;
    if (record.sum !== undefined) out.sum = baseSum + record.sum;
    if (record.updateTime !== undefined) out.updateTime = record.updateTime;
    if (out.value === undefined && out.stringValue === undefined && out.booleanValue === undefined && out.dataValue === undefined && out.sum === undefined) {
      throw malformed('record ' + index + ' has no value and no sum');
    }
    resolved.push(out);
  }
  return resolved;
}
