/**
 * The virtual Espruino board: the hardware of one boards.json entry (flash with Espruino's Storage layout,
 * UARTs, an RS485 transceiver on its bus, I2C, GPIO, ADC, watchdog, reset-reason register, power and energy)
 * and the interpreter that runs the firmware bundle on it. Each boot is a fresh EspruinoSession over the same
 * hardware: a reset loses RAM, flash keeps what was written.
 *
 *   const board = new VirtualBoard(loadBoard('pico-bc66'));
 *   board.flashFirmware(bundleCode);   // as `udt flash` would: the bundle becomes .bootcde
 *   board.powerOn();
 *   board.clock.advance(60_000);
 */
import { EventEmitter } from 'node:events';
import type { BoardDefinition } from '../hal/board';
import { VirtualClock } from './clock';
import { ConsoleDevice } from './espruino/console';
import { createCryptoModule } from './espruino/crypto-module';
import { bytesToLatin1, latin1ToBytes } from './espruino/data';
import { BoardHalt, EspruinoSession, type BoardServices } from './espruino/session';
import { EnergyMeter, McuPower } from './hardware/energy';
import { NorFlash } from './hardware/flash';
import { Gpio } from './hardware/gpio';
import { I2cBus } from './hardware/i2c-bus';
import { mcuFor, type McuModel, type ResetCause } from './hardware/mcu';
import { ResetRegister } from './hardware/reset-register';
import { StorageArea } from './hardware/storage-area';
import { VirtualUart } from './hardware/uart';
import { bootSession } from './boot';
import { Rs485Bus, type SerialEndpoint } from './wire';

export interface VirtualBoardOptions {
  /** Share one clock between the boards of a fleet; by default the board has its own. */
  clock?: VirtualClock;
  /** Name used on wires and in messages (default: the board id). */
  name?: string;
  /** Virtual ms the MCU stays awake per event it handles (energy accounting). Default 2. */
  activeMillisecondsPerEvent?: number;
  /** Real ms after which a callback that has not returned counts as a hung MCU (0 = no limit). Default 0. */
  hangTimeoutMs?: number;
  /** Virtual ms from reset to the boot code running. Default 100. */
  bootDelayMs?: number;
  /** getTime() at power-on, ms since 1970. Espruino starts at 0 unless the board keeps time. Default 0. */
  rtcAtPowerOnMs?: number;
  /** 'espruino': at each hardware boot erase Storage if Espruino would call it corrupt (default); 'off': never. */
  storageCheck?: 'espruino' | 'off';
  /** An STM32 in stop mode (setDeepSleep(1) and idle) receives nothing on its UARTs. Default true. */
  uartLosesDataInDeepSleep?: boolean;
}

export type PowerState = 'off' | 'on';

/** Something that can power the board (the AC supply, the battery); see simulator/models. */
export interface PowerSource {
  readonly name: string;
  /** True while this source can power the board. */
  available(): boolean;
  /** Take charge (mA·ms) drawn while this source powers the board. */
  drain?(milliampMilliseconds: number): void;
}

export class VirtualBoard extends EventEmitter implements BoardServices {
  readonly clock: VirtualClock;
  readonly name: string;
  readonly mcu: McuModel;
  readonly flash: NorFlash;
  readonly storage: StorageArea;
  readonly gpio: Gpio;
  readonly power: McuPower;
  readonly energy: EnergyMeter;
  readonly console: ConsoleDevice;
  readonly resetRegister: ResetRegister | null;
  /** The RS485 bus the board's transceiver drives (null when the board has no RS485). Slaves attach here. */
  readonly rs485Bus: Rs485Bus | null = null;
  readonly options: { activeMillisecondsPerEvent: number; hangTimeoutMs: number };
  private readonly settings: Required<Omit<VirtualBoardOptions, 'clock' | 'name' | 'activeMillisecondsPerEvent' | 'hangTimeoutMs'>>;
  private readonly uarts = new Map<string, VirtualUart>();
  private readonly i2cBuses = new Map<string, I2cBus>();
  private session: EspruinoSession | null = null;
  private generation = 0;
  private state: PowerState = 'off';
  private hung = false;
  private rtcOffset = 0;
  private watchdog: { timeout: number; automatic: boolean; eventId: number | null; bite: () => void } | null = null;
  private bootEventId: number | null = null;
  private readonly sources: PowerSource[] = [];
  private consoleText = '';
  /** Counts of what happened, for tests and reports. */
  readonly counters = { boots: 0, watchdogResets: 0, softwareResets: 0, powerCuts: 0, storageErasures: 0, hangs: 0 };

