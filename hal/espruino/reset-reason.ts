/**
 * Where each MCU keeps the cause of its last reset. Espruino 2v29 has no E.getResetReason on these boards, but
 * peek32/poke32 reach the register, and Espruino itself never clears it (targets/nrf5x, targets/stm32 jshInit),
 * so the hal reads it once at boot and clears it for the next one.
 */
import type { ResetReason } from '../interfaces';

export interface ResetRegister {
  address: number;
  /** Bits that mean: watchdog, software request, power-on (or brown-out, which includes power-on). */
  watchdogMask: number;
  softwareMask: number;
  powerOnMask: number;
  /** How to clear the flags: 'write-ones' (write the read value back) or the value of a remove-flags bit to set. */
  clear: 'write-ones' | number;
  /** True when a value of 0 means power-on (nRF52 RESETREAS is 0 after a power-on reset). */
  zeroMeansPowerOn: boolean;
}

/** Keyed by boards.json `espruinoBoard`. */
export const resetRegisters: { [espruinoBoard: string]: ResetRegister } = {
  // nRF52840 Product Specification v1.7, 5.3.7.11 RESETREAS (POWER base 0x40000000 + 0x400):
  // bit 0 RESETPIN, 1 DOG, 2 SREQ, 3 LOCKUP; all 0 after power-on; cleared by writing 1s.
  RAK5010: { address: 0x40000400, watchdogMask: 0x2, softwareMask: 0x4, powerOnMask: 0, clear: 'write-ones', zeroMeansPowerOn: true },
  // STM32F401 RM0368 6.3.21 RCC_CSR (RCC base 0x40023800 + 0x74): bit 24 RMVF, 25 BORRSTF, 26 PINRSTF,
  // 27 PORRSTF, 28 SFTRSTF, 29 IWDGRSTF, 30 WWDGRSTF.
  PICO_R1_3: {
    address: 0x40023874,
    watchdogMask: 0x60000000,
    softwareMask: 0x10000000,
    powerOnMask: 0x0a000000,
    clear: 0x01000000,
    zeroMeansPowerOn: false,
  },
  // STM32L476 RM0351 6.4.29 RCC_CSR (RCC base 0x40021000 + 0x94): bit 23 RMVF, 26 PINRSTF, 27 BORRSTF
  // (set by power-on too), 28 SFTRSTF, 29 IWDGRSTF, 30 WWDGRSTF.
  NUCLEOL476RG: {
    address: 0x40021094,
    watchdogMask: 0x60000000,
    softwareMask: 0x10000000,
    powerOnMask: 0x08000000,
    clear: 0x00800000,
    zeroMeansPowerOn: false,
  },
};

/** Decode a register value; watchdog wins over software over power-on because flags can accumulate. */
export function decodeResetReason(register: ResetRegister, value: number): ResetReason {
  const flags = value >>> 0;
  if ((flags & register.watchdogMask) !== 0) return 'watchdog';
  if ((flags & register.softwareMask) !== 0) return 'software';
  if (register.zeroMeansPowerOn ? (flags & 0xf) === 0 : (flags & register.powerOnMask) !== 0) return 'power-on';
  return 'unknown';
}
