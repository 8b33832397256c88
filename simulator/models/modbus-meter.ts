/**
 * A Modbus meter model built from a profile JSON (profiles/*.json): a ModbusSlaveModel whose registers
 * hold the profile's points. `set(point, value)` takes engineering units and stores the raw registers
 * the way the meter would (scale and offset undone, word and byte order applied), with an encoder of its
 * own on Node Buffers: nothing is shared with firmware/modbus/points.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { VirtualClock } from '../clock';
import type { Rs485Bus } from '../wire';
import { ModbusSlaveModel } from './modbus-slave';

interface ProfileJsonPoint {
  name: string;
  address: number;
  table?: string;
  type?: string;
  wordOrder?: string;
  byteOrder?: string;
  scale?: number;
  offset?: number;
  unit?: string;
}

export interface ProfileJson {
  id: string;
  defaults?: { table?: string; type?: string; wordOrder?: string; byteOrder?: string };
  points: ProfileJsonPoint[];
}

interface MeterPoint {
  name: string;
  address: number;
  table: 'coil' | 'discrete' | 'holding' | 'input';
  type: string;
  lowWordFirst: boolean;
  swapBytes: boolean;
  scale: number;
  offset: number;
}

export const profilesDirectory = path.resolve(__dirname, '../../profiles');

export function loadProfileJson(id: string): ProfileJson {
  return JSON.parse(readFileSync(path.join(profilesDirectory, `${id}.json`), 'utf8')) as ProfileJson;
}

export class ModbusMeterModel extends ModbusSlaveModel {
  private readonly points = new Map<string, MeterPoint>();
  private readonly values = new Map<string, number>();

  constructor(clock: VirtualClock, bus: Rs485Bus, unitId: number, readonly profile: ProfileJson, name = `${profile.id}@${unitId}`) {
    super(clock, bus, unitId, name);
    const defaults = profile.defaults ?? {};
    for (const point of profile.points) {
      const table = (point.table ?? defaults.table ?? 'holding') as MeterPoint['table'];
      this.points.set(point.name, {
        name: point.name,
        address: point.address,
        table,
        type: table === 'coil' || table === 'discrete' ? 'bool' : (point.type ?? defaults.type ?? 'u16'),
        lowWordFirst: (point.wordOrder ?? defaults.wordOrder) === 'little',
        swapBytes: (point.byteOrder ?? defaults.byteOrder) === 'little',
        scale: point.scale ?? 1,
        offset: point.offset ?? 0,
      });
    }
  }

  pointNames(): string[] {
    return [...this.points.keys()];
  }

  /** Store `value` (engineering units) in the point's registers. Integers are rounded, out-of-range values throw. */
  set(name: string, value: number): void {
    const point = this.points.get(name);
    if (!point) throw new Error(`${this.profile.id}: no point ${name}`);
    this.values.set(name, value);
    if (point.type === 'bool') {
      (point.table === 'coil' ? this.coils : this.discreteInputs).set(point.address, value !== 0);
      return;
    }
    const raw = (value - point.offset) / point.scale;
    const bytes = Buffer.alloc(4);
    switch (point.type) {
      case 'u16':
        bytes.writeUInt16BE(Math.round(raw));
        break;
      case 's16':
        bytes.writeInt16BE(Math.round(raw));
        break;
      case 'u32':
        bytes.writeUInt32BE(Math.round(raw));
        break;
      case 's32':
        bytes.writeInt32BE(Math.round(raw));
        break;
      case 'float32':
        bytes.writeFloatBE(raw);
        break;
      default:
        throw new Error(`${this.profile.id}: point ${name} has unknown type ${point.type}`);
    }
    const words = point.type === 'u16' || point.type === 's16' ? [bytes.readUInt16BE(0)] : [bytes.readUInt16BE(0), bytes.readUInt16BE(2)];
    if (point.lowWordFirst) words.reverse();
    const table = point.table === 'input' ? this.inputRegisters : this.holdingRegisters;
    words.forEach((word, index) => {
      table.set(point.address + index, point.swapBytes ? ((word & 0xff) << 8) | (word >> 8) : word);
    });
  }

  /** The value last set (engineering units). */
  get(name: string): number | undefined {
    return this.values.get(name);
  }
}
