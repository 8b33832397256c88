/**
 * The modem driver contract every NB-IoT module driver implements (bc66.ts, bc95g.ts, bg96.ts), and the
 * parts they share: power and reset pins, readiness probing, 3GPP commands (CEREG, CSQ, CCLK, CPSMS, CEDRXS,
 * CFUN) and registration tracking. The application and the recovery ladder (recovery.ts) only see `Modem`.
 */
import type { BoardIo, Clock, DigitalOutput, Serial } from '../../hal/interfaces';
import type { BoardDefinition } from '../../hal/board';
import { AtEngine, AtError, type AtCommandOptions, type AtResponse } from './at-engine';
import { integer, isDigits, parameters } from './text';
import { encodeActiveTime, encodePeriodicTau, parseClock } from './timers';

/** A modem control line. `output.write(true)` asserts it (hal/espruino applies the board's active level). */
export interface ControlPin {
  output: DigitalOutput;
  /** Pulse length for this pin, ms (the board's `pulseMilliseconds`). */
  pulseMilliseconds?: number;
}

export interface ModemIo {
  serial: Serial;
  clock: Clock;
  powerKey: ControlPin | null;
  reset: ControlPin | null;
  psmWake: ControlPin | null;
  /** Power cycle through the power key even when a reset pin exists (a reset does not cure every hang). */
  preferPowerKey?: boolean;
  /** Log/trace of AT traffic (optional). */
  trace?: (direction: 'rx' | 'tx', text: string) => void;
}

export interface ModemIdentity {
  imei: string;
  iccid: string;
  imsi: string;
}

export interface ModemSignal {
  /** dBm from AT+CSQ (null when unknown, CSQ 99). */
  rssi: number | null;
  /** Reference signal received power, dBm. */
  rsrp: number | null;
  /** Signal to interference plus noise, dB. */
  sinr: number | null;
  /** NB-IoT coverage enhancement level 0..2. */
  coverageClass: number | null;
}

export interface PsmSettings {
  /** Requested periodic TAU (T3412 extended), seconds. */
  periodicTauSeconds: number;
  /** Requested active time (T3324), seconds. */
  activeTimeSeconds: number;
  /** eDRX cycle as the 4-bit string of TS 24.008 (e.g. "0101"), or null to disable eDRX. */
  edrxCycle?: string | null;
}

export type ReleaseAfter = 'send' | 'reply' | null;

export interface DatagramSource {
  host: string;
  port: number;
}

export type DatagramHandler = (data: Uint8Array, from: DatagramSource) => void;

/** Registration state from +CEREG: 1 home, 5 roaming (registered); 0, 2, 3, 4 not. */
export function isRegisteredStatus(status: number): boolean {
  return status === 1 || status === 5;
}

export interface Modem {
  readonly model: string;
  readonly engine: AtEngine;
  /** Power on (power key when needed), wait until the module answers, set echo off and numeric errors. */
  powerOn(): Promise<void>;
  identity(): Promise<ModemIdentity>;
  /** Wait for registration (CEREG 1 or 5) and whatever the dialect needs before sockets work. */
  attach(timeoutMilliseconds: number): Promise<void>;
  registered(): boolean;
  /** True while the UDP socket is open (modules forget sockets in PSM or after a restart). */
  udpOpen(): boolean;
  /** Called when +CEREG reports a registration change. */
  onRegistrationChange: ((registered: boolean, status: number) => void) | null;
  signal(): Promise<ModemSignal>;
  /** Network time in epoch ms UTC, null when the network gave none. */
  networkTime(): Promise<number | null>;
  configurePsm(settings: PsmSettings | null): Promise<void>;
  openUdp(host: string, port: number): Promise<void>;
  sendDatagram(data: Uint8Array, options?: { releaseAfter?: ReleaseAfter }): Promise<void>;
  onDatagram(handler: DatagramHandler | null): void;
  /** Let the module enter PSM when the network allows. */
  sleep(): Promise<void>;
  /** True once the module reported entering PSM (and until woken). */
  sleeping(): boolean;
  /** Bring a sleeping module back to answering AT commands (and reopen the socket). */
  wake(): Promise<void>;
  /** AT probe: true when the module answers OK. */
  probe(): Promise<boolean>;
  /** CFUN=0 then CFUN=1: radio off and on, without a reboot. */
  functionalReset(): Promise<void>;
  /** Hard restart by reset pin or power key, then powerOn(). */
  powerCycle(): Promise<void>;
  powerOff(): Promise<void>;
}

export function delay(clock: Clock, milliseconds: number): Promise<void> {
  return new Promise<void>((resolve) => {
    clock.setTimeout(resolve, milliseconds);
  });
}

/** Assert a control pin for `milliseconds`, then release it. */
export function pulse(clock: Clock, pin: ControlPin, milliseconds: number): Promise<void> {
  pin.output.write(true);
  return delay(clock, milliseconds).then(() => {
    pin.output.write(false);
  });
}

