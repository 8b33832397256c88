/**
 * Sensirion SHTC3 temperature/humidity sensor (datasheet v4, 5.2-5.9), on the RAK5010 at 0x70: wake up
 * (0x3517, 240 µs), measure T first in normal mode without clock stretching (0x7866, at most 12.1 ms), read
 * T, CRC, RH, CRC, sleep again (0xB098) to keep its 0.3 µA idle current.
 */
import { HalError, type Clock, type I2c } from '../../hal/interfaces';
import { decodeSensirion, type HumidityReading } from './sensirion';

export class Shtc3 {
  readonly device: string;
  readonly address = 0x70;

  constructor(
    private readonly i2c: I2c,
    private readonly clock: Clock,
  ) {
    this.device = 'SHTC3@0x70';
  }

  measure(done: (error: HalError | null, reading?: HumidityReading) => void): void {
    const i2c = this.i2c;
    i2c.write(0x70, new Uint8Array([0x35, 0x17]), (wakeError) => {
      if (wakeError) return done(wakeError);
      this.clock.setTimeout(() => {
        i2c.write(0x70, new Uint8Array([0x78, 0x66]), (error) => {
          if (error) return done(error);
          this.clock.setTimeout(() => {
            i2c.read(0x70, 6, (readError, data) => {
              i2c.write(0x70, new Uint8Array([0xb0, 0x98]), () => {
                if (readError || !data) return done(readError || new HalError('io', this.device, 'no data'));
                try {
                  done(null, decodeSensirion(data, this.device, 65536));
                } catch (decodeError) {
                  done(decodeError as HalError);
                }
              });
            });
          }, 13);
        });
      }, 1);
    });
  }
}
