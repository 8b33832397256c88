/**
 * Sensirion SHT3x-DIS temperature/humidity sensor (datasheet v7, 4.3 and 4.12): single-shot measurement,
 * high repeatability, no clock stretching (0x2400), result after at most 15.5 ms: T, CRC, RH, CRC.
 */
import { HalError, type I2c } from '../../hal/interfaces';
import type { Clock } from '../../hal/interfaces';
import { decodeSensirion, type HumidityReading } from './sensirion';

export class Sht3x {
  readonly device: string;

  constructor(
    private readonly i2c: I2c,
    private readonly clock: Clock,
    readonly address?: number,
  ) {
    if (this.address === undefined) this.address = 0x44;
    this.device = 'SHT3x@0x' + this.address.toString(16);
  }

  measure(done: (error: HalError | null, reading?: HumidityReading) => void): void {
    const address = this.address as number;
    this.i2c.write(address, new Uint8Array([0x24, 0x00]), (error) => {
      if (error) return done(error);
      this.clock.setTimeout(() => {
        this.i2c.read(address, 6, (readError, data) => {
          if (readError || !data) return done(readError || new HalError('io', this.device, 'no data'));
          try {
            done(null, decodeSensirion(data, this.device, 65535));
          } catch (decodeError) {
            done(decodeError as HalError);
          }
        });
      }, 16);
    });
  }
}
