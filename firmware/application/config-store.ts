/**
 * The device configuration in flash, with a revision and the last good one kept.
 *
 * Two slot files `cfg0` and `cfg1`, each one record (docs/firmware.md): magic 0xC7, format 1, revision u32,
 * body length u16, CRC-16 of header and body, then the configuration as JSON text. A new configuration goes
 * into the slot that does not hold the active one, so a power cut while it is written leaves a torn record
 * (its CRC fails) beside the intact old one. At boot the valid record with the highest revision that also
 * passes validation wins; a newer record that fails validation is reported and the older one is used. The
 * configuration built into the bundle (`udt:config`) is revision 0, the fallback of last resort.
 *
 * Updates are versioned: a new configuration (whole, or a JSON merge patch, RFC 7396, on the active one) must
 * carry a revision above the active one; the same revision again is accepted as already applied.
 */
import type { Storage } from '../../hal/interfaces';
import { crc16 } from '../modbus/crc16';
import { utf8Decode, utf8Encode } from '../protocol/bytes';

export const configSlotNames = ['cfg0', 'cfg1'];
const magic = 0xc7;
const format = 1;
const headerBytes = 10;
const maximumBodyBytes = 8192;

export interface ConfigRecord {
  revision: number;
  config: unknown;
}

export function encodeConfigRecord(revision: number, config: unknown): Uint8Array {
  const body = utf8Encode(JSON.stringify(config));
  if (body.length > maximumBodyBytes) throw new Error('configuration larger than ' + maximumBodyBytes + ' bytes');
  const data = new Uint8Array(headerBytes + body.length);
  const view = new DataView(data.buffer);
  data[0] = magic;
  data[1] = format;
  view.setUint32(2, revision, true);
  view.setUint16(6, body.length, true);
  data.set(body, headerBytes);
  view.setUint16(8, crc16(data, 0, 8) ^ crc16(body), true);
  return data;
}

export function decodeConfigRecord(data: Uint8Array | null): ConfigRecord | null {
  if (!data || data.length < headerBytes || data[0] !== magic || data[1] !== format) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const length = view.getUint16(6, true);
  if (headerBytes + length > data.length) return null;
  const body = data.subarray(headerBytes, headerBytes + length);
  if (view.getUint16(8, true) !== (crc16(data, 0, 8) ^ crc16(body))) return null;
  try {
    return { revision: view.getUint32(2, true), config: JSON.parse(utf8Decode(body, 0, body.length)) };
  } catch (error) {
    return null;
  }
}

/** Returns "path: reason" for a configuration the terminal cannot run, or null. */
export type ConfigValidator = (config: unknown) => string | null;

export interface LoadedConfig {
  config: unknown;
  revision: number;
  /** -1: the built-in configuration. */
  slot: number;
  /** A newer stored configuration that failed validation, kept out. */
  rejected: { revision: number; problem: string } | null;
}

export type ConfigChange = { ok: true; revision: number; config: unknown; unchanged: boolean } | { ok: false; problem: string };

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Merge Patch (RFC 7396): objects merge member by member, null removes a member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Json = {};
  if (isObject(target)) for (const key in target) if ({}.hasOwnProperty.call(target, key)) result[key] = target[key];
  for (const key in patch) {
    if (!{}.hasOwnProperty.call(patch, key)) continue;
    const value = patch[key];
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export class ConfigStore {
  private active: LoadedConfig;

  constructor(
    private readonly storage: Storage,
    private readonly validate: ConfigValidator,
    private readonly builtIn: unknown,
  ) {
    this.active = { config: builtIn, revision: 0, slot: -1, rejected: null };
  }

  /** Read both slots and pick the configuration to run (see the file comment). */
  load(): LoadedConfig {
    const records: Array<{ record: ConfigRecord; slot: number }> = [];
    for (let slot = 0; slot < configSlotNames.length; slot++) {
      const record = decodeConfigRecord(this.storage.read(configSlotNames[slot]));
      if (record) records.push({ record, slot });
    }
    records.sort(function (left, right) {
      return right.record.revision - left.record.revision;
    });
    let rejected: LoadedConfig['rejected'] = null;
    for (let index = 0; index < records.length; index++) {
      const candidate = records[index];
      const problem = this.validate(candidate.record.config);
      if (!problem) {
        this.active = { config: candidate.record.config, revision: candidate.record.revision, slot: candidate.slot, rejected };
        return this.active;
      }
      if (!rejected) rejected = { revision: candidate.record.revision, problem };
    }
    const builtInProblem = this.builtIn === null || this.builtIn === undefined ? 'no configuration' : this.validate(this.builtIn);
    this.active = { config: builtInProblem ? null : this.builtIn, revision: 0, slot: -1, rejected: rejected || (builtInProblem ? { revision: 0, problem: builtInProblem } : null) };
    return this.active;
  }

  current(): LoadedConfig {
    return this.active;
  }

  /**
   * Validate and store a new configuration: `replacement` (whole) or `patch` (merged into the active one).
   * The active configuration is untouched unless the new one validated and is in flash.
   */
  change(revision: number, replacement: unknown, patch: unknown): ConfigChange {
    if (typeof revision !== 'number' || revision !== Math.floor(revision) || revision < 1 || revision > 4294967295) {
      return { ok: false, problem: 'revision must be an integer 1..4294967295' };
    }
    if (revision < this.active.revision) return { ok: false, problem: 'revision ' + revision + ' is older than the active revision ' + this.active.revision };
    const candidate = replacement !== undefined && replacement !== null ? replacement : mergePatch(this.active.config, patch);
    if (revision === this.active.revision) {
      if (JSON.stringify(candidate) === JSON.stringify(this.active.config)) return { ok: true, revision, config: this.active.config, unchanged: true };
      return { ok: false, problem: 'revision ' + revision + ' is already active with other contents' };
    }
    const problem = this.validate(candidate);
    if (problem) return { ok: false, problem };
    let record: Uint8Array;
    try {
      record = encodeConfigRecord(revision, candidate);
    } catch (error) {
      return { ok: false, problem: String(error) };
    }
    const slot = this.active.slot === 0 ? 1 : 0;
    const name = configSlotNames[slot];
    try {
      this.storage.erase(name);
      this.storage.write(name, record);
    } catch (error) {
      return { ok: false, problem: 'cannot store the configuration: ' + String(error) };
    }
    const stored = decodeConfigRecord(this.storage.read(name));
    if (!stored || stored.revision !== revision) return { ok: false, problem: 'the configuration did not read back from flash' };
    this.active = { config: stored.config, revision, slot, rejected: null };
    return { ok: true, revision, config: stored.config, unchanged: false };
  }
}
