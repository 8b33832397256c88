/**
 * Quectel BC66 model. Sources (docs/modems.md, "Sources"): the BC66 AT Commands Manual V1.0 by name and its
 * contents; the command shapes were checked line by line against the BC660K-GL AT Commands Manual V1.4 (its
 * successor on the same command set: §4.8 AT+QENG, §9.3 AT+CFUN ... RDY, §9.7 AT+QNBIOTRAI, §9.8
 * AT+QNBIOTEVENT, §9.10 AT+QSCLK) and, where the BC66 differs, against BC66 driver code (AT+QIOPEN
 * <contextID> 1, AT+QNBIOTRAI 0-2). "+CSQ: 31,99" style (space after the colon), AT+QSCLK sleep control
 * (default 1: the module sleeps whenever it can; PSM_EINT or UART activity wakes it, the waking bytes being
 * lost), AT+QICFG "dataformat" hex payloads, AT+QIOPEN answered by OK then +QIOPEN: <id>,<err>, AT+QISEND
 * answered by OK then SEND OK, arrivals pushed as +QIURC: "recv",<id>,<len>,"<hex>", +QNBIOTEVENT:
 * "ENTER PSM"/"EXIT PSM". Sockets are forgotten in PSM and on restart.
 */
import { currentProfiles } from '../radio/current-model';
import { ModemModelCore, type ModemModelOptions, type ReleaseMode } from './modem-core';
import { parameters } from '../../firmware/modem/text';

interface Bc66Socket {
  host: string;
  port: number;
}

export class Bc66Model extends ModemModelCore {
  protected readonly spaceAfterColon = true;
  protected readonly wakesOnUart = true;
  protected readonly defaultCmeCode = 3;
  protected override readonly powerOnPressMs = 500;
  private sockets = new Map<number, Bc66Socket>();
  private sleepMode = 1;
  private hexData = false;
  private events = false;
  private releaseAssistance = 0;

  constructor(options: ModemModelOptions) {
    super(options, currentProfiles.BC66, {
      imei: '866425031234567',
      iccid: '89882280666027595890',
      imsi: '901405101234567',
    });
  }

  protected bootDuration(reason: 'power-on' | 'reset' | 'psm-exit'): number {
    return reason === 'psm-exit' ? 60 : 1200;
  }

  protected bootSequence(reason: 'power-on' | 'reset' | 'psm-exit'): Array<[number, string]> {
    return reason === 'psm-exit' ? [] : [[1150, 'RDY']];
  }

  protected registrationUrc(status: number): string {
    return '+CEREG: ' + status;
  }

  protected clearSockets(): void {
    for (const id of this.sockets.keys()) this.udp.closeSocket(id);
    this.sockets.clear();
    if (this.power !== 'psm') {
      this.sleepMode = 1;
      this.hexData = false;
      this.events = false;
      this.releaseAssistance = 0;
    }
  }

  protected override sleepAllowed(): boolean {
    return this.sleepMode !== 0;
  }

  protected override enteringPsm(): void {
    if (this.events) this.emit('+QNBIOTEVENT: "ENTER PSM"');
  }

  protected override leftPsm(): void {
    if (this.events) this.emit('+QNBIOTEVENT: "EXIT PSM"');
  }