  constructor(
    readonly definition: BoardDefinition,
    options: VirtualBoardOptions = {},
  ) {
    super();
    this.clock = options.clock ?? new VirtualClock();
    this.name = options.name ?? definition.id;
    this.mcu = mcuFor(definition.espruinoBoard);
    this.options = { activeMillisecondsPerEvent: options.activeMillisecondsPerEvent ?? 2, hangTimeoutMs: options.hangTimeoutMs ?? 0 };
    this.settings = {
      bootDelayMs: options.bootDelayMs ?? 100,
      rtcAtPowerOnMs: options.rtcAtPowerOnMs ?? 0,
      storageCheck: options.storageCheck ?? 'espruino',
      uartLosesDataInDeepSleep: options.uartLosesDataInDeepSleep ?? true,
    };
    this.flash = new NorFlash(definition.storage.bytes, definition.storage.pageSize);
    this.flash.onPowerCut = () => this.cutPower('flash write interrupted by the power-cut injector');
    this.storage = new StorageArea(this.flash, this.mcu.flashAlignment);
    this.storage.onConsole = (text) => this.session?.print(text);
    this.gpio = new Gpio(this.clock, definition.pins, definition.battery?.referenceVolts ?? 3.3);
    this.power = new McuPower(this.clock, this.mcu);
    this.power.running = false;
    this.energy = new EnergyMeter(this.clock, this.power);
    this.energy.onDrain = (charge) => this.activeSource()?.drain?.(charge);
    this.console = new ConsoleDevice(this.clock, this.name);
    this.console.host.onData((bytes) => {
      this.consoleText = (this.consoleText + bytesToLatin1(bytes)).slice(-200_000);
    });
    this.resetRegister = this.mcu.resetRegister ? new ResetRegister(this.mcu.resetRegister) : null;
    const rs485Port = definition.rs485?.serial.port;
    for (const port of this.mcu.serialPorts) {
      if (port === rs485Port) {
        const bus = new Rs485Bus(this.clock, { baudRate: definition.rs485!.serial.baudRate });
        const drop = bus.attach(`${this.name}:${port}`);
        drop.setDriverEnabled(false);
        this.gpio.onChange(definition.rs485!.driverEnablePin, (level) => drop.setDriverEnabled(level));
        this.rs485Bus = bus;
        this.uarts.set(port, new VirtualUart(this.clock, port, this.name, { endpoint: drop, settings: bus }));
      } else {
        this.uarts.set(port, new VirtualUart(this.clock, port, this.name));
      }
    }
    for (const uart of this.uarts.values()) {
      uart.canReceive = () => !(this.settings.uartLosesDataInDeepSleep && !this.mcu.sleepsDeeplyByItself && this.power.inDeepSleep());
      uart.onTransmit = (_bytes, milliseconds) => this.power.noteActivity(milliseconds);
    }
    if (definition.i2c) this.i2cBuses.set(definition.i2c.bus, new I2cBus(definition.i2c.bus, this.mcu.i2cNackMessage));
  }

  // ---- wiring for models and tools -------------------------------------------------------------------------

  uart(port: string): VirtualUart | undefined {
    return this.uarts.get(port);
  }

  /** The device end of a UART (e.g. 'Serial1'), where a model or a bridge attaches. */
  uartEndpoint(port: string): SerialEndpoint {
    const uart = this.uarts.get(port);
    if (!uart) throw new Error(`${this.name}: no ${port} (this MCU has ${[...this.uarts.keys()].join(', ')})`);
    if (!uart.device) throw new Error(`${this.name}: ${port} drives the RS485 bus; attach to board.rs485Bus instead`);
    return uart.device;
  }

  /** The device end of the modem UART. */
  get modemLine(): SerialEndpoint {
    return this.uartEndpoint(this.definition.modem.serial.port);
  }

  i2cBus(name?: string): I2cBus | undefined {
    return this.i2cBuses.get(name ?? this.definition.i2c?.bus ?? '');
  }

  /** A power source; with none the board is on a bench supply (always powered). */
  addPowerSource(source: PowerSource): void {
    this.sources.push(source);
    this.powerChanged();
  }

