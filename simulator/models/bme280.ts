/**
 * Bosch BME280 pressure/humidity/temperature sensor on I2C (datasheet BST-BME280-DS002, rev 1.6):
 * chip id 0x60 at 0xD0, soft reset 0xB6 to 0xE0, ctrl_hum 0xF2, status 0xF3 (bit 3 measuring), ctrl_meas 0xF4
 * (osrs_t, osrs_p, mode), config 0xF5, data burst 0xF7..0xFE, calibration 0x88..0xA1 and 0xE1..0xE7.
 * Register reads auto-increment. Forced mode measures once (time per datasheet 9.1) and returns to sleep;
 * normal mode keeps the data current. Raw ADC values are found by inverting the datasheet's compensation
 * formulas (8.1) for the requested temperature, pressure and humidity, so a correct driver reads them back.
 */
import type { VirtualClock } from '../clock';
import type { EnergyMeter } from '../hardware/energy';
import type { I2cDevice } from '../hardware/i2c-bus';

/** Calibration words: the datasheet's worked example for T and P (8.1), typical values for H. */
export const bme280Calibration = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
};
type Calibration = typeof bme280Calibration;

/** Datasheet 8.1 (double precision): temperature °C and t_fine from adc_T. */
export function compensateTemperature(adc: number, c: Calibration = bme280Calibration): { celsius: number; tFine: number } {
  const var1 = (adc / 16384 - c.T1 / 1024) * c.T2;
  const var2 = (adc / 131072 - c.T1 / 8192) * (adc / 131072 - c.T1 / 8192) * c.T3;
  const tFine = var1 + var2;
  return { celsius: tFine / 5120, tFine };
}

export function compensatePressure(adc: number, tFine: number, c: Calibration = bme280Calibration): number {
  let var1 = tFine / 2 - 64000;
  let var2 = (var1 * var1 * c.P6) / 32768;
  var2 = var2 + var1 * c.P5 * 2;
  var2 = var2 / 4 + c.P4 * 65536;
  var1 = ((c.P3 * var1 * var1) / 524288 + c.P2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * c.P1;
  if (var1 === 0) return 0;
  let pressure = 1048576 - adc;
  pressure = ((pressure - var2 / 4096) * 6250) / var1;
  var1 = (c.P9 * pressure * pressure) / 2147483648;
  var2 = (pressure * c.P8) / 32768;
  return pressure + (var1 + var2 + c.P7) / 16;
}

export function compensateHumidity(adc: number, tFine: number, c: Calibration = bme280Calibration): number {
  let h = tFine - 76800;
  h = (adc - (c.H4 * 64 + (c.H5 / 16384) * h)) * ((c.H2 / 65536) * (1 + (c.H6 / 67108864) * h * (1 + (c.H3 / 67108864) * h)));
  h = h * (1 - (c.H1 * h) / 524288);
  return Math.min(100, Math.max(0, h));
}

/** The integer `raw` in [low, high] whose f(raw) is closest to `target`, for f monotonic. */
function invert(f: (raw: number) => number, target: number, low: number, high: number): number {
  const increasing = f(high) > f(low);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (f(middle) < target === increasing) low = middle;
    else high = middle;
  }
  return Math.abs(f(low) - target) <= Math.abs(f(high) - target) ? low : high;
}

const oversampling = [0, 1, 2, 4, 8, 16, 16, 16];

export interface Bme280Options {
  address?: 0x76 | 0x77;
  temperature?: number;
  /** Pa. */
  pressure?: number;
  humidity?: number;
  energy?: EnergyMeter;
}

export class Bme280 implements I2cDevice {
  readonly address: number;
  temperature: number;
  pressure: number;
  humidity: number;
  measurements = 0;
  private readonly registers = new Uint8Array(256);
  private pointer = 0;
  private measuringUntil = 0;

  constructor(
    private readonly clock: VirtualClock,
    options: Bme280Options = {},
    private readonly energy: EnergyMeter | null = options.energy ?? null,
  ) {
    this.address = options.address ?? 0x76;
    this.temperature = options.temperature ?? 21.5;
    this.pressure = options.pressure ?? 101325;
    this.humidity = options.humidity ?? 45;
    this.powerOnReset();
  }

  /** One byte sets the register pointer; longer writes are (register, value) pairs (datasheet 6.2.1). */
  write(data: Uint8Array): boolean {
    if (data.length === 0) return true;
    this.pointer = data[0]!;
    for (let index = 0; index + 1 < data.length; index += 2) this.writeRegister(data[index]!, data[index + 1]!);
    return true;
  }