function controlPin(output: DigitalOutput | null, pulseMilliseconds: number | undefined): ControlPin | null {
  return output ? { output: output, pulseMilliseconds: pulseMilliseconds } : null;
}

/** The modem's share of a board: its UART, clock and control lines with the board's pulse lengths. */
export function modemIoFromBoard(io: BoardIo, board: BoardDefinition): ModemIo {
  const modem = board.modem;
  return {
    serial: io.modemSerial,
    clock: io.clock,
    powerKey: controlPin(io.modemPowerKey, modem.powerKey ? modem.powerKey.pulseMilliseconds : undefined),
    reset: controlPin(io.modemReset, modem.reset ? modem.reset.pulseMilliseconds : undefined),
    psmWake: controlPin(io.modemPsmWake, modem.psmWake ? modem.psmWake.pulseMilliseconds : undefined),
  };
}

/** The first line that is only digits (IMSI, IMEI): boot URCs can land inside a response. */
export function firstNumber(lines: string[]): string {
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.length >= 6 && line.length <= 20 && isDigits(line)) return line;
  }
  return '';
}

/** dBm of an AT+CSQ rssi index (TS 27.007 §8.5): 0 -> -113, 31 -> -51, 99 unknown. */
export function csqToDbm(index: number): number | null {
  if (!(index >= 0 && index <= 31)) return null;
  return -113 + index * 2;
}

/**
 * What the three drivers share. Subclasses supply the dialect: identity commands, attach extras,
 * socket commands and the wake procedure.
 */
export abstract class ModemBase implements Modem {
  abstract readonly model: string;
  readonly engine: AtEngine;
  protected readonly clock: Clock;
  protected registrationStatus = 0;
  protected datagramHandler: DatagramHandler | null = null;
  protected remoteHost = '';
  protected remotePort = 0;
  protected socketOpen = false;
  /** Called when +CEREG reports a registration change (the recovery ladder counts losses). */
  onRegistrationChange: ((registered: boolean, status: number) => void) | null = null;

  constructor(protected readonly io: ModemIo) {
    this.clock = io.clock;
    this.engine = new AtEngine(io.serial, io.clock, { trace: io.trace });
    this.engine.onUrc('+CEREG:', (line) => this.handleRegistrationUrc(line));
  }

  /** Milliseconds from power-key release until the module answers AT. */
  protected abstract readonly bootMilliseconds: number;
  /** Power-key pulse that switches the module on. */
  protected abstract readonly powerOnPulseMilliseconds: number;
  protected abstract readIdentity(): Promise<ModemIdentity>;
  protected abstract dialectSetup(): Promise<void>;
  abstract signal(): Promise<ModemSignal>;
  abstract openUdp(host: string, port: number): Promise<void>;
  abstract sendDatagram(data: Uint8Array, options?: { releaseAfter?: ReleaseAfter }): Promise<void>;
  abstract sleep(): Promise<void>;
  abstract sleeping(): boolean;
  abstract wake(): Promise<void>;
  abstract powerOff(): Promise<void>;

  command(text: string, options?: AtCommandOptions): Promise<AtResponse> {
    return this.engine.send(text, options);
  }

  registered(): boolean {
    return isRegisteredStatus(this.registrationStatus);
  }

  onDatagram(handler: DatagramHandler | null): void {
    this.datagramHandler = handler;
  }

  udpOpen(): boolean {
    return this.socketOpen;
  }

  probe(): Promise<boolean> {
    return this.command('AT', { timeout: 300 }).then(
      () => true,
      () => false,
    );
  }

  /** Probe with AT until OK or `timeout` ms pass. */
  protected waitForAnswer(timeout: number): Promise<void> {
    const deadline = this.clock.now() + timeout;
    const attempt = (): Promise<void> =>
      this.probe().then((answered) => {
        if (answered) return;
        if (this.clock.now() >= deadline) throw new AtError('timeout', 'AT', 'module did not answer within ' + timeout + ' ms');
        return delay(this.clock, 200).then(attempt);
      });
    return attempt();
  }

  powerOn(): Promise<void> {
    return this.probe()
      .then((answered) => {
        if (answered) return;
        const key = this.io.powerKey;
        // At least the module's minimum press (BG96: 500 ms), whatever the board asks for.
        const start = key ? pulse(this.clock, key, Math.max(key.pulseMilliseconds || 0, this.powerOnPulseMilliseconds)) : Promise.resolve();
        return start.then(() => delay(this.clock, this.bootMilliseconds)).then(() => this.waitForAnswer(10000));
      })
      .then(() => this.configureBasics());
  }

  protected configureBasics(): Promise<void> {
    this.socketOpen = false;
    return this.command('ATE0')
      .then(() => this.command('AT+CMEE=1'))
      .then(() => this.command('AT+CEREG=1'))
      .then(() => this.dialectSetup());
  }

  identity(): Promise<ModemIdentity> {
    return this.readIdentity();
  }

