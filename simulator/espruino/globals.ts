/**
 * The virtual board's global scope: what the Espruino interpreter of this board offers, built per boot.
 * Only the API surface hal/espruino and typical firmware use is here; anything else is simply absent,
 * as it would be on a board whose build left it out.
 */
import { bytesToLatin1, crc32, DataConversionError, toByteArray } from './data';
import { EspruinoEvents } from './events';
import { EspruinoI2cObject } from './i2c';
import { inspect } from './inspect';
import { createPinApi } from './pins';
import { EspruinoSerialPort } from './serial';
import type { EspruinoSession } from './session';
import { createStorageModule } from './storage';
import { createTimers, installEspruinoJson, installVirtualDate } from './timers';

export const espruinoVersion = '2v29';

/** The E object: watchdog, reboot, init event, error flags, CRC32 and byte helpers. */
class EspruinoE extends EspruinoEvents {
  enableWatchdog(timeout: unknown, isAuto?: unknown): void {
    this.session.assertAlive();
    let seconds = Number(timeout);
    if (!(seconds >= 0)) seconds = 1;
    const maximum = this.session.board.mcu.watchdogMaxMs;
    const automatic = isAuto === undefined || !!isAuto;
    // Like jshEnableWatchDog: the watchdog starts at the limit, then the call reports the error.
    this.session.board.watchdogEnable(Math.min(seconds * 1000, maximum), automatic);
    if (seconds * 1000 > maximum) throw this.session.realm.error('Maximum watchdog timeout exceeded');
  }

  kickWatchdog(): void {
    this.session.assertAlive();
    this.session.board.watchdogKick();
  }

  reboot(): void {
    this.session.assertAlive();
    this.session.board.requestReboot();
  }

  getErrorFlags(): string[] {
    const flags = [...this.session.errorFlags];
    this.session.errorFlags.clear();
    return this.session.realm.array(flags);
  }

  CRC32(data: unknown): number {
    return crc32(this.bytes([data]));
  }

  toUint8Array(...data: unknown[]): Uint8Array {
    return this.session.realm.bytes(this.bytes(data));
  }

  toArrayBuffer(data: unknown): ArrayBuffer {
    return this.session.realm.arrayBuffer(this.bytes([data]));
  }

  override toString(...data: unknown[]): string {
    return bytesToLatin1(this.bytes(data));
  }

  getSizeOf(value: unknown): number {
    // A rough figure: Espruino variable blocks hold about 12 characters of data each.
    const text = typeof value === 'function' ? String(value) : this.session.realm.stringify(value) ?? '';
    return Math.max(1, Math.ceil(text.length / 12));
  }

  setBootCode(code: unknown, alwaysRun?: unknown): void {
    this.session.assertAlive();
    const storage = this.session.board.storage;
    storage.erase('.bootcde');
    storage.erase('.bootrst');
    const text = code === undefined ? '' : String(code);
    if (text.length > 0) storage.write(alwaysRun ? '.bootrst' : '.bootcde', toByteArray(text), 0, 0, 0);
  }

  setConsole(): void {}

  getAnalogVRef(): number {
    return this.session.board.gpio.adcReference;
  }

  hwRand(): number {
    return (Math.random() * 0x100000000) | 0;
  }

  private bytes(data: unknown[]): Uint8Array {
    try {
      return toByteArray(...data);
    } catch (error) {
      if (error instanceof DataConversionError) throw this.session.realm.error(error.message);
      throw error;
    }
  }
}

export function createGlobals(session: EspruinoSession): Record<string, unknown> {
  const board = session.board;
  const realm = session.realm;
  const globals: Record<string, unknown> = {};
  const pinApi = createPinApi(session);
  Object.assign(globals, pinApi.pins);
  for (const name of [
    'digitalRead', 'digitalWrite', 'pinMode', 'getPinMode', 'digitalPulse', 'analogRead', 'analogWrite', 'setWatch', 'clearWatch',
  ] as const) {
    globals[name] = pinApi[name];
  }
  Object.assign(globals, createTimers(session));
  for (const port of board.mcu.serialPorts) globals[port] = new EspruinoSerialPort(session, port);
  for (const bus of board.mcu.i2cBuses) globals[bus] = new EspruinoI2cObject(session, bus);
  const e = new EspruinoE(session);
  globals.E = e;
  session.afterEvent.push(() => {
    if (board.watchdogAutomatic()) board.watchdogKick();
  });

  const format = (values: unknown[]): string => values.map((value) => (typeof value === 'string' ? value : inspect(value, false))).join(' ');
  const print = (...values: unknown[]): void => {
    session.print(format(values) + '\n');
  };
  globals.print = print;
  globals.console = realm.object({ log: print, info: print, warn: print, error: print, debug: print, trace: print });

  let storageModule: Record<string, unknown> | null = null;
  let cryptoModule: unknown = null;
  globals.require = (name: unknown): unknown => {
    session.assertAlive();
    if (name === 'Storage') return (storageModule ??= createStorageModule(session));
    if (name === 'crypto') {
      cryptoModule ??= board.createCrypto(session);
      if (cryptoModule) return cryptoModule;
    }
    throw realm.error(`Module ${JSON.stringify(String(name))} not found`);
  };

  // The Linux build has no setDeepSleep (measured on 2v29).
  if (board.definition.espruinoBoard !== 'LINUX') {
    globals.setDeepSleep = (sleep: unknown): void => {
      session.assertAlive();
      board.power.deepSleepAllowed = !!sleep;
    };
  }
  globals.setSleepIndicator = (): void => {};
  globals.setBusyIndicator = (): void => {};
  globals.peek32 = (address: unknown): number => board.peek32(Number(address) >>> 0);
  globals.poke32 = (address: unknown, value: unknown): void => {
    session.assertAlive();
    board.poke32(Number(address) >>> 0, Number(value) >>> 0);
  };
  globals.reset = (): void => {
    session.assertAlive();
    board.requestSoftReset(false);
  };
  globals.load = (): void => {
    session.assertAlive();
    board.requestSoftReset(true);
  };
  globals.getSerial = (): string => `sim-${board.definition.id}`;
  globals.btoa = (text: unknown): string => Buffer.from(String(text), 'latin1').toString('base64');
  globals.atob = (text: unknown): string => Buffer.from(String(text), 'base64').toString('latin1');
  globals.process = realm.object({
    version: espruinoVersion,
    env: realm.object({ VERSION: espruinoVersion, BOARD: board.definition.espruinoBoard, MODULES: 'Storage' }),
    memory: (): Record<string, unknown> => {
      const total = board.definition.variables;
      const usage = Math.min(total, Math.round(board.codeBytes() / 12) + 200);
      return realm.object({ free: total - usage, usage, total, history: 0, gc: 0, gctime: 0, blocksize: 14 });
    },
  });
  installVirtualDate(session);
  installEspruinoJson(session);
  return globals;
}
