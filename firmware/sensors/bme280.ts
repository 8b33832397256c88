/**
 * Bosch BME280 (datasheet BST-BME280-DS002 rev 1.6): chip id 0x60 at 0xD0; trimming parameters at 0x88..0xA1
 * and 0xE1..0xE7 (table 16); forced mode with ×1 oversampling of T, P and H (ctrl_hum 0xF2 = 0x01 then
 * ctrl_meas 0xF4 = 0x25; at most 9.3 ms, section 9.1); raw data burst 0xF7..0xFE; compensation with the
 * double-precision formulas of section 8.1. Pressure in Pa.
 */
import { HalError, type Clock, type I2c } from '../../hal/interfaces';

export interface Bme280Reading {
  temperature: number;
  /** Pa */
  pressure: number;
  humidity: number;
}

interface Trimming {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

function u16(data: Uint8Array, offset: number): number {
  return data[offset] | (data[offset + 1] << 8);
}

function s16(data: Uint8Array, offset: number): number {
  const value = u16(data, offset);
  return value & 0x8000 ? value - 0x10000 : value;
}

function s12(value: number): number {
  return value & 0x800 ? value - 0x1000 : value;
}

export function parseTrimming(low: Uint8Array, high: Uint8Array): Trimming {
  return {
    T1: u16(low, 0), T2: s16(low, 2), T3: s16(low, 4),
    P1: u16(low, 6), P2: s16(low, 8), P3: s16(low, 10), P4: s16(low, 12), P5: s16(low, 14), P6: s16(low, 16),
    P7: s16(low, 18), P8: s16(low, 20), P9: s16(low, 22),
    H1: low[25], H2: s16(high, 0), H3: high[2],
    H4: s12((high[3] << 4) | (high[4] & 0x0f)), H5: s12((high[5] << 4) | (high[4] >> 4)), H6: high[6] & 0x80 ? high[6] - 256 : high[6],
  };
}

export function compensate(raw: Uint8Array, c: Trimming): Bme280Reading {
  const adcP = (raw[0] << 12) | (raw[1] << 4) | (raw[2] >> 4);
  const adcT = (raw[3] << 12) | (raw[4] << 4) | (raw[5] >> 4);
  const adcH = (raw[6] << 8) | raw[7];
  const t1 = adcT / 16384 - c.T1 / 1024;
  const t2 = adcT / 131072 - c.T1 / 8192;
  const tFine = t1 * c.T2 + t2 * t2 * c.T3;
  let var1 = tFine / 2 - 64000;
  let var2 = (var1 * var1 * c.P6) / 32768;
  var2 = var2 + var1 * c.P5 * 2;
  var2 = var2 / 4 + c.P4 * 65536;
  var1 = ((c.P3 * var1 * var1) / 524288 + c.P2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * c.P1;
  let pressure = 0;
  if (var1 !== 0) {
    pressure = 1048576 - adcP;
    pressure = ((pressure - var2 / 4096) * 6250) / var1;
    const var3 = (c.P9 * pressure * pressure) / 2147483648;
    const var4 = (pressure * c.P8) / 32768;
    pressure = pressure + (var3 + var4 + c.P7) / 16;
  }
  let humidity = tFine - 76800;
  humidity = (adcH - (c.H4 * 64 + (c.H5 / 16384) * humidity)) * ((c.H2 / 65536) * (1 + (c.H6 / 67108864) * humidity * (1 + (c.H3 / 67108864) * humidity)));
  humidity = humidity * (1 - (c.H1 * humidity) / 524288);
  return { temperature: tFine / 5120, pressure, humidity: Math.max(0, Math.min(100, humidity)) };
}

export class Bme280 {
  readonly device: string;
  private trimming: Trimming | null = null;

  constructor(
    private readonly i2c: I2c,
    private readonly clock: Clock,
    readonly address?: number,
  ) {
    if (this.address === undefined) this.address = 0x76;
    this.device = 'BME280@0x' + this.address.toString(16);
  }

  measure(done: (error: HalError | null, reading?: Bme280Reading) => void): void {
    if (!this.trimming) {
      this.readTrimming((error) => (error ? done(error) : this.measure(done)));
      return;
    }
    const address = this.address as number;
    const trimming = this.trimming;
    this.i2c.write(address, new Uint8Array([0xf2, 0x01, 0xf4, 0x25]), (error) => {
      if (error) return done(error);
      this.clock.setTimeout(() => {
        this.i2c.writeRead(address, new Uint8Array([0xf7]), 8, (readError, raw) => {
          if (readError || !raw) return done(readError || new HalError('io', this.device, 'no data'));
          done(null, compensate(raw, trimming));
        });
      }, 10);
    });
  }

  private readTrimming(done: (error: HalError | null) => void): void {
    const address = this.address as number;
    this.i2c.writeRead(address, new Uint8Array([0xd0]), 1, (idError, id) => {
      if (idError || !id) return done(idError);
      if (id[0] !== 0x60) return done(new HalError('not-found', this.device, 'chip id 0x' + id[0].toString(16) + ', not 0x60'));
      this.i2c.writeRead(address, new Uint8Array([0x88]), 26, (lowError, low) => {
        if (lowError || !low) return done(lowError);
        this.i2c.writeRead(address, new Uint8Array([0xe1]), 7, (highError, high) => {
          if (highError || !high) return done(highError);
          this.trimming = parseTrimming(low, high);
          done(null);
        });
      });
    });
  }
}