  read(length: number): Uint8Array {
    // Normal mode measures continuously: the data registers always hold a recent result.
    if ((this.registers[0xf4]! & 3) === 3 && this.clock.now() >= this.measuringUntil) this.sample();
    const out = new Uint8Array(length);
    for (let index = 0; index < length; index++) {
      out[index] = this.readRegister(this.pointer);
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  private powerOnReset(): void {
    const c = bme280Calibration;
    const r = this.registers;
    r.fill(0);
    r[0xd0] = 0x60;
    const words: Array<[number, number]> = [
      [0x88, c.T1], [0x8a, c.T2], [0x8c, c.T3], [0x8e, c.P1], [0x90, c.P2], [0x92, c.P3], [0x94, c.P4],
      [0x96, c.P5], [0x98, c.P6], [0x9a, c.P7], [0x9c, c.P8], [0x9e, c.P9],
    ];
    for (const [register, value] of words) {
      r[register] = value & 0xff;
      r[register + 1] = (value >> 8) & 0xff;
    }
    r[0xa1] = c.H1;
    r[0xe1] = c.H2 & 0xff;
    r[0xe2] = (c.H2 >> 8) & 0xff;
    r[0xe3] = c.H3;
    r[0xe4] = (c.H4 >> 4) & 0xff;
    r[0xe5] = (c.H4 & 0x0f) | ((c.H5 & 0x0f) << 4);
    r[0xe6] = (c.H5 >> 4) & 0xff;
    r[0xe7] = c.H6 & 0xff;
    // Data registers after reset: 0x80000 for T and P, 0x8000 for H.
    r.set([0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00], 0xf7);
  }

  private readRegister(register: number): number {
    if (register === 0xf3) return this.clock.now() < this.measuringUntil ? 0x08 : 0x00;
    if (register === 0xf4 && this.clock.now() >= this.measuringUntil && (this.registers[0xf4]! & 3) !== 3) {
      return this.registers[0xf4]! & 0xfc;
    }
    return this.registers[register]!;
  }

  private writeRegister(register: number, value: number): void {
    if (register === 0xe0) {
      if (value === 0xb6) this.powerOnReset();
      return;
    }
    if (register !== 0xf2 && register !== 0xf4 && register !== 0xf5) return;
    this.registers[register] = value;
    if (register === 0xf4) {
      const mode = value & 3;
      if (mode !== 0) this.measure();
    }
  }

  /** Datasheet 9.1: t_measure,max = 1.25 + 2.3*osrs_t + (2.3*osrs_p + 0.575) + (2.3*osrs_h + 0.575) ms. */
  measurementMilliseconds(): number {
    const t = oversampling[(this.registers[0xf4]! >> 5) & 7]!;
    const p = oversampling[(this.registers[0xf4]! >> 2) & 7]!;
    const h = oversampling[this.registers[0xf2]! & 7]!;
    return 1.25 + 2.3 * t + (p ? 2.3 * p + 0.575 : 0) + (h ? 2.3 * h + 0.575 : 0);
  }

  private measure(): void {
    this.measurements++;
    const duration = this.measurementMilliseconds();
    this.measuringUntil = this.clock.now() + duration;
    if (this.energy) {
      this.energy.setCurrent(`BME280@0x${this.address.toString(16)}`, 0.714);
      this.clock.schedule(duration, () => this.energy!.setCurrent(`BME280@0x${this.address.toString(16)}`, 0.0001));
    }
    this.sample();
  }

  private sample(): void {
    const osrsT = (this.registers[0xf4]! >> 5) & 7;
    const osrsP = (this.registers[0xf4]! >> 2) & 7;
    const osrsH = this.registers[0xf2]! & 7;
    const adcT = invert((raw) => compensateTemperature(raw).celsius, this.temperature, 0, 0xfffff);
    const tFine = compensateTemperature(adcT).tFine;
    const adcP = invert((raw) => compensatePressure(raw, tFine), this.pressure, 0, 0xfffff);
    const adcH = invert((raw) => compensateHumidity(raw, tFine), this.humidity, 0, 0xffff);
    const temperatureRaw = osrsT ? adcT : 0x80000;
    const pressureRaw = osrsP ? adcP : 0x80000;
    const humidityRaw = osrsH ? adcH : 0x8000;
    const r = this.registers;
    r[0xf7] = (pressureRaw >> 12) & 0xff;
    r[0xf8] = (pressureRaw >> 4) & 0xff;
    r[0xf9] = (pressureRaw & 0x0f) << 4;
    r[0xfa] = (temperatureRaw >> 12) & 0xff;
    r[0xfb] = (temperatureRaw >> 4) & 0xff;
    r[0xfc] = (temperatureRaw & 0x0f) << 4;
    r[0xfd] = (humidityRaw >> 8) & 0xff;
    r[0xfe] = humidityRaw & 0xff;
  }
}
