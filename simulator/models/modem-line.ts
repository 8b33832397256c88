/**
 * The lower half of a modem model: the UART command line and the power states. Bytes from the host become
 * command lines (echo when on, the '>' data mode for payloads), replies go out framed CR LF text CR LF after a
 * small delay, the power key / reset / PSM wake inputs move the module between off, booting, on, PSM, hung
 * and held in reset. Everything scheduled belongs to a "generation": a restart or a hang cancels it.
 * modem-core.ts adds the network side on top.
 */
import type { VirtualClock } from '../clock';
import type { SerialEndpoint } from '../wire';

export type PowerState = 'off' | 'booting' | 'on' | 'psm' | 'hung' | 'reset';
export type BootReason = 'power-on' | 'reset' | 'psm-exit';

export interface ModemStatistics {
  commands: number;
  uplinkDatagrams: number;
  downlinkDatagrams: number;
  uplinkLost: number;
  downlinkLost: number;
  duplicated: number;
  downlinkUnreachable: number;
  boots: number;
  psmEntries: number;
  hangs: number;
}

export interface TranscriptEntry {
  at: number;
  direction: 'to-modem' | 'from-modem';
  text: string;
}

export abstract class ModemLine {
  readonly statistics: ModemStatistics = {
    commands: 0, uplinkDatagrams: 0, downlinkDatagrams: 0, uplinkLost: 0, downlinkLost: 0, duplicated: 0,
    downlinkUnreachable: 0, boots: 0, psmEntries: 0, hangs: 0,
  };
  readonly transcript: TranscriptEntry[] = [];
  /** Keep the transcript (tests); off by default to keep long runs lean. */
  recordTranscript = false;
  power: PowerState = 'off';
  echo = true;

  protected line = '';
  protected generation = 0;
  private dataMode: { length: number; received: number[]; done: (data: Uint8Array) => void } | null = null;
  private powerKeyPressedAt = -1;
  private cmeBurstLeft = 0;
  private cmeBurstCode = 0;

  constructor(
    readonly clock: VirtualClock,
    readonly serial: SerialEndpoint,
    protected readonly responseDelayMs: number,
  ) {
    this.serial.onData((data) => this.receive(data));
  }

  // ----- hooks for the layers above -----
  /** Handle one command line (without CR). Reply through `reply`/`ok`/`error`. */
  protected abstract handleCommand(command: string): void;
  /** Lines printed after boot, with the ms after boot start at which each appears. */
  protected abstract bootSequence(reason: BootReason): Array<[number, string]>;
  /** Milliseconds from power-on/reset/PSM exit until the module takes commands. */
  protected abstract bootDuration(reason: BootReason): number;
  /** Whether UART bytes wake the module from PSM (BC66, BC95-G) or not (BG96). */
  protected abstract readonly wakesOnUart: boolean;
  /** The +CME ERROR code a burst answers with. */
  protected abstract readonly defaultCmeCode: number;
  /** BG96 restarts its application processor when it leaves PSM (banner again, settings back to defaults). */
  protected readonly psmExitRestartsApplication: boolean = false;
  /** Power-key press that switches an off module on, ms. */
  protected readonly powerOnPressMs: number = 500;
  /** Stop everything the network side has running (restart, reset, power off). */
  protected abstract haltNetwork(): void;
  /** The module finished booting and takes commands. */
  protected abstract booted(reason: BootReason): void;
  /** The power state changed (the current model follows it). */
  protected abstract powerStateChanged(): void;
  /** Host bytes or the wake line woke the module from PSM. */
  protected abstract exitPsm(): void;
  /** Every command the host sends (UART activity keeps an idle module awake a little longer). */
  protected abstract touchActivity(): void;

  // ----- pins (asserted = driven to the active level) -----
  setPowerKey(asserted: boolean): void {
    if (asserted) {
      this.powerKeyPressedAt = this.clock.now();
      return;
    }
    if (this.powerKeyPressedAt < 0) return;
    const held = this.clock.now() - this.powerKeyPressedAt;
    this.powerKeyPressedAt = -1;
    this.powerKeyReleased(held);
  }

  /** A press of `powerOnPressMs` switches an off module on, >= 100 ms wakes it from PSM, >= 650 ms switches it off. */
  protected powerKeyReleased(heldMs: number): void {
    if (this.power === 'off' && heldMs >= this.powerOnPressMs) this.boot('power-on');
    else if (this.power === 'psm' && heldMs >= 100) this.exitPsm();
    else if ((this.power === 'on' || this.power === 'hung') && heldMs >= 650) this.switchOff('POWERED DOWN');
  }

  setReset(asserted: boolean): void {
    if (asserted) {
      if (this.power === 'off') return;
      this.haltEverything();
      this.power = 'reset';
      this.powerStateChanged();
    } else if (this.power === 'reset') {
      this.boot('reset');
    }
  }

