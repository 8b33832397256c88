/**
 * Watchdog and power over E.enableWatchdog/E.kickWatchdog, setDeepSleep, E.reboot and the MCU's reset-reason register.
 */
import { HalError, type Power, type ResetReason, type Watchdog } from '../interfaces';
import type { EspruinoApi } from './api';
import { decodeResetReason, resetRegisters } from './reset-reason';

export class EspruinoWatchdog implements Watchdog {
  private started = false;

  constructor(private readonly api: EspruinoApi) {}

  start(timeoutMilliseconds: number): void {
    if (typeof timeoutMilliseconds !== 'number' || !(timeoutMilliseconds >= 100 && timeoutMilliseconds <= 2147483647)) {
      throw new HalError('invalid-argument', 'Watchdog', 'timeout must be at least 100 ms, got ' + String(timeoutMilliseconds));
    }
    if (this.started) throw new HalError('busy', 'Watchdog', 'the watchdog is already running and cannot be reconfigured');
    this.started = true;
    try {
      // isAuto=false: Espruino would otherwise kick it from its idle loop, which runs even when our main loop is stuck.
      this.api.E.enableWatchdog(timeoutMilliseconds / 1000, false);
    } catch (caught) {
      // STM32's IWDG tops out at 26.2 s: Espruino starts it at its maximum and then throws.
      const message = caught && (caught as { message?: string }).message ? String((caught as { message: string }).message) : String(caught);
      throw new HalError('invalid-argument', 'Watchdog', message + ' (the watchdog is now running at its longest timeout: kick it sooner)');
    }
  }

  kick(): void {
    if (this.started) this.api.E.kickWatchdog();
  }
}

export class EspruinoPower implements Power {
  private readonly reason: ResetReason;

  constructor(
    private readonly api: EspruinoApi,
    espruinoBoard: string,
  ) {
    this.reason = readResetReason(api, espruinoBoard);
  }

  allowDeepSleep(allowed: boolean): void {
    if (this.api.setDeepSleep) this.api.setDeepSleep(allowed ? 1 : 0);
  }

  reboot(): void {
    this.api.E.reboot();
  }

  resetReason(): ResetReason {
    return this.reason;
  }
}

/** Read the reset cause once and clear the flags so the next boot sees only its own cause. */
function readResetReason(api: EspruinoApi, espruinoBoard: string): ResetReason {
  const register = resetRegisters[espruinoBoard];
  if (!register || typeof api.peek32 !== 'function') return 'unknown';
  const value = api.peek32(register.address) >>> 0;
  if (register.clear === 'write-ones') api.poke32(register.address, value);
  else api.poke32(register.address, (value | register.clear) >>> 0);
  return decodeResetReason(register, value);
}
