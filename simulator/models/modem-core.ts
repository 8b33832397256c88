/**
 * What the three modem models share: power, reset and PSM-wake pins, the UART command line (echo, '>' data
 * mode), the registration / RRC / PSM state machine over the radio model, real UDP through the bridge, the
 * current model, fault injection and statistics. A dialect (modem-bc66.ts, modem-bc95g.ts, modem-bg96.ts)
 * supplies command handling and the exact bytes of every reply and URC.
 */
import type { VirtualClock } from '../clock';
import type { SerialEndpoint } from '../wire';
import { RadioModel, type RadioOptions } from '../radio/radio-model';
import { CurrentModel, type CurrentProfile } from '../radio/current-model';
import { UdpBridge, type UdpBridgeOptions, type UdpEndpoint } from '../radio/udp-bridge';
import { decodeActiveTime, decodePeriodicTau } from '../../firmware/modem/timers';
import { ModemLine, type BootReason } from './modem-line';

export type { BootReason, ModemStatistics, PowerState, TranscriptEntry } from './modem-line';

export type ReleaseMode = 'send' | 'reply' | null;

/** NB-S1 eDRX cycle values of AT+CEDRXS (TS 24.008 §10.5.5.32, WB-S1/NB-S1 mode), ms. */
export const nbIotEdrxCycles: Record<string, number> = {
  '0010': 20480, '0011': 40960, '0101': 81920, '1001': 163840, '1010': 327680, '1011': 655360,
  '1100': 1310720, '1101': 2621440, '1110': 5242880, '1111': 10485760,
};

export interface ModemIdentityData {
  imei: string;
  iccid: string;
  imsi: string;
}

export interface ModemModelOptions {
  clock: VirtualClock;
  /** Device side of the modem UART. */
  serial: SerialEndpoint;
  radio?: RadioOptions;
  udp?: UdpBridgeOptions;
  identity?: Partial<ModemIdentityData>;
  /** Start powered and booted (as after VBAT applied with auto power-on). */
  poweredAtStart?: boolean;
  /** Delay from a command's CR to the first byte of its reply, ms. Default 10. */
  responseDelayMs?: number;
}

export abstract class ModemModelCore extends ModemLine {
  readonly radio: RadioModel;
  readonly current: CurrentModel;
  readonly udp: UdpBridge;
  readonly identityData: ModemIdentityData;
  functionality = 1;
  /** +CEREG: 0 not registered, 1 home, 2 searching, 3 denied, 5 roaming. */
  registration = 0;
  registrationUrcMode = 0;
  rrcConnected = false;
  psmRequested = false;
  requestedTauSeconds = 0;
  requestedActiveSeconds = 0;
  /** eDRX cycle the module asked for with AT+CEDRXS (the model's network grants it), or null. */
  edrxCycleMs: number | null = null;

  /** Answers AT but the radio does not work until CFUN=0/1 or a restart. */
  radioStuck = false;

  private timers = new Map<string, number>();
  private releaseAfterReply = false;
  private transmitting = false;

  constructor(options: ModemModelOptions, profile: CurrentProfile, defaults: ModemIdentityData) {
    super(options.clock, options.serial, options.responseDelayMs ?? 10);
    this.radio = new RadioModel(options.radio);
    this.current = new CurrentModel(options.clock, profile);
    this.udp = new UdpBridge(options.clock, (socket, data, from) => this.realArrival(socket, data, from), options.udp);
    this.identityData = { ...defaults, ...options.identity };
    // Deferred: subclass fields do not exist yet while this constructor runs.
    if (options.poweredAtStart) this.clock.schedule(0, () => this.boot('power-on'));
  }

  // ----- dialect hooks -----
  /** Dialect formatting: BC95-G writes "+CSQ:31,99", the others "+CSQ: 31,99". */
  protected abstract readonly spaceAfterColon: boolean;
  /** BG96 quotes the +CCLK time. */
  protected readonly quotedClock: boolean = false;
  /** Present a received datagram to the host (URC and buffering per dialect). */
  protected abstract presentDownlink(socketId: number, data: Uint8Array, from: UdpEndpoint): void;
  /** Whether the module may sleep now (BC66 needs AT+QSCLK=1). */
  protected sleepAllowed(): boolean {
    return true;
  }
  /** Called just before the module enters PSM (URCs) and after it leaves. */
  protected enteringPsm(): void {}
  protected leftPsm(): void {}
  /** The network released the RRC connection and T3324 started (BG96 +QPSMTIMER). */
  protected connectionReleased(): void {}
  /** Sockets that the dialect forgets on restart / PSM. */
  protected abstract clearSockets(reason: 'restart' | 'psm'): void;
  /** Format a registration URC. */
  protected abstract registrationUrc(status: number): string;