  /** Power sources call this when they come or go; the board browns out or powers up accordingly. */
  powerChanged(): void {
    const powered = this.sources.length === 0 || this.sources.some((source) => source.available());
    if (powered && this.state === 'off' && this.autoPowerOn) this.powerOn();
    else if (!powered && this.state === 'on') this.cutPower('no power source left');
  }

  private autoPowerOn = false;

  /** The power sources attached, in the order they take the load. */
  sourcesAvailable(): readonly PowerSource[] {
    return this.sources;
  }

  private activeSource(): PowerSource | undefined {
    return this.sources.find((source) => source.available());
  }

  // ---- power and resets ---------------------------------------------------------------------------------------

  get powerState(): PowerState {
    return this.state;
  }

  get currentSession(): EspruinoSession | null {
    return this.session;
  }

  /** Write the firmware as `udt flash` does (E.setBootCode: the code becomes .bootcde). Works while off. */
  flashFirmware(code: string): void {
    this.storage.erase('.bootcde');
    this.storage.erase('.bootrst');
    if (code.length === 0) return;
    try {
      this.storage.write('.bootcde', latin1ToBytes(code), 0, 0, 0);
    } catch (error) {
      const stats = this.storage.stats(true);
      throw new Error(
        `${this.name}: firmware of ${code.length} bytes does not fit in Storage (${stats.free} of ${stats.total} bytes free, ` +
          `${stats.fileBytes} used by ${stats.fileCount} files): ${(error as Error).message}`,
      );
    }
  }

  /** Power the board on (it boots after bootDelayMs). Later power returns boot it again by themselves. */
  powerOn(): void {
    this.autoPowerOn = true;
    if (this.state === 'on') return;
    if (this.sources.length > 0 && !this.sources.some((source) => source.available())) return;
    this.state = 'on';
    this.power.running = true;
    this.rtcOffset = this.settings.rtcAtPowerOnMs - this.clock.now();
    this.resetRegister?.reset('power-on');
    this.emit('power', { on: true, time: this.clock.now() });
    this.scheduleBoot('power-on');
  }

  /** Cut the power now: the running code stops where it is; RAM is lost, flash keeps what was written. */
  cutPower(reason = 'power cut'): void {
    if (this.state === 'off') return;
    this.counters.powerCuts++;
    this.endSession();
    this.state = 'off';
    this.power.running = false;
    this.disarmWatchdog();
    this.gpio.resetMcuSide();
    this.emit('power', { on: false, reason, time: this.clock.now() });
  }

  /** A reset (watchdog, software or the reset pin): the MCU restarts, RAM is lost. */
  reset(cause: Exclude<ResetCause, 'power-on'>): void {
    if (this.state === 'off') return;
    if (cause === 'watchdog') this.counters.watchdogResets++;
    if (cause === 'software') this.counters.softwareResets++;
    this.endSession();
    const watchdogSurvives = cause === 'software' && this.mcu.family === 'nRF52840';
    if (!watchdogSurvives) this.disarmWatchdog();
    this.gpio.resetMcuSide();
    if (!this.mcu.timeSurvivesReset) this.rtcOffset = this.settings.rtcAtPowerOnMs - this.clock.now();
    this.resetRegister?.reset(cause);
    this.emit('reset', { cause, time: this.clock.now() });
    this.scheduleBoot(cause);
  }

  /** Load firmware and power on (or reset into it when already running). */
  boot(code: string): void {
    this.flashFirmware(code);
    if (this.state === 'on') this.reset('pin');
    else this.powerOn();
  }

  /** Everything the console has printed since the board was created (the last 200 kB). */
  consoleOutput(): string {
    return this.consoleText;
  }

  /**
   * Run code in the running interpreter as one event (what a console line does, without echo). Returns its
   * value, or throws when the board is off or the code threw (the error is also printed, as Espruino does).
   */
  evaluate(code: string): unknown {
    const session = this.session;
    if (!session || !session.alive) throw new Error(`${this.name}: not running (power ${this.state})`);
    const result = session.evaluate(code, 'evaluate');
    session.finishEvent();
    if (result.failed) throw new Error(`${this.name}: evaluation failed (see the console output)`);
    return result.value;
  }

  /** Type a line on the console, as a user or a tool would (a "\n" is added). */
  typeLine(line: string): void {
    this.console.host.write(line + '\n');
  }

  // ---- BoardServices (used by the interpreter) -----------------------------------------------------------------

  consoleWrite(text: string): void {
    this.console.write(text);
  }

