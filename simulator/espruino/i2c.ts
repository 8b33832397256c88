/**
 * Espruino's I2C1..I2Cn objects over the board's virtual I2C bus: setup({scl, sda, bitrate}), writeTo and
 * readFrom with a 7-bit address or {address, stop:false} for a repeated start. A device that does not
 * acknowledge makes the call throw the MCU's own error message. Transfers are blocking, as on Espruino.
 */
import { I2cNack } from '../hardware/i2c-bus';
import { DataConversionError, toByteArray } from './data';
import type { EspruinoSession } from './session';

export class EspruinoI2cObject {
  private bitrate = 100000;

  constructor(
    private readonly session: EspruinoSession,
    readonly name: string,
  ) {}

  setup(options?: unknown): void {
    this.session.assertAlive();
    const realm = this.session.realm;
    if (options !== undefined && (options === null || typeof options !== 'object')) throw realm.error('I2C.setup options must be an object', 'TypeError');
    const record = (options ?? {}) as Record<string, unknown>;
    for (const key of ['scl', 'sda']) {
      const pin = record[key];
      if (pin !== undefined && !this.session.board.gpio.has(String(pin))) throw realm.error(`Invalid pin ${String(pin)} for I2C ${key.toUpperCase()}`);
    }
    if (record.bitrate !== undefined) {
      const bitrate = Number(record.bitrate);
      if (!(bitrate >= 1000 && bitrate <= 1000000)) throw realm.error('Invalid I2C bitrate');
      this.bitrate = bitrate;
    }
  }

  writeTo(address: unknown, ...data: unknown[]): void {
    this.session.assertAlive();
    const target = this.target(address);
    let bytes: Uint8Array;
    try {
      bytes = toByteArray(...data);
    } catch (error) {
      if (error instanceof DataConversionError) throw this.session.realm.error(error.message);
      throw error;
    }
    this.transfer(bytes.length, () => this.bus().write(target.address, bytes, target.stop));
  }

  readFrom(address: unknown, quantity: unknown): Uint8Array {
    this.session.assertAlive();
    const target = this.target(address);
    const length = Number(quantity);
    if (!(length >= 0) || !Number.isInteger(length)) throw this.session.realm.error('Invalid I2C read length');
    let result: Uint8Array = new Uint8Array(0);
    this.transfer(length, () => {
      result = this.bus().read(target.address, length);
    });
    return this.session.realm.bytes(result);
  }

  toString(): string {
    return this.name;
  }

  private bus() {
    const bus = this.session.board.i2cBus(this.name);
    if (!bus) throw new I2cNack(0, this.session.board.mcu.i2cNackMessage);
    return bus;
  }

  private target(address: unknown): { address: number; stop: boolean } {
    if (address !== null && typeof address === 'object') {
      const record = address as { address?: unknown; stop?: unknown };
      return { address: Number(record.address) & 0x7f, stop: record.stop === undefined ? true : !!record.stop };
    }
    const value = Number(address);
    if (!Number.isInteger(value) || value < 0 || value > 0x7f) throw this.session.realm.error('Invalid I2C address ' + String(address));
    return { address: value, stop: true };
  }

  private transfer(bytes: number, run: () => void): void {
    // Address byte + data bytes, 9 clocks each: the MCU is busy (and awake) for that long.
    this.session.board.power.noteActivity(((bytes + 1) * 9 * 1000) / this.bitrate);
    try {
      run();
    } catch (error) {
      if (error instanceof I2cNack) throw this.session.realm.error(error.message, 'InternalError');
      throw error;
    }
  }
}
