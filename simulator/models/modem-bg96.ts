/**
 * Quectel BG96 model in NB-IoT (Cat NB1) mode, after the Quectel BG96 AT Commands Manual and the BG96 TCP/IP
 * Application Note: the RDY ... APP RDY boot banner, PWRKEY on (>= 100 ms) and off (>= 650 ms, "POWERED DOWN"),
 * AT+QICSGP/AT+QIACT context activation, AT+QIOPEN "UDP SERVICE" answered by OK then +QIOPEN: <id>,<err>,
 * AT+QISEND=<id>,<len>,"<ip>",<port> with the "> " prompt and raw bytes then SEND OK / SEND FAIL, buffer
 * access mode: +QIURC: "recv",<id> (only when the buffer was empty) and AT+QIRD giving
 * +QIRD: <len>,"<ip>",<port> CRLF <bytes>, AT+QCSQ and AT+QCFG="celevel", "PSM POWER DOWN" with
 * AT+QCFG="psm/urc",1. UART bytes do not wake it from PSM: the PSM wake line or PWRKEY does, and the
 * application side restarts (banner again, sockets gone, PDP context kept).
 */
import type { UdpEndpoint } from '../radio/udp-bridge';
import { currentProfiles } from '../radio/current-model';
import { ModemModelCore, type ModemModelOptions } from './modem-core';
import { parameters } from '../../firmware/modem/text';

interface Bg96Socket {
  localPort: number;
  buffer: Array<{ data: Uint8Array; from: UdpEndpoint }>;
}

export class Bg96Model extends ModemModelCore {
  protected readonly spaceAfterColon = true;
  protected readonly wakesOnUart = false;
  protected readonly defaultCmeCode = 3;
  protected override readonly quotedClock = true;
  protected override readonly psmExitRestartsApplication = true;
  protected override readonly powerOnPressMs = 100;
  private sockets = new Map<number, Bg96Socket>();
  private contextActive = false;
  private psmUrc = false;

  constructor(options: ModemModelOptions) {
    super(options, currentProfiles.BG96, {
      imei: '866834041234567',
      iccid: '89314404000123456789',
      imsi: '204080123456789',
    });
  }

  protected bootDuration(reason: 'power-on' | 'reset' | 'psm-exit'): number {
    return reason === 'psm-exit' ? 2000 : 4800;
  }

  protected bootSequence(reason: 'power-on' | 'reset' | 'psm-exit'): Array<[number, string]> {
    const rdy = this.bootDuration(reason);
    return [
      [rdy, 'RDY'],
      [rdy + 100, '+CFUN: 1'],
      [rdy + 200, '+CPIN: READY'],
      [rdy + 300, '+QUSIM: 1'],
      [rdy + 1500, 'APP RDY'],
    ];
  }

  protected registrationUrc(status: number): string {
    return '+CEREG: ' + status;
  }

  protected clearSockets(reason: 'restart' | 'psm'): void {
    for (const id of this.sockets.keys()) this.udp.closeSocket(id);
    this.sockets.clear();
    if (reason === 'restart') {
      this.contextActive = false;
      this.psmUrc = false;
    }
  }

  protected override enteringPsm(): void {
    if (this.psmUrc) this.emit('PSM POWER DOWN');
  }

