import type { ModbusMeterModel } from '../../simulator/models/modbus-meter';

/** A value exactly representable in the point's type, different for every point. */
export function sampleValue(type: string, index: number): number {
  switch (type) {
    case 'u16':
      return 40000 + index;
    case 's16':
      return -1200 - index;
    case 'u32':
      return 3_000_000_000 + index * 7;
    case 's32':
      return -2_000_000_000 + index * 11;
    case 'bool':
      return index % 2;
    default:
      return Math.fround(230.1 + index * 13.37);
  }
}

export function fillMeter(meter: ModbusMeterModel): Map<string, number> {
  const expected = new Map<string, number>();
  const defaults = meter.profile.defaults ?? {};
  meter.profile.points.forEach((point, index) => {
    const table = point.table ?? defaults.table;
    const type = table === 'coil' || table === 'discrete' ? 'bool' : (point.type ?? defaults.type ?? 'u16');
    const value = sampleValue(type, index);
    meter.set(point.name, value);
    expected.set(point.name, value);
  });
  return expected;
}

