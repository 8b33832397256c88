/**
 * I2C master over Espruino's I2C1..I2C3. Espruino's I2C calls are synchronous and throw when a device does not
 * answer; this class queues operations, runs one per event-loop turn and reports through callbacks.
 */
import type { BoardDefinition } from '../board';
import { HalError, type I2c, type I2cCallback } from '../interfaces';
import type { EspruinoApi, EspruinoI2cBus } from './api';

type I2cDefinition = NonNullable<BoardDefinition['i2c']>;

interface Operation {
  run: () => Uint8Array | undefined;
  address: number;
  done: (error: HalError | null, data?: Uint8Array) => void;
}

/** Espruino's I2C messages: STM32 "I2C device not responding" / "I2C got NACK", nRF52 "I2C Write Error 33281" (NRF_ERROR_DRV_TWI_ERR_ANACK). */
function isNack(message: string): boolean {
  return /NACK|not responding|Error 3328[12]/i.test(message);
}

function toHex(address: number): string {
  const hex = address.toString(16);
  return hex.length < 2 ? '0' + hex : hex;
}

export class EspruinoI2c implements I2c {
  private readonly bus: EspruinoI2cBus;
  private readonly queue: Operation[] = [];
  private running = false;

  constructor(
    private readonly api: EspruinoApi,
    private readonly definition: I2cDefinition,
  ) {
    const bus = api[definition.bus] as EspruinoI2cBus | undefined;
    if (!bus || typeof bus.setup !== 'function') throw new HalError('not-found', definition.bus, 'this board has no such I2C bus');
    bus.setup({ scl: definition.scl, sda: definition.sda, bitrate: definition.bitrate });
    this.bus = bus;
  }

  write(address: number, data: Uint8Array, done: (error: HalError | null) => void): void {
    this.check(address, done);
    const bytes = this.copy(address, data);
    const bus = this.bus;
    this.enqueue({
      address: address,
      done: done,
      run: function () {
        bus.writeTo(address, bytes);
        return undefined;
      },
    });
  }

  read(address: number, length: number, done: I2cCallback): void {
    this.check(address, done);
    this.checkLength(address, length);
    const bus = this.bus;
    this.enqueue({
      address: address,
      done: done,
      run: function () {
        return new Uint8Array(bus.readFrom(address, length));
      },
    });
  }

  writeRead(address: number, data: Uint8Array, length: number, done: I2cCallback): void {
    this.check(address, done);
    this.checkLength(address, length);
    const bytes = this.copy(address, data);
    const bus = this.bus;
    this.enqueue({
      address: address,
      done: done,
      run: function () {
        bus.writeTo({ address: address, stop: false }, bytes);
        return new Uint8Array(bus.readFrom(address, length));
      },
    });
  }

  private device(address: number): string {
    return this.definition.bus + '@0x' + toHex(address);
  }

  private check(address: number, done: unknown): void {
    if (typeof address !== 'number' || address !== (address | 0) || address < 0 || address > 0x7f) {
      throw new HalError('invalid-argument', this.definition.bus, 'I2C address must be a 7-bit integer, got ' + String(address));
    }
    if (typeof done !== 'function') throw new HalError('invalid-argument', this.device(address), 'a done callback is required');
  }

  private checkLength(address: number, length: number): void {
    if (typeof length !== 'number' || length !== (length | 0) || length < 1 || length > 1024) {
      throw new HalError('invalid-argument', this.device(address), 'read length must be an integer from 1 to 1024, got ' + String(length));
    }
  }

  private copy(address: number, data: Uint8Array): Uint8Array {
    if (typeof data !== 'object' || data === null || typeof data.length !== 'number' || typeof data.subarray !== 'function') {
      throw new HalError('invalid-argument', this.device(address), 'data must be a Uint8Array');
    }
    return new Uint8Array(data);
  }

  private enqueue(operation: Operation): void {
    this.queue.push(operation);
    this.pump();
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    this.api.setTimeout(() => {
      const operation = this.queue.shift() as Operation;
      let error: HalError | null = null;
      let result: Uint8Array | undefined;
      try {
        result = operation.run();
      } catch (caught) {
        const message = caught && (caught as { message?: string }).message ? String((caught as { message: string }).message) : String(caught);
        error = new HalError(isNack(message) ? 'nack' : 'io', this.device(operation.address), message);
      }
      this.running = false;
      this.pump();
      if (error) operation.done(error);
      else operation.done(null, result);
    }, 0);
  }
}