  protected handleCommand(command: string): void {
    if (this.handleCommon(command)) return;
    const equals = command.indexOf('=');
    const name = (equals >= 0 ? command.substring(0, equals) : command).toUpperCase();
    const argument = equals >= 0 ? command.substring(equals + 1) : '';
    const fields = parameters(argument);
    switch (name) {
      case 'ATI':
        return this.reply(['Quectel', 'BG96', 'Revision: BG96MAR02A07M1G']);
      case 'AT+GSN':
      case 'AT+CGSN':
        return this.reply([this.identityData.imei]);
      case 'AT+QCCID':
        return this.reply(['+QCCID: ' + this.identityData.iccid]);
      case 'AT+QCFG':
        return this.configure(fields);
      case 'AT+QCSQ': {
        if (!this.isRegistered()) return this.reply(['+QCSQ: "NOSERVICE"']);
        const figures = this.radio.figures();
        return this.reply(['+QCSQ: "NBIoT",' + figures.rssiDbm + ',' + figures.rsrpDbm + ',' + (figures.sinrDb + 20) * 5 + ',-10']);
      }
      case 'AT+QICSGP':
        return this.ok();
      case 'AT+QIACT?':
        return this.reply(this.contextActive ? ['+QIACT: 1,1,1,"10.76.12.9"'] : []);
      case 'AT+QIACT':
        if (!this.isRegistered()) return this.reply([], 'ERROR', 3000);
        this.contextActive = true;
        return this.reply([], 'OK', 1200);
      case 'AT+QIOPEN':
        return this.open(fields);
      case 'AT+QISEND':
        return this.send(fields);
      case 'AT+QIRD':
        return this.read(fields);
      case 'AT+QICLOSE': {
        const id = parseInt(argument, 10);
        if (!this.sockets.delete(id)) return this.error();
        this.udp.closeSocket(id);
        return this.ok();
      }
      case 'AT+CNMPSD':
        this.ok();
        if (this.rrcConnected) this.releaseSoon();
        return;
      case 'AT+QPOWD':
        this.reply([]);
        this.later(this.responseDelayMs + 300, () => this.switchOff('POWERED DOWN'));
        return;
      default:
        return this.error();
    }
  }

  private configure(fields: string[]): void {
    const item = fields[0];
    if (item === 'celevel') return this.reply(['+QCFG: "celevel",' + this.radio.coverageClass]);
    if (item === 'psm/urc') {
      if (fields.length === 1) return this.reply(['+QCFG: "psm/urc",' + (this.psmUrc ? 1 : 0)]);
      this.psmUrc = fields[1] === '1';
      return this.ok();
    }
    if (item === 'iotopmode' || item === 'nwscanseq' || item === 'band' || item === 'nwscanmode') return this.ok();
    this.error();
  }

  private open(fields: string[]): void {
    const id = parseInt(fields[1] ?? '', 10);
    const localPort = parseInt(fields[5] ?? '', 10);
    if (fields[0] !== '1' || !(id >= 0 && id <= 11) || fields[2] !== 'UDP SERVICE' || !(localPort >= 0 && localPort < 65536)) {
      return this.error();
    }
    let result = 0;
    if (this.sockets.has(id)) result = 563;
    else if (!this.contextActive || !this.isRegistered()) result = 561;
    else this.sockets.set(id, { localPort, buffer: [] });
    this.reply([]);
    this.reply([], '+QIOPEN: ' + id + ',' + result, 200);
  }

  private send(fields: string[]): void {
    const id = parseInt(fields[0] ?? '', 10);
    const length = parseInt(fields[1] ?? '', 10);
    const host = fields[2];
    const port = parseInt(fields[3] ?? '', 10);
    if (!this.sockets.has(id) || !(length > 0 && length <= 1460) || !host || !(port > 0 && port < 65536)) return this.error();
    this.expectData(length, '> ', (data) => {
      const sent = this.uplink(id, data, { host, port }, null);
      this.reply([], sent ? 'SEND OK' : 'SEND FAIL', 20);
    });
  }

  protected presentDownlink(socketId: number, data: Uint8Array, from: UdpEndpoint): void {
    const socket = this.sockets.get(socketId);
    if (!socket) return;
    socket.buffer.push({ data, from });
    if (socket.buffer.length === 1) this.emit('+QIURC: "recv",' + socketId);
  }

  private read(fields: string[]): void {
    const id = parseInt(fields[0] ?? '', 10);
    const socket = this.sockets.get(id);
    if (!socket) return this.error();
    if (fields[1] === '0') {
      const unread = socket.buffer.reduce((sum, entry) => sum + entry.data.length, 0);
      return this.reply(['+QIRD: ' + unread + ',0,' + unread]);
    }
    const next = socket.buffer.shift();
    if (!next) return this.reply(['+QIRD: 0']);
    this.later(this.responseDelayMs, () => {
      this.emit('+QIRD: ' + next.data.length + ',"' + next.from.host + '",' + next.from.port);
      this.emitRaw(next.data);
      this.emitRaw(Uint8Array.from([13, 10]));
      this.emit('OK');
    });
  }
}