  setPsmWake(asserted: boolean): void {
    if (asserted && this.power === 'psm') this.exitPsm();
  }

  // ----- line faults -----
  /** The next `count` commands answer +CME ERROR. */
  cmeBurst(count: number, code = this.defaultCmeCode): void {
    this.cmeBurstLeft = count;
    this.cmeBurstCode = code;
  }

  /** Put `count` random bytes on the line now (noise, a module rebooting mid-line). */
  garbage(count: number, random: () => number = Math.random): void {
    const bytes = new Uint8Array(count);
    for (let index = 0; index < count; index++) bytes[index] = Math.floor(random() * 256);
    this.serial.write(bytes);
  }

  // ----- UART -----
  private receive(data: Uint8Array): void {
    if (this.power === 'psm') {
      if (this.wakesOnUart) this.exitPsm();
      return; // the bytes that woke it are lost
    }
    if (this.power !== 'on') return;
    for (const byte of data) {
      if (this.dataMode) {
        this.dataMode.received.push(byte);
        if (this.dataMode.received.length === this.dataMode.length) {
          const mode = this.dataMode;
          this.dataMode = null;
          mode.done(Uint8Array.from(mode.received));
        }
        continue;
      }
      if (byte === 13) {
        const command = this.line;
        this.line = '';
        if (this.echo) this.serial.write(command + '\r');
        if (command.trim().length > 0) this.command(command.trim());
      } else if (byte !== 10) {
        this.line += String.fromCharCode(byte);
      }
    }
  }

  private command(command: string): void {
    this.statistics.commands++;
    if (this.recordTranscript) this.transcript.push({ at: this.clock.now(), direction: 'to-modem', text: command });
    this.touchActivity();
    if (this.cmeBurstLeft > 0 && command.toUpperCase() !== 'AT') {
      this.cmeBurstLeft--;
      this.reply([], '+CME ERROR: ' + this.cmeBurstCode);
      return;
    }
    const upper = command.toUpperCase();
    if (upper === 'ATE0' || upper === 'ATE1') {
      this.echo = upper === 'ATE1';
      this.ok();
      return;
    }
    this.handleCommand(command);
  }

  /** Enter data mode: after the prompt, take exactly `length` bytes. */
  protected expectData(length: number, prompt: string, done: (data: Uint8Array) => void): void {
    this.dataMode = { length, received: [], done };
    this.later(this.responseDelayMs, () => this.serial.write(prompt));
  }

  /** Reply lines then a final result, after the response delay (plus `extraDelayMs`). */
  reply(lines: string[], final: string | null = 'OK', extraDelayMs = 0): void {
    this.later(this.responseDelayMs + extraDelayMs, () => {
      for (const line of lines) this.emit(line);
      if (final !== null) this.emit(final);
    });
  }

  ok(): void {
    this.reply([]);
  }

  error(): void {
    this.reply([], 'ERROR');
  }

  cmeError(code: number): void {
    this.reply([], '+CME ERROR: ' + code);
  }

  /** Write one line framed as CR LF line CR LF (V.250 verbose result format). */
  emit(line: string): void {
    if (this.power !== 'on' && this.power !== 'booting') return;
    if (this.recordTranscript) this.transcript.push({ at: this.clock.now(), direction: 'from-modem', text: line });
    this.serial.write('\r\n' + line + '\r\n');
  }

  /** Write raw bytes (data after a +QIRD header). */
  emitRaw(bytes: Uint8Array): void {
    if (this.power === 'on') this.serial.write(bytes);
  }

  /** Run `action` after `delay` unless the module restarts or hangs in between. */
  later(delay: number, action: () => void): void {
    const generation = this.generation;
    this.clock.schedule(delay, () => {
      if (generation === this.generation) action();
    });
  }

  // ----- power -----
  protected boot(reason: BootReason): void {
    this.haltEverything();
    this.statistics.boots++;
    this.power = 'booting';
    if (reason !== 'psm-exit' || this.psmExitRestartsApplication) this.echo = true;
    this.powerStateChanged();
    const generation = this.generation;
    for (const [at, text] of this.bootSequence(reason)) {
      this.clock.schedule(at, () => {
        if (generation === this.generation) this.emit(text);
      });
    }
    this.clock.schedule(this.bootDuration(reason), () => {
      if (generation !== this.generation) return;
      this.power = 'on';
      this.booted(reason);
    });
  }

  protected switchOff(finalLine: string | null): void {
    if (finalLine) this.emit(finalLine);
    this.haltEverything();
    this.power = 'off';
    this.powerStateChanged();
  }

  protected haltEverything(): void {
    this.generation++;
    this.dataMode = null;
    this.line = '';
    this.haltNetwork();
  }
}