  protected handleCommand(command: string): void {
    if (this.handleCommon(command)) return;
    const equals = command.indexOf('=');
    const name = (equals >= 0 ? command.substring(0, equals) : command).toUpperCase();
    const argument = equals >= 0 ? command.substring(equals + 1) : '';
    const fields = parameters(argument);
    switch (name) {
      case 'ATI':
        return this.reply(['Quectel_Ltd', 'Quectel_BC66', 'Revision: BC66NBR01A07']);
      case 'AT+CGSN':
        return argument === '1' ? this.reply(['+CGSN: ' + this.identityData.imei]) : this.error();
      case 'AT+QCCID':
        return this.reply(['+QCCID: ' + this.identityData.iccid]);
      case 'AT+QSCLK': {
        const mode = parseInt(argument, 10);
        if (!(mode >= 0 && mode <= 2)) return this.error();
        this.sleepMode = mode;
        this.ok();
        this.updateCurrent();
        if (mode !== 0) this.sleepNowAllowed();
        return;
      }
      case 'AT+QICFG':
        if (fields[0] !== 'dataformat') return this.error();
        this.hexData = fields[1] === '1' && fields[2] === '1';
        return this.ok();
      case 'AT+QNBIOTEVENT':
        this.events = fields[0] === '1';
        return this.ok();
      case 'AT+QNBIOTRAI': {
        const value = parseInt(argument, 10);
        if (!(value >= 0 && value <= 2)) return this.error();
        this.releaseAssistance = value;
        return this.ok();
      }
      case 'AT+QENG':
        return argument === '0' ? this.engineering() : this.error();
      case 'AT+QIOPEN':
        return this.open(fields);
      case 'AT+QISEND':
        return this.send(fields);
      case 'AT+QICLOSE': {
        const id = parseInt(argument, 10);
        if (!this.sockets.delete(id)) return this.error();
        this.udp.closeSocket(id);
        this.reply([]);
        return this.reply([], 'CLOSE OK', 20);
      }
      case 'AT+QPOWD':
        this.reply([]);
        this.later(this.responseDelayMs + 100, () => this.switchOff(null));
        return;
      default:
        return this.error();
    }
  }

  private engineering(): void {
    const figures = this.radio.figures();
    if (!this.isRegistered()) return this.reply(['+QENG: 0,0,0,0,"",0,0,0,0,0,"",255,0,0']);
    this.reply([
      '+QENG: 0,3686,12,302,"00BC6B14",' + figures.rsrpDbm + ',-10,' + figures.rssiDbm + ',' + figures.sinrDb + ',8,"2B84",' +
        this.radio.coverageClass + ',' + (this.radio.coverageClass === 0 ? 12 : 23) + ',2',
    ]);
  }

  private open(fields: string[]): void {
    const id = parseInt(fields[1] ?? '', 10);
    const port = parseInt(fields[4] ?? '', 10);
    // <contextID> 1 (the BC660K's 0 is refused here, as the BC66 refuses it).
    if (fields[0] !== '1' || !(id >= 0 && id <= 4) || fields[2] !== 'UDP' || !fields[3] || !(port > 0 && port < 65536)) return this.error();
    let result = 0;
    if (this.sockets.has(id)) result = 563;
    else if (!this.isRegistered()) result = 550;
    else this.sockets.set(id, { host: fields[3], port });
    this.reply([]);
    this.reply([], '+QIOPEN: ' + id + ',' + result, 150);
  }

  private send(fields: string[]): void {
    const id = parseInt(fields[0] ?? '', 10);
    const length = parseInt(fields[1] ?? '', 10);
    const hex = fields[2] ?? '';
    const socket = this.sockets.get(id);
    if (!socket || !this.hexData || !(length > 0 && length <= 512) || hex.length !== length * 2 || !/^[0-9A-Fa-f]+$/.test(hex)) {
      return this.error();
    }
    const release: ReleaseMode = this.releaseAssistance === 1 ? 'send' : this.releaseAssistance === 2 ? 'reply' : null;
    const sent = this.uplink(id, Uint8Array.from(Buffer.from(hex, 'hex')), socket, release);
    this.reply([]);
    this.reply([], sent ? 'SEND OK' : 'SEND FAIL', 50);
  }

  protected presentDownlink(socketId: number, data: Uint8Array): void {
    if (!this.sockets.has(socketId)) return;
    const hex = Buffer.from(data).toString('hex').toUpperCase();
    this.emit('+QIURC: "recv",' + socketId + ',' + data.length + ',"' + hex + '"');
  }
}