  protected handleRegistrationUrc(line: string): void {
    const fields = parameters(line, '+CEREG:');
    // URC: +CEREG: <stat>[,...]; a read response (+CEREG: <n>,<stat>) is consumed by the command itself.
    const status = integer(fields[0]);
    if (!isNaN(status)) this.setRegistration(status);
  }

  /** `reported` is false when we caused the change ourselves (CFUN=0, restart): not a loss to count. */
  protected setRegistration(status: number, reported = true): void {
    const was = this.registered();
    this.registrationStatus = status;
    const now = this.registered();
    if (reported && was !== now && this.onRegistrationChange) this.onRegistrationChange(now, status);
  }

  /** Read AT+CEREG? and update the registration state. */
  readRegistration(): Promise<number> {
    return this.command('AT+CEREG?', { expect: '+CEREG:' }).then((response) => {
      // A +CEREG: <stat> URC can arrive inside the response: the read answer is the line with <n>,<stat>.
      let status = NaN;
      for (let index = 0; index < response.lines.length && isNaN(status); index++) {
        const fields = parameters(response.lines[index]!, '+CEREG:');
        if (fields.length >= 2) status = integer(fields[1]);
      }
      if (isNaN(status)) throw new AtError('invalid', 'AT+CEREG?', 'no registration status in ' + response.lines.join('|'));
      this.setRegistration(status);
      return status;
    });
  }

  /** Poll registration every 2 s until registered or `timeout` ms pass. */
  protected waitForRegistration(timeout: number): Promise<void> {
    const deadline = this.clock.now() + timeout;
    const poll = (): Promise<void> =>
      this.readRegistration().then((status) => {
        if (isRegisteredStatus(status)) return;
        if (this.clock.now() >= deadline) throw new AtError('timeout', 'AT+CEREG?', 'not registered after ' + timeout + ' ms (status ' + status + ')');
        return delay(this.clock, 2000).then(poll);
      });
    return poll();
  }

  attach(timeoutMilliseconds: number): Promise<void> {
    return this.command('AT+CFUN?', { expect: '+CFUN:' })
      .then((response) => {
        if (integer(parameters(response.lines[0] || '', '+CFUN:')[0]) !== 1) return this.command('AT+CFUN=1', { timeout: 85000 }).then(() => undefined);
        return undefined;
      })
      .then(() => this.waitForRegistration(timeoutMilliseconds));
  }

  protected readCsq(): Promise<number | null> {
    return this.command('AT+CSQ', { expect: '+CSQ:' }).then((response) => csqToDbm(integer(parameters(response.lines[0] || '', '+CSQ:')[0])));
  }

  networkTime(): Promise<number | null> {
    return this.command('AT+CCLK?', { expect: '+CCLK:' }).then((response) => (response.lines[0] ? parseClock(response.lines[0]) : null));
  }

  configurePsm(settings: PsmSettings | null): Promise<void> {
    if (!settings) return this.command('AT+CPSMS=0').then(() => this.command('AT+CEDRXS=0')).then(() => undefined);
    const tau = encodePeriodicTau(settings.periodicTauSeconds);
    const active = encodeActiveTime(settings.activeTimeSeconds);
    if (tau === null || active === null) return Promise.reject(new AtError('invalid', 'AT+CPSMS', 'timer out of range'));
    const edrx = settings.edrxCycle ? this.command('AT+CEDRXS=1,5,"' + settings.edrxCycle + '"') : this.command('AT+CEDRXS=0');
    return this.command('AT+CPSMS=1,,,"' + tau + '","' + active + '"').then(() => edrx).then(() => undefined);
  }

  functionalReset(): Promise<void> {
    this.socketOpen = false;
    this.setRegistration(0, false);
    return this.command('AT+CFUN=0', { timeout: 85000 })
      .then(() => this.command('AT+CFUN=1', { timeout: 85000 }))
      .then(() => undefined);
  }

  /** Hard restart: reset pin when the board has one, else power key off then on. */
  powerCycle(): Promise<void> {
    this.engine.abortAll('power cycle');
    this.socketOpen = false;
    this.setRegistration(0, false);
    const reset = this.io.reset;
    let restart: Promise<void>;
    if (reset && !(this.io.preferPowerKey && this.io.powerKey)) restart = pulse(this.clock, reset, reset.pulseMilliseconds || 300);
    else if (this.io.powerKey) restart = this.powerKeyOff().then(() => delay(this.clock, 2000));
    else return Promise.reject(new AtError('invalid', 'power cycle', 'board has neither reset pin nor power key'));
    return restart.then(() => delay(this.clock, this.bootMilliseconds)).then(() => this.powerOn());
  }

  /** Switch off through the power key (long press); modules that ignore it are reset instead. */
  protected powerKeyOff(): Promise<void> {
    const key = this.io.powerKey!;
    return pulse(this.clock, key, 800);
  }

  protected deliver(data: Uint8Array, host: string, port: number): void {
    if (this.datagramHandler) this.datagramHandler(data, { host, port });
  }
}
