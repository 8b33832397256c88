/**
 * Facts about the MCU behind each Espruino board that the virtual board needs: which Serial/I2C objects the
 * Espruino build has, flash write alignment, what the reset-reason register looks like, how I2C errors read,
 * and the supply current in each power mode. Sources are cited per entry; the simulator keeps its own copy
 * of the register facts (hal/espruino/reset-reason.ts has the firmware's) so a wrong table on one side shows up.
 */

export type ResetCause = 'power-on' | 'watchdog' | 'software' | 'pin';

export interface ResetRegisterModel {
  address: number;
  /** Register value the hardware leaves after each kind of reset (flags accumulate until cleared). */
  flags: Record<ResetCause, number>;
  /** 'write-ones': writing 1s clears those flags (nRF52). A number: writing with this bit set clears all flags (STM32 RMVF). */
  clear: 'write-ones' | number;
  /** Bits of the register that are not reset flags and read back as written (STM32 RCC_CSR LSION...). */
  otherBitsMask: number;
}

export interface McuModel {
  family: 'nRF52840' | 'STM32F401' | 'STM32L476' | 'Linux';
  serialPorts: string[];
  i2cBuses: string[];
  /** Flash program granularity: JSF_ALIGNMENT (8 with FLASH_64BITS_ALIGNMENT on STM32L4, make/family/STM32L4.make). */
  flashAlignment: 4 | 8;
  resetRegister: ResetRegisterModel | null;
  /** The exception message Espruino raises when an I2C device does not acknowledge its address. */
  i2cNackMessage: string;
  /** Supply current in mA: executing JS, sleeping (clocks on), deep sleep (stop / system-on sleep). */
  currents: { run: number; sleep: number; deepSleep: number; sleepWithUart?: number };
  /** True when Espruino enters its lowest mode by itself (nRF52), false when setDeepSleep(1) is needed (STM32). */
  sleepsDeeplyByItself: boolean;
  /** True when getTime() keeps counting across a watchdog/software reset (STM32 RTC on LSE), false when it restarts. */
  timeSurvivesReset: boolean;
  /** Longest watchdog timeout the part can do, ms (E.enableWatchdog throws beyond it and runs at this maximum). */
  watchdogMaxMs: number;
}

const nrf52840: McuModel = {
  family: 'nRF52840',
  // boards/RAK5010.py: 2 USARTs, 1 hardware I2C in the Espruino build.
  serialPorts: ['Serial1', 'Serial2'],
  i2cBuses: ['I2C1'],
  flashAlignment: 4,
  // nRF52840 PS v1.7 5.3.7.11 RESETREAS @0x40000400: RESETPIN bit0, DOG bit1, SREQ bit2; 0 after power-on.
  resetRegister: { address: 0x40000400, flags: { 'power-on': 0, pin: 0x1, watchdog: 0x2, software: 0x4 }, clear: 'write-ones', otherBitsMask: 0 },
  // targets/nrf5x/jshardware.c jshI2CWrite: "I2C Write Error %d", NRF_ERROR_DRV_TWI_ERR_ANACK = 0x8201.
  i2cNackMessage: 'I2C Write Error 33281',
  // espruino.com/Power+Consumption (nRF52): run 4-8 mA, sleep with HSE on (a USART set up) ~1 mA,
  // sleep with Bluetooth advertising (the default) 0.02 mA.
  currents: { run: 6, sleep: 0.02, deepSleep: 0.02, sleepWithUart: 1 },
  sleepsDeeplyByItself: true,
  timeSurvivesReset: false,
  // WDT CRV is 32 bits of the 32.768 kHz clock (targets/nrf5x jshEnableWatchDog: CRV = timeout * 32768).
  watchdogMaxMs: (0xffffffff / 32768) * 1000,
};

