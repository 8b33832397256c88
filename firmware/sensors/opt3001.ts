/**
 * TI OPT3001 ambient light sensor (datasheet SBOS681B, 7.6), on the RAK5010 at 0x44: device ID register 0x7F
 * reads 0x3001; a single-shot conversion with automatic full-scale range and 100 ms conversion time is
 * configuration 0xC210 (RN=1100, CT=0, M=01, L=1); the conversion-ready flag is bit 7 of the configuration;
 * the result register 0x00 is E[15:12] R[11:0] with lux = 0.01 × 2^E × R.
 */
import { HalError, type Clock, type I2c } from '../../hal/interfaces';

export class Opt3001 {
  readonly device: string;

  constructor(
    private readonly i2c: I2c,
    private readonly clock: Clock,
    readonly address?: number,
  ) {
    if (this.address === undefined) this.address = 0x44;
    this.device = 'OPT3001@0x' + this.address.toString(16);
  }

  measure(done: (error: HalError | null, lux?: number) => void): void {
    const address = this.address as number;
    const i2c = this.i2c;
    i2c.writeRead(address, new Uint8Array([0x7f]), 2, (idError, id) => {
      if (idError || !id) return done(idError);
      if (id[0] !== 0x30 || id[1] !== 0x01) return done(new HalError('not-found', this.device, 'device ID is not 0x3001'));
      i2c.write(address, new Uint8Array([0x01, 0xc2, 0x10]), (startError) => {
        if (startError) return done(startError);
        let polls = 0;
        const poll = (): void => {
          i2c.writeRead(address, new Uint8Array([0x01]), 2, (pollError, configuration) => {
            if (pollError || !configuration) return done(pollError);
            if (!(configuration[1] & 0x80)) {
              if (++polls > 10) return done(new HalError('timeout', this.device, 'conversion did not finish'));
              this.clock.setTimeout(poll, 20);
              return;
            }
            i2c.writeRead(address, new Uint8Array([0x00]), 2, (readError, result) => {
              if (readError || !result) return done(readError);
              const exponent = result[0] >> 4;
              const mantissa = ((result[0] & 0x0f) << 8) | result[1];
              done(null, 0.01 * (1 << exponent) * mantissa);
            });
          });
        };
        this.clock.setTimeout(poll, 110);
      });
    });
  }
}
