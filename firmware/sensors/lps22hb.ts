/**
 * ST LPS22HB barometer (datasheet DocID027083 rev 6), on the RAK5010 at 0x5C: WHO_AM_I (0x0F) = 0xB1;
 * a one-shot conversion is started by CTRL_REG2 (0x11) ONE_SHOT with IF_ADD_INC kept set (0x11), done when
 * ONE_SHOT reads back 0; PRESS_OUT (0x28..0x2A, 24-bit two's complement, 4096 LSB/hPa) and TEMP_OUT
 * (0x2B..0x2C, 16-bit two's complement, 100 LSB/°C) are read in one burst.
 */
import { HalError, type Clock, type I2c } from '../../hal/interfaces';

export interface PressureReading {
  /** hPa */
  pressure: number;
  temperature: number;
}

export class Lps22hb {
  readonly device: string;

  constructor(
    private readonly i2c: I2c,
    private readonly clock: Clock,
    readonly address?: number,
  ) {
    if (this.address === undefined) this.address = 0x5c;
    this.device = 'LPS22HB@0x' + this.address.toString(16);
  }

  measure(done: (error: HalError | null, reading?: PressureReading) => void): void {
    const address = this.address as number;
    const i2c = this.i2c;
    i2c.writeRead(address, new Uint8Array([0x0f]), 1, (idError, id) => {
      if (idError || !id) return done(idError);
      if (id[0] !== 0xb1) return done(new HalError('not-found', this.device, 'WHO_AM_I is 0x' + id[0].toString(16) + ', not 0xb1'));
      i2c.write(address, new Uint8Array([0x11, 0x11]), (startError) => {
        if (startError) return done(startError);
        let polls = 0;
        const poll = (): void => {
          i2c.writeRead(address, new Uint8Array([0x11]), 1, (pollError, control) => {
            if (pollError || !control) return done(pollError);
            if (control[0] & 1) {
              if (++polls > 20) return done(new HalError('timeout', this.device, 'one-shot conversion did not finish'));
              this.clock.setTimeout(poll, 10);
              return;
            }
            i2c.writeRead(address, new Uint8Array([0x28]), 5, (readError, data) => {
              if (readError || !data) return done(readError);
              let pressureRaw = data[0] | (data[1] << 8) | (data[2] << 16);
              if (pressureRaw & 0x800000) pressureRaw -= 0x1000000;
              let temperatureRaw = data[3] | (data[4] << 8);
              if (temperatureRaw & 0x8000) temperatureRaw -= 0x10000;
              done(null, { pressure: pressureRaw / 4096, temperature: temperatureRaw / 100 });
            });
          });
        };
        this.clock.setTimeout(poll, 15);
      });
    });
  }
}