const stm32f401: McuModel = {
  family: 'STM32F401',
  // boards/PICO_R1_3.py: USART1, USART2, USART6; I2C1..3.
  serialPorts: ['Serial1', 'Serial2', 'Serial6'],
  i2cBuses: ['I2C1', 'I2C2', 'I2C3'],
  flashAlignment: 4,
  // RM0368 6.3.21 RCC_CSR @0x40023874: RMVF bit24, BORRSTF 25, PINRSTF 26, PORRSTF 27, SFTRSTF 28, IWDGRSTF 29.
  // Every reset also sets PINRSTF (NRST is driven by the reset circuit); power-on sets POR+BOR.
  resetRegister: {
    address: 0x40023874,
    flags: { 'power-on': 0x0e000000, pin: 0x04000000, watchdog: 0x24000000, software: 0x14000000 },
    clear: 0x01000000,
    otherBitsMask: 0x00000003,
  },
  // targets/stm32/jshardware.c: "I2C device not responding" when the address is not acknowledged.
  i2cNackMessage: 'I2C device not responding',
  // espruino.com/Power+Consumption, Pico column: run 32 mA, sleep 11 mA, stop 0.02 mA.
  currents: { run: 32, sleep: 11, deepSleep: 0.02 },
  sleepsDeeplyByItself: false,
  timeSurvivesReset: true,
  // targets/stm32 jshEnableWatchDog: IWDG prescaler 256 on a 40 kHz LSI, reload at most 0xFFF: 26.2 s.
  watchdogMaxMs: (0xfff * 256 * 1000) / 40000,
};

const stm32l476: McuModel = {
  family: 'STM32L476',
  serialPorts: ['Serial1', 'Serial2', 'Serial3', 'Serial4', 'Serial5'],
  i2cBuses: ['I2C1', 'I2C2', 'I2C3'],
  flashAlignment: 8,
  // RM0351 6.4.29 RCC_CSR @0x40021094: RMVF bit23, PINRSTF 26, BORRSTF 27 (also on power-on), SFTRSTF 28, IWDGRSTF 29.
  resetRegister: {
    address: 0x40021094,
    flags: { 'power-on': 0x0c000000, pin: 0x04000000, watchdog: 0x24000000, software: 0x14000000 },
    clear: 0x00800000,
    otherBitsMask: 0x00000f03,
  },
  i2cNackMessage: 'I2C device not responding',
  // DS10198 (STM32L476xx) features page: run 100 uA/MHz at 80 MHz (LDO) ~ 8 mA; sleep about a third of run;
  // Stop 2 with RTC ~1.4 uA. Approximate: Espruino publishes no figures for this part.
  currents: { run: 8, sleep: 2.7, deepSleep: 0.0014 },
  sleepsDeeplyByItself: false,
  timeSurvivesReset: true,
  watchdogMaxMs: (0xfff * 256 * 1000) / 40000,
};

const linux: McuModel = {
  family: 'Linux',
  serialPorts: ['Serial1', 'Serial2', 'Serial3', 'Serial4'],
  i2cBuses: ['I2C1'],
  flashAlignment: 4,
  resetRegister: null,
  i2cNackMessage: 'I2C Error: NACK',
  currents: { run: 0, sleep: 0, deepSleep: 0 },
  sleepsDeeplyByItself: true,
  timeSurvivesReset: true,
  watchdogMaxMs: Number.MAX_SAFE_INTEGER,
};

const byEspruinoBoard: Record<string, McuModel> = {
  RAK5010: nrf52840,
  PICO_R1_3: stm32f401,
  NUCLEOL476RG: stm32l476,
  LINUX: linux,
};

export function mcuFor(espruinoBoard: string): McuModel {
  const model = byEspruinoBoard[espruinoBoard];
  if (!model) throw new Error(`simulator: no MCU model for Espruino board "${espruinoBoard}" (known: ${Object.keys(byEspruinoBoard).join(', ')})`);
  return model;
}

/**
 * Espruino's pin numbering: nRF52 D0..D47 are 0..47; STM32 ports are 16 pins each (A0 = 0, B0 = 16, ...), which
 * is why the STM32 cannot watch A0 and B0 at once (they share EXTI line 0).
 */
export function pinIndex(name: string, mcu: McuModel): number {
  const match = /^([A-H])(\d{1,2})$/.exec(name);
  if (!match) return -1;
  const number = Number(match[2]);
  if (mcu.family === 'nRF52840' || mcu.family === 'Linux') return match[1] === 'D' ? number : -1;
  return (match[1]!.charCodeAt(0) - 65) * 16 + number;
}
