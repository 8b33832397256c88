/**
 * I2C bus scan: which 7-bit addresses acknowledge. Each address 0x08..0x77 (0x00-0x07 and 0x78-0x7F are
 * reserved by the I2C specification, UM10204 3.1.12) is probed with an address-only write and, when that is
 * not acknowledged, a one-byte read (some parts acknowledge only one of the two while idle), one after the other.
 */
import type { I2c } from '../../hal/interfaces';

export function scanI2cBus(i2c: I2c, done: (addresses: number[]) => void, first?: number, last?: number): void {
  const found: number[] = [];
  const end = last === undefined ? 0x77 : last;
  let address = first === undefined ? 0x08 : first;
  const next = (): void => {
    if (address > end) {
      done(found);
      return;
    }
    const probed = address++;
    i2c.write(probed, new Uint8Array(0), (writeError) => {
      if (!writeError) {
        found.push(probed);
        next();
        return;
      }
      i2c.read(probed, 1, (readError) => {
        if (!readError) found.push(probed);
        next();
      });
    });
  };
  next();
}
