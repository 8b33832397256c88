/**
 * Sensirion SHT3x-DIS humidity/temperature sensor on I2C (datasheet v7, 2019): single-shot measurement commands
 * 0x2400/0x240B/0x2416 (no clock stretching: the read header is NACKed until the result is ready) and
 * 0x2C06/0x2C0D/0x2C10 (clock stretching: the read waits), result = T msb, T lsb, CRC, RH msb, RH lsb, CRC with
 * CRC-8 0x31/0xFF; soft reset 0x30A2, status 0xF32D, clear status 0x3041, heater 0x306D/0x3066.
 * T = -45 + 175 * raw / 65535 °C, RH = 100 * raw / 65535 %. Supply: 0.6 mA while measuring, 0.2 µA idle.
 */
import type { VirtualClock } from '../clock';
import type { EnergyMeter } from '../hardware/energy';
import type { I2cDevice } from '../hardware/i2c-bus';

/** CRC-8 of the SHT3x (polynomial 0x31, init 0xFF): crc8([0xBE, 0xEF]) === 0x92 (datasheet 4.12). */
export function sht3xCrc(bytes: ArrayLike<number>): number {
  let crc = 0xff;
  for (let index = 0; index < bytes.length; index++) {
    crc ^= bytes[index]!;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** Max measurement duration by repeatability (datasheet table 4): high 15 ms, medium 6 ms, low 4 ms. */
const singleShot: Record<number, { milliseconds: number; stretch: boolean }> = {
  0x2400: { milliseconds: 15, stretch: false },
  0x240b: { milliseconds: 6, stretch: false },
  0x2416: { milliseconds: 4, stretch: false },
  0x2c06: { milliseconds: 15, stretch: true },
  0x2c0d: { milliseconds: 6, stretch: true },
  0x2c10: { milliseconds: 4, stretch: true },
};

export interface Sht3xOptions {
  address?: 0x44 | 0x45;
  temperature?: number;
  humidity?: number;
  energy?: EnergyMeter;
  name?: string;
}

export class Sht3x implements I2cDevice {
  readonly address: number;
  temperature: number;
  humidity: number;
  /** Fault injection: corrupt the CRC of the next results. */
  corruptCrc = false;
  /** Fault injection: never finish a measurement (reads stay NACKed). */
  stuck = false;
  heater = false;
  measurements = 0;
  private result: Uint8Array | null = null;
  private readyAt = 0;
  private stretch = false;
  private status = 0;
  private readonly name: string;

  constructor(
    private readonly clock: VirtualClock,
    options: Sht3xOptions = {},
  ) {
    this.address = options.address ?? 0x44;
    this.temperature = options.temperature ?? 21.5;
    this.humidity = options.humidity ?? 45;
    this.energy = options.energy ?? null;
    this.name = options.name ?? `SHT3x@0x${this.address.toString(16)}`;
  }

  private readonly energy: EnergyMeter | null;

  write(data: Uint8Array): boolean {
    if (data.length < 2) return data.length !== 0;
    const command = (data[0]! << 8) | data[1]!;
    const shot = singleShot[command];
    if (shot) {
      this.startMeasurement(shot.milliseconds, shot.stretch);
      return true;
    }
    switch (command) {
      case 0x30a2:
        this.result = null;
        this.heater = false;
        this.status = 0;
        return true;
      case 0xf32d:
        this.result = Uint8Array.from(this.withCrc([(this.status >> 8) & 0xff, this.status & 0xff]));
        this.readyAt = this.clock.now();
        this.stretch = false;
        return true;
      case 0x3041:
        this.status = 0;
        return true;
      case 0x306d:
        this.heater = true;
        this.status |= 1 << 13;
        return true;
      case 0x3066:
        this.heater = false;
        this.status &= ~(1 << 13);
        return true;
      default:
        this.status |= 1 << 1;
        return true;
    }
  }

  read(length: number): Uint8Array | null {
    if (!this.result || this.stuck) return null;
    if (this.clock.now() < this.readyAt && !this.stretch) return null;
    const result = this.result;
    this.result = null;
    return result.subarray(0, length);
  }

  private startMeasurement(milliseconds: number, stretch: boolean): void {
    this.measurements++;
    const temperatureRaw = Math.round(((Math.min(130, Math.max(-45, this.temperature)) + 45) * 65535) / 175);
    const humidityRaw = Math.round((Math.min(100, Math.max(0, this.humidity)) * 65535) / 100);
    const t = this.withCrc([temperatureRaw >> 8, temperatureRaw & 0xff]);
    const h = this.withCrc([humidityRaw >> 8, humidityRaw & 0xff]);
    this.result = Uint8Array.from([...t, ...h]);
    this.readyAt = this.clock.now() + milliseconds;
    this.stretch = stretch;
    if (this.energy) {
      this.energy.setCurrent(this.name, 0.6);
      this.clock.schedule(milliseconds, () => this.energy!.setCurrent(this.name, 0.0002));
    }
  }

  private withCrc(word: number[]): number[] {
    const crc = sht3xCrc(word);
    return [word[0]!, word[1]!, this.corruptCrc ? crc ^ 0xff : crc];
  }
}