  // ----- faults -----
  /** Stop answering anything until a power cycle or reset. */
  hang(): void {
    if (this.power !== 'on') return;
    this.statistics.hangs++;
    this.generation++;
    this.cancelAllTimers();
    this.power = 'hung';
    this.updateCurrent();
  }

  /** Lose registration now; regain it after `regainAfterMs` (null: no service until the radio restarts). */
  dropRegistration(regainAfterMs: number | null): void {
    if (this.power !== 'on') return;
    this.setRegistration(2);
    this.rrcConnected = false;
    this.cancelTimer('attach');
    if (regainAfterMs === null) this.radio.noService = true;
    else this.startTimer('attach', regainAfterMs, () => this.setRegistration(1));
    this.updateCurrent();
  }

  /** `count` harmless URCs, `intervalMs` apart (signalling connection flapping). */
  urcStorm(count: number, intervalMs: number): void {
    for (let index = 0; index < count; index++) {
      const at = index * intervalMs;
      const generation = this.generation;
      this.clock.schedule(at, () => {
        if (generation === this.generation && this.power === 'on') this.emit(this.cscon(index % 2 === 0 ? 1 : 0));
      });
    }
  }

  /** Signalling connection status URC (TS 27.007 +CSCON), in this dialect's spelling. */
  protected cscon(state: number): string {
    return this.tag('+CSCON') + state;
  }

  // ----- power hooks (modem-line.ts) -----
  protected haltNetwork(): void {
    this.cancelAllTimers();
    this.rrcConnected = false;
    this.transmitting = false;
    this.releaseAfterReply = false;
    if (this.power !== 'psm') {
      this.registration = 0;
      this.clearSockets('restart');
      this.udp.close();
    }
    this.radioStuck = false;
    this.radio.noService = false;
  }

  protected booted(reason: BootReason): void {
    this.updateCurrent();
    if (reason === 'psm-exit') {
      this.leftPsm();
      this.startActiveTimer();
    } else if (this.functionality === 1) this.startAttach();
  }

  protected powerStateChanged(): void {
    this.updateCurrent();
  }

  /** Random bytes from the seeded radio PRNG, so garbage is repeatable too. */
  override garbage(count: number): void {
    super.garbage(count, () => this.radio.random.next());
  }

  // ----- registration -----
  setFunctionality(level: number): void {
    this.functionality = level;
    if (level === 0) {
      this.cancelTimer('attach');
      this.rrcConnected = false;
      this.radioStuck = false;
      this.radio.noService = false;
      this.setRegistration(0);
    } else if (this.registration !== 1 && this.registration !== 5) {
      this.startAttach();
    }
    this.updateCurrent();
  }

  startAttach(): void {
    if (this.registration === 1 || this.registration === 5) return;
    this.setRegistration(2);
    this.updateCurrent();
    if (this.radio.noService) return;
    this.startTimer('attach', this.radio.attachDuration(), () => {
      this.setRegistration(1);
      this.connect();
    });
  }

  setRegistration(status: number): void {
    if (status === this.registration) return;
    this.registration = status;
    if (this.registrationUrcMode > 0 && this.power === 'on') this.emit(this.registrationUrc(status));
    this.updateCurrent();
  }

  isRegistered(): boolean {
    return (this.registration === 1 || this.registration === 5) && !this.radioStuck;
  }

  // ----- RRC, PSM -----
  /** RRC connected now; the inactivity timer (or a release) returns to idle. */
  protected connect(): void {
    this.rrcConnected = true;
    this.cancelTimer('active-time');
    this.startTimer('inactivity', this.radio.inactivityMs, () => this.release());
    this.updateCurrent();
  }

