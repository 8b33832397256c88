/**
 * A hal I2c over I2C device models (the simulator's Sht3x/Bme280 and the test models below), on the virtual
 * clock: callbacks come from the event loop, a device that is absent or refuses a transfer NACKs.
 */
import { HalError, type I2c, type I2cCallback } from '../../../hal/interfaces';
import type { VirtualClock } from '../../../simulator/clock';

export interface ModelDevice {
  readonly address: number;
  write(data: Uint8Array, stop?: boolean): boolean | void;
  read(length: number): Uint8Array | null;
}

export class ModelI2c implements I2c {
  readonly devices = new Map<number, ModelDevice>();
  constructor(private readonly clock: VirtualClock) {}

  attach(device: ModelDevice): void {
    this.devices.set(device.address, device);
  }

  private nack(address: number): HalError {
    return new HalError('nack', `I2C1@0x${address.toString(16)}`, 'no acknowledge');
  }

  write(address: number, data: Uint8Array, done: (error: HalError | null) => void): void {
    const device = this.devices.get(address);
    const ok = device ? device.write(Uint8Array.from(data), true) !== false : false;
    this.clock.schedule(0.1, () => done(ok ? null : this.nack(address)));
  }

  read(address: number, length: number, done: I2cCallback): void {
    const data = this.devices.get(address)?.read(length) ?? null;
    this.clock.schedule(0.1, () => (data ? done(null, Uint8Array.from(data.subarray(0, length))) : done(this.nack(address))));
  }

  writeRead(address: number, data: Uint8Array, length: number, done: I2cCallback): void {
    const device = this.devices.get(address);
    const ok = device ? device.write(Uint8Array.from(data), false) !== false : false;
    const result = ok ? device!.read(length) : null;
    this.clock.schedule(0.2, () => (result ? done(null, Uint8Array.from(result.subarray(0, length))) : done(this.nack(address))));
  }
}

function crc8(word: number): number {
  let crc = 0xff;
  for (const byte of [word >> 8, word & 0xff]) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** SHTC3 (datasheet v4): must be woken (0x3517) before a command; 0x7866 measures T first; 0xB098 sleeps. */
export class Shtc3Model implements ModelDevice {
  readonly address = 0x70;
  temperature = 22.25;
  humidity = 51.5;
  asleep = true;
  private result: number[] | null = null;
  write(data: Uint8Array): boolean {
    // Asleep it still acknowledges its address (that is how the wake-up command reaches it).
    if (data.length < 2) return true;
    const command = (data[0]! << 8) | data[1]!;
    if (command === 0x3517) {
      this.asleep = false;
      return true;
    }
    if (this.asleep) return false;
    if (command === 0xb098) this.asleep = true;
    if (command === 0x7866) {
      const t = Math.round(((this.temperature + 45) * 65536) / 175);
      const h = Math.round((this.humidity * 65536) / 100);
      this.result = [t >> 8, t & 0xff, crc8(t), h >> 8, h & 0xff, crc8(h)];
    }
    return true;
  }
  read(): Uint8Array | null {
    if (this.asleep || !this.result) return null;
    const result = Uint8Array.from(this.result);
    this.result = null;
    return result;
  }
}

/** A register-pointer device: one byte sets the pointer, more bytes write from there; reads auto-increment. */
abstract class RegisterModel implements ModelDevice {
  protected pointer = 0;
  constructor(readonly address: number) {}
  protected abstract readRegister(register: number): number;
  protected abstract writeRegister(register: number, value: number): void;
  protected step = 1;
  write(data: Uint8Array): boolean {
    this.pointer = data[0]!;
    for (let index = 1; index < data.length; index++) this.writeRegister(this.pointer + index - 1, data[index]!);
    return true;
  }
  read(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let index = 0; index < length; index++) out[index] = this.readRegister(this.pointer + index * this.step) & 0xff;
    return out;
  }
}

/** LPS22HB: WHO_AM_I 0xB1; a one-shot sets the output registers (pressure 4096 LSB/hPa, temperature 100 LSB/°C). */
export class Lps22hbModel extends RegisterModel {
  pressure = 1013.25;
  temperature = 23.5;
  private readonly registers = new Uint8Array(256);
  constructor(address = 0x5c) {
    super(address);
    this.registers[0x0f] = 0xb1;
    this.registers[0x11] = 0x10;
  }
  protected readRegister(register: number): number {
    return this.registers[register & 0xff]!;
  }
  protected writeRegister(register: number, value: number): void {
    if (register === 0x11) {
      this.registers[0x11] = value & ~1;
      if (value & 1) {
        const p = Math.round(this.pressure * 4096) & 0xffffff;
        const t = Math.round(this.temperature * 100) & 0xffff;
        this.registers.set([p & 0xff, (p >> 8) & 0xff, p >> 16, t & 0xff, t >> 8], 0x28);
      }
    }
  }
}

/** OPT3001: 16-bit registers, high byte first; device ID 0x3001; a single-shot sets the result and CRF. */
export class Opt3001Model implements ModelDevice {
  lux = 1234.56;
  private pointer = 0;
  private configuration = 0xc810;
  private result = 0;
  constructor(readonly address = 0x44) {}
  write(data: Uint8Array): boolean {
    this.pointer = data[0]!;
    if (data.length === 3 && this.pointer === 0x01) {
      this.configuration = ((data[1]! << 8) | data[2]!) & ~0x0080;
      if (((this.configuration >> 9) & 3) === 1) {
        let exponent = 0;
        while (this.lux / (0.01 * 2 ** exponent) > 4095 && exponent < 11) exponent++;
        this.result = (exponent << 12) | Math.round(this.lux / (0.01 * 2 ** exponent));
        this.configuration |= 0x0080;
      }
    }
    return true;
  }
  read(length: number): Uint8Array {
    const value = this.pointer === 0x7f ? 0x3001 : this.pointer === 0x7e ? 0x5449 : this.pointer === 0x01 ? this.configuration : this.result;
    return Uint8Array.from([value >> 8, value & 0xff]).subarray(0, length);
  }
}
