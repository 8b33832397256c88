/**
 * Meter profiles: register maps as data (profiles/*.json, schema profiles/profile.schema.json).
 * A profile lists named points; `defaults` fills what a point leaves out. `planReads` turns the points a
 * device needs into as few reads as the profile allows (adjacent registers merged, gaps up to
 * `maximumGap` unused registers read through, at most `maximumRegistersPerRead` per read).
 */
import type { Order, PointDefinition, PointType, RegisterTable } from './points';
import { pointWidth } from './points';

export interface ProfilePoint {
  name: string;
  address: number;
  table?: RegisterTable;
  type?: PointType;
  wordOrder?: Order;
  byteOrder?: Order;
  scale?: number;
  offset?: number;
  unit?: string;
  description?: string;
}

export interface Profile {
  id: string;
  manufacturer?: string;
  model?: string;
  kind?: string;
  sources?: string[];
  line?: { baudRate: number; parity?: 'none' | 'even' | 'odd'; stopBits?: 1 | 2 };
  defaults?: { table?: RegisterTable; type?: PointType; wordOrder?: Order; byteOrder?: Order };
  maximumRegistersPerRead?: number;
  maximumGap?: number;
  points: ProfilePoint[];
}

export interface ReadBlock {
  table: RegisterTable;
  functionCode: number;
  address: number;
  quantity: number;
  points: PointDefinition[];
}

const functionForTable: { [table: string]: number } = { coil: 1, discrete: 2, holding: 3, input: 4 };

/** The profile's points with defaults applied; `only` (point names) selects a subset, in profile order. */
export function resolvePoints(profile: Profile, only?: string[]): PointDefinition[] {
  const defaults = profile.defaults || {};
  const result: PointDefinition[] = [];
  for (let index = 0; index < profile.points.length; index++) {
    const point = profile.points[index];
    if (only && only.indexOf(point.name) < 0) continue;
    const table = point.table || defaults.table || 'holding';
    const bit = table === 'coil' || table === 'discrete';
    const resolved: PointDefinition = {
      name: point.name,
      table,
      address: point.address,
      type: bit ? 'bool' : point.type || defaults.type || 'u16',
      wordOrder: point.wordOrder || defaults.wordOrder || 'big',
      byteOrder: point.byteOrder || defaults.byteOrder || 'big',
    };
    if (point.scale !== undefined) resolved.scale = point.scale;
    if (point.offset !== undefined) resolved.offset = point.offset;
    if (point.unit !== undefined) resolved.unit = point.unit;
    result.push(resolved);
  }
  return result;
}

/** Point names of `only` that the profile does not have. */
export function unknownPoints(profile: Profile, only: string[]): string[] {
  const missing: string[] = [];
  for (let index = 0; index < only.length; index++) {
    let found = false;
    for (let point = 0; point < profile.points.length; point++) if (profile.points[point].name === only[index]) found = true;
    if (!found) missing.push(only[index]);
  }
  return missing;
}

/** Group points into reads, per table in address order. */
export function planReads(points: PointDefinition[], maximumRegistersPerRead?: number, maximumGap?: number): ReadBlock[] {
  const limit = maximumRegistersPerRead || 100;
  const gap = maximumGap || 0;
  const sorted = points.slice().sort((a, b) => (a.table === b.table ? a.address - b.address : a.table < b.table ? -1 : 1));
  const blocks: ReadBlock[] = [];
  let block: ReadBlock | null = null;
  for (let index = 0; index < sorted.length; index++) {
    const point = sorted[index];
    const bit = point.table === 'coil' || point.table === 'discrete';
    const width = bit ? 1 : pointWidth(point.type);
    const blockLimit = bit ? limit * 16 : limit;
    if (block && block.table === point.table) {
      const blockEnd = block.address + block.quantity;
      const newEnd = Math.max(blockEnd, point.address + width);
      if (point.address - blockEnd <= (bit ? gap * 16 : gap) && newEnd - block.address <= blockLimit) {
        block.quantity = newEnd - block.address;
        block.points.push(point);
        continue;
      }
    }
    block = { table: point.table, functionCode: functionForTable[point.table], address: point.address, quantity: width, points: [point] };
    blocks.push(block);
  }
  return blocks;
}

/** Storage file holding a profile on the terminal (written by `udt flash` next to the config). */
export function profileFileName(id: string): string {
  return 'mp.' + id;
}

/** What the terminal needs of a profile: descriptions, sources and notes stripped (they cost RAM there). */
export function compactProfile(profile: Profile): Profile {
  const points: ProfilePoint[] = [];
  for (let index = 0; index < profile.points.length; index++) {
    const source = profile.points[index];
    const point: ProfilePoint = { name: source.name, address: source.address };
    if (source.table) point.table = source.table;
    if (source.type) point.type = source.type;
    if (source.wordOrder) point.wordOrder = source.wordOrder;
    if (source.byteOrder) point.byteOrder = source.byteOrder;
    if (source.scale !== undefined) point.scale = source.scale;
    if (source.offset !== undefined) point.offset = source.offset;
    if (source.unit) point.unit = source.unit;
    points.push(point);
  }
  const compact: Profile = { id: profile.id, points };
  if (profile.defaults) compact.defaults = profile.defaults;
  if (profile.maximumRegistersPerRead) compact.maximumRegistersPerRead = profile.maximumRegistersPerRead;
  if (profile.maximumGap !== undefined) compact.maximumGap = profile.maximumGap;
  return compact;
}

/** Latin-1 text of flash bytes, in slices so no argument list gets long. */
export function bytesToText(bytes: Uint8Array): string {
  let text = '';
  for (let start = 0; start < bytes.length; start += 256) {
    const end = start + 256 < bytes.length ? start + 256 : bytes.length;
    let part = '';
    for (let index = start; index < end; index++) part += String.fromCharCode(bytes[index]);
    text += part;
  }
  return text;
}