  protected release(): void {
    if (!this.rrcConnected) return;
    this.rrcConnected = false;
    this.cancelTimer('inactivity');
    this.updateCurrent();
    this.startActiveTimer();
    if (this.psmRequested) this.connectionReleased();
  }

  /** T3324 and T3412 as the network granted them (or as requested), seconds. */
  grantedPsmTimers(): { activeSeconds: number; tauSeconds: number } {
    return {
      activeSeconds: this.radio.grantedActiveTimeSeconds ?? this.requestedActiveSeconds,
      tauSeconds: this.radio.grantedPeriodicTauSeconds ?? this.requestedTauSeconds,
    };
  }

  /** Release assistance given: the eNB releases the connection after its own short delay. */
  releaseSoon(): void {
    this.startTimer('inactivity', this.radio.releaseDelay(), () => this.release());
  }

  private startActiveTimer(): void {
    if (!this.psmRequested) return;
    const active = this.radio.grantedActiveTimeSeconds ?? this.requestedActiveSeconds;
    this.startTimer('active-time', active * 1000, () => this.tryEnterPsm());
  }

  /** Any host activity keeps an idle module awake a little (UART activity resets light sleep). */
  protected touchActivity(): void {
    if (this.power === 'on' && !this.rrcConnected && this.timers.has('active-time')) this.startActiveTimer();
  }

  private tryEnterPsm(): void {
    if (this.power !== 'on' || this.rrcConnected || !this.isRegistered()) return;
    if (!this.sleepAllowed()) {
      // Retried when sleep becomes allowed (BC66 AT+QSCLK=1).
      return;
    }
    this.enteringPsm();
    this.statistics.psmEntries++;
    this.power = 'psm';
    this.generation++;
    this.cancelAllTimers();
    this.clearSockets('psm');
    this.udp.close();
    this.current.setState('psm');
    const tau = this.radio.grantedPeriodicTauSeconds ?? this.requestedTauSeconds;
    if (tau > 0) {
      const generation = this.generation;
      this.clock.schedule(tau * 1000, () => {
        if (generation === this.generation && this.power === 'psm') this.periodicTau();
      });
    }
  }

  /** Called by dialects when sleep becomes allowed again. */
  protected sleepNowAllowed(): void {
    if (this.power === 'on' && !this.rrcConnected && this.psmRequested && !this.timers.has('active-time')) this.startActiveTimer();
  }

  /** T3412 ran out in PSM: a tracking area update (brief connection), then back to sleep. */
  private periodicTau(): void {
    this.power = 'on';
    this.generation++;
    this.transmitting = true;
    this.updateCurrent();
    this.later(this.radio.figures().connectionSetupMs + this.radio.uplinkAirtime(20), () => {
      this.transmitting = false;
      this.connect();
      this.release();
    });
  }

  protected exitPsm(): void {
    if (this.power !== 'psm') return;
    this.boot('psm-exit');
    this.registration = 1;
  }