  rtcMilliseconds(): number {
    return this.clock.now() + this.rtcOffset;
  }

  setRtcMilliseconds(milliseconds: number): void {
    this.rtcOffset = milliseconds - this.clock.now();
  }

  watchdogEnable(timeoutMilliseconds: number, automatic: boolean): void {
    if (this.watchdog && this.mcu.family === 'nRF52840') {
      // The nRF52 WDT's reload value is locked once it runs: only the kick mode changes.
      this.watchdog.automatic = automatic;
      this.watchdogKick();
      return;
    }
    this.disarmWatchdog();
    const watchdog: NonNullable<typeof this.watchdog> = {
      timeout: Math.max(1, timeoutMilliseconds),
      automatic,
      eventId: null,
      bite: () => {
        watchdog.eventId = null;
        this.emit('watchdog', { time: this.clock.now() });
        this.reset('watchdog');
      },
    };
    this.watchdog = watchdog;
    this.watchdogKick();
  }

  watchdogKick(): void {
    const watchdog = this.watchdog;
    if (!watchdog) return;
    if (watchdog.eventId !== null) this.clock.cancel(watchdog.eventId);
    watchdog.eventId = this.clock.schedule(watchdog.timeout, watchdog.bite);
  }

  watchdogAutomatic(): boolean {
    return !!this.watchdog?.automatic && !this.hung;
  }

  /** Virtual ms until the watchdog bites, or null when it is not running. */
  watchdogRemaining(): number | null {
    return this.watchdog ? this.watchdog.timeout : null;
  }

  requestReboot(): void {
    this.clock.schedule(0, () => this.reset('software'));
    this.endSession();
    throw new BoardHalt('E.reboot()');
  }

  requestSoftReset(runBootCode: boolean): void {
    this.endSession();
    this.gpio.resetMcuSide();
    this.clock.schedule(0, () => {
      if (this.state === 'on' && !this.session) this.startSession(runBootCode ? 'load' : 'reset');
    });
    throw new BoardHalt(runBootCode ? 'load()' : 'reset()');
  }

  reportHang(): void {
    this.counters.hangs++;
    this.hung = true;
    this.endSession();
    // A hung MCU spins at full current until the watchdog (if any) resets it.
    this.power.noteActivity(Number.MAX_SAFE_INTEGER / 4);
    this.emit('hang', { time: this.clock.now() });
  }

  peek32(address: number): number {
    return this.resetRegister && address === this.resetRegister.address ? this.resetRegister.read() : 0;
  }

  poke32(address: number, value: number): void {
    if (this.resetRegister && address === this.resetRegister.address) this.resetRegister.write(value);
  }

  codeBytes(): number {
    return this.storage.find('.bootcde')?.header.size ?? 0;
  }

  createCrypto(session: EspruinoSession): unknown {
    return createCryptoModule(this.definition, session);
  }

  // ---- boots -------------------------------------------------------------------------------------------------

  private scheduleBoot(cause: ResetCause): void {
    if (this.bootEventId !== null) this.clock.cancel(this.bootEventId);
    this.hung = false;
    this.power.noteActivity(this.settings.bootDelayMs);
    this.bootEventId = this.clock.schedule(this.settings.bootDelayMs, () => {
      this.bootEventId = null;
      if (this.state === 'on') this.startSession(cause);
    });
  }

  private startSession(kind: ResetCause | 'reset' | 'load'): void {
    this.hung = false;
    this.generation++;
    this.counters.boots++;
    const session = new EspruinoSession(this, this.generation);
    this.session = session;
    this.console.attach(session);
    this.emit('boot', { cause: kind, generation: this.generation, time: this.clock.now() });
    const erased = bootSession(this, session, kind, this.settings.storageCheck === 'espruino');
    if (erased) {
      this.counters.storageErasures++;
      this.emit('storage-erased', { time: this.clock.now() });
    }
  }

  private endSession(): void {
    const session = this.session;
    this.session = null;
    if (this.bootEventId !== null) {
      this.clock.cancel(this.bootEventId);
      this.bootEventId = null;
    }
    if (session) {
      session.kill();
      this.console.attach(null);
    }
    this.power.deepSleepAllowed = false;
    this.power.uartActive = false;
    for (const uart of this.uarts.values()) uart.unsetup();
  }

  private disarmWatchdog(): void {
    if (this.watchdog?.eventId != null) this.clock.cancel(this.watchdog.eventId);
    this.watchdog = null;
  }
}
