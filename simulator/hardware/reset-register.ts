/**
 * The MCU's reset-cause register as firmware reads it with peek32: flags set by each kind of reset and kept
 * until firmware clears them (nRF52 RESETREAS: write 1s; STM32 RCC_CSR: set RMVF). A power-on reset starts
 * from the power-on value.
 */
import type { ResetCause, ResetRegisterModel } from './mcu';

export class ResetRegister {
  private value: number;

  constructor(private readonly model: ResetRegisterModel) {
    this.value = model.flags['power-on'];
  }

  get address(): number {
    return this.model.address;
  }

  reset(cause: ResetCause): void {
    const flags = this.model.flags[cause];
    const other = this.value & this.model.otherBitsMask;
    if (cause === 'power-on') this.value = (flags | 0) >>> 0;
    else this.value = (this.value | flags | other) >>> 0;
  }

  read(): number {
    return this.value >>> 0;
  }

  write(written: number): void {
    const model = this.model;
    if (model.clear === 'write-ones') {
      this.value = (this.value & ~written) >>> 0;
      return;
    }
    const flags = (this.value & ~model.otherBitsMask) >>> 0;
    const other = (written & model.otherBitsMask) >>> 0;
    this.value = ((written & model.clear) !== 0 ? other : (flags | other)) >>> 0;
  }
}