  /** AT+CEDRXS=<mode>[,<AcT-type>[,<Requested_eDRX_value>]] (TS 27.007 §7.40); the model's network grants it. */
  requestEdrx(argument: string): boolean {
    const fields = argument.split(',').map((field) => field.replace(/"/g, ''));
    if (fields[0] === '0' || fields[0] === '3') this.edrxCycleMs = null;
    else if (fields[0] === '1' || fields[0] === '2') {
      if (fields[2] !== undefined) {
        const cycle = nbIotEdrxCycles[fields[2]];
        if (cycle === undefined) return false;
        this.edrxCycleMs = cycle;
      }
    } else return false;
    this.updateCurrent();
    return true;
  }

  /** Record what AT+CPSMS asked for (bit strings as in TS 27.007). */
  requestPsm(mode: number, tauBits: string | undefined, activeBits: string | undefined): boolean {
    if (mode === 0 || mode === 2) {
      this.psmRequested = false;
      this.cancelTimer('active-time');
      return true;
    }
    if (mode !== 1) return false;
    const tau = tauBits ? decodePeriodicTau(tauBits) : this.requestedTauSeconds;
    const active = activeBits ? decodeActiveTime(activeBits) : this.requestedActiveSeconds;
    if (tau === null || active === null) return false;
    this.psmRequested = true;
    this.requestedTauSeconds = tau;
    this.requestedActiveSeconds = active;
    if (!this.rrcConnected && this.isRegistered()) this.startActiveTimer();
    return true;
  }

  // ----- datagrams -----
  /**
   * Send a datagram (the dialect has validated the command). Returns false when the radio cannot
   * (not registered, stuck radio). Airtime, loss and duplication are applied here.
   */
  uplink(socketId: number, data: Uint8Array, destination: UdpEndpoint, release: ReleaseMode): boolean {
    if (!this.isRegistered() || this.functionality !== 1) return false;
    this.statistics.uplinkDatagrams++;
    const setup = this.rrcConnected ? 0 : this.radio.figures().connectionSetupMs;
    this.cancelTimer('active-time');
    this.rrcConnected = true;
    this.cancelTimer('inactivity');
    this.transmitting = true;
    this.updateCurrent();
    const airtime = this.radio.uplinkAirtime(data.length);
    this.later(setup + airtime, () => {
      this.transmitting = false;
      this.connect();
      const lost = this.radio.random.chance(this.radio.uplinkLoss);
      if (lost) this.statistics.uplinkLost++;
      else {
        this.later(this.radio.oneWayLatency(), () => {
          this.udp.send(socketId, data, destination);
          if (this.radio.random.chance(this.radio.duplicate)) {
            this.statistics.duplicated++;
            this.udp.send(socketId, data, destination);
          }
        });
      }
      if (release === 'send') this.releaseSoon();
      else if (release === 'reply') this.releaseAfterReply = true;
    });
    return true;
  }

  private realArrival(socketId: number, data: Uint8Array, from: UdpEndpoint): void {
    this.later(this.radio.oneWayLatency(), () => {
      if (this.power !== 'on') {
        this.statistics.downlinkUnreachable++;
        return;
      }
      if (this.radio.random.chance(this.radio.downlinkLoss)) {
        this.statistics.downlinkLost++;
        return;
      }
      if (this.rrcConnected) {
        this.presentArrival(socketId, data, from);
        return;
      }
      // In idle mode the network pages the module at its next paging occasion (DRX, or the eDRX cycle),
      // then the module connects to receive.
      const cycle = this.pagingCycleMs();
      const wait = cycle - (this.clock.now() % cycle) + this.radio.figures().connectionSetupMs;
      this.later(wait, () => {
        if (this.power === 'on') this.presentArrival(socketId, data, from);
        else this.statistics.downlinkUnreachable++;
      });
    });
  }

  private presentArrival(socketId: number, data: Uint8Array, from: UdpEndpoint): void {
    this.statistics.downlinkDatagrams++;
    if (!this.rrcConnected) this.connect();
    this.presentDownlink(socketId, data, from);
    if (this.releaseAfterReply) {
      this.releaseAfterReply = false;
      this.releaseSoon();
    }
  }

  /** Paging cycle in idle mode: the eDRX cycle when one was agreed, else DRX 2.56 s. */
  pagingCycleMs(): number {
    return this.edrxCycleMs ?? 2560;
  }

  // ----- current -----
  protected updateCurrent(): void {
    if (this.power === 'off' || this.power === 'reset') this.current.setState('off');
    else if (this.power === 'psm') this.current.setState('psm');
    else if (this.power === 'booting' || this.power === 'hung') this.current.setState('active');
    else if (this.transmitting) this.current.setState('transmitting', this.radio.coverageClass);
    else if (this.rrcConnected) this.current.setState('connected', this.radio.coverageClass);
    else if (this.functionality === 1 && this.registration === 2) this.current.setState('searching');
    else if (!this.sleepAllowed()) this.current.setState('active');
    else this.current.setState(this.edrxCycleMs !== null ? 'edrx' : 'idle');
  }

  // ----- timers -----
  protected startTimer(name: string, delay: number, action: () => void): void {
    this.cancelTimer(name);
    const id = this.clock.schedule(delay, () => {
      this.timers.delete(name);
      action();
    });
    this.timers.set(name, id);
  }

  protected cancelTimer(name: string): void {
    const id = this.timers.get(name);
    if (id !== undefined) {
      this.clock.cancel(id);
      this.timers.delete(name);
    }
  }

  private cancelAllTimers(): void {
    for (const id of this.timers.values()) this.clock.cancel(id);
    this.timers.clear();
  }

  // ----- 3GPP commands every dialect answers the same way (TS 27.007) -----
  /** Prefix as this dialect prints it: "+CSQ:" or "+CSQ: ". */
  protected tag(name: string): string {
    return name + (this.spaceAfterColon ? ': ' : ':');
  }

  /** Handle the 27.007 commands shared by all three; false when `command` is not one of them. */
  protected handleCommon(command: string): boolean {
    const upper = command.toUpperCase();
    const value = (prefix: string): string | null => (upper.startsWith(prefix) ? command.substring(prefix.length) : null);
    if (upper === 'AT') this.ok();
    else if (value('AT+CMEE=') !== null) this.ok();
    else if (upper === 'AT+CIMI') {
      if (this.functionality === 0) this.cmeError(this.spaceAfterColon ? 3 : 4);
      else this.reply([this.identityData.imsi]);
    } else if (upper === 'AT+CEREG?') this.reply([this.tag('+CEREG') + this.registrationUrcMode + ',' + (this.radioStuck ? 2 : this.registration)]);
    else if (value('AT+CEREG=') !== null) {
      const mode = parseInt(value('AT+CEREG=')!, 10);
      if (!(mode >= 0 && mode <= 5)) this.error();
      else {
        this.registrationUrcMode = mode;
        this.ok();
      }
    } else if (upper === 'AT+CFUN?') this.reply([this.tag('+CFUN') + this.functionality]);
    else if (value('AT+CFUN=') !== null) {
      const level = parseInt(value('AT+CFUN=')!, 10);
      if (level !== 0 && level !== 1) this.error();
      else this.later(level === 0 ? 500 : 200, () => {
        this.setFunctionality(level);
        this.emit('OK');
      });
    } else if (upper === 'AT+CGATT?') this.reply([this.tag('+CGATT') + (this.isRegistered() ? 1 : 0)]);
    else if (value('AT+CGATT=') !== null) {
      if (value('AT+CGATT=') === '1' && this.functionality === 1) this.startAttach();
      this.ok();
    } else if (upper === 'AT+CSQ') this.reply([this.tag('+CSQ') + (this.isRegistered() ? this.radio.csqIndex() : 99) + ',' + (this.spaceAfterColon ? '99' : '99')]);
    else if (upper === 'AT+CCLK?') {
      const time = this.clockText();
      this.reply([this.tag('+CCLK') + (this.quotedClock ? '"' + time + '"' : time)]);
    } else if (value('AT+CPSMS=') !== null) {
      const fields = value('AT+CPSMS=')!.split(',').map((field) => field.replace(/"/g, ''));
      if (this.requestPsm(parseInt(fields[0] ?? '', 10), fields[3] || undefined, fields[4] || undefined)) this.ok();
      else this.error();
    } else if (value('AT+CEDRXS=') !== null) {
      if (this.requestEdrx(value('AT+CEDRXS=')!)) this.ok();
      else this.error();
    } else return false;
    return true;
  }

  // ----- shared command helpers -----
  /** Network time as +CCLK text "yy/MM/dd,hh:mm:ss±zz" (local time, zone in quarter hours). */
  clockText(): string {
    const zone = this.radio.timeZoneQuarterHours;
    const epoch = this.radio.providesTime ? this.radio.networkEpochMs + this.clock.now() : Date.parse('2000-01-01T00:00:00Z') + this.clock.now();
    const local = new Date(epoch + zone * 15 * 60000);
    const two = (value: number): string => (value < 10 ? '0' : '') + value;
    const sign = zone < 0 ? '-' : '+';
    return (
      two(local.getUTCFullYear() % 100) + '/' + two(local.getUTCMonth() + 1) + '/' + two(local.getUTCDate()) + ',' +
      two(local.getUTCHours()) + ':' + two(local.getUTCMinutes()) + ':' + two(local.getUTCSeconds()) + sign + two(Math.abs(zone))
    );
  }

  /** Stop real sockets (end of a test). */
  close(): void {
    this.generation++;
    this.cancelAllTimers();
    this.udp.close();
  }
}
