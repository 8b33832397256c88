/**
 * Quectel BG96 model in NB-IoT (Cat NB1) mode. Checked against the text of (docs/modems.md, "Sources"):
 * BG96 AT Commands Manual V2.2 (2018-09-25), BG96 TCP/IP AT Commands Manual V1.0 (2017-11-23), BG96 PSM
 * Application Note V1.0 (2018-04-23) and BG96 Hardware Design V1.3. Boot URCs RDY, +CFUN: 1, +CPIN: READY,
 * +QIND: SMS DONE (AT manual §12.7; "APP RDY" after them is from module logs, not the manual); PWRKEY on
 * >= 500 ms, off >= 650 ms (Hardware Design §3.6.1, §3.6.2.1), AT+QPOWD: OK then POWERED DOWN (§11.1);
 * AT+QICSGP/AT+QIACT (TCP/IP §2.1.1, §2.1.2); AT+QIOPEN "UDP SERVICE": OK then +QIOPEN: <id>,<err>, 561
 * when no context is active, 563 when the id is in use (§2.1.4, Chapter 4); AT+QISEND=<id>,<len>,"<ip>",
 * <port>, the prompt, raw bytes, SEND OK (§2.1.7); buffer access mode: +QIURC: "recv",<id> only when the
 * buffer was empty, AT+QIRD giving +QIRD: <len>,"<ip>",<port> CRLF <bytes> (§2.1.8, §2.2.2); AT+QCSQ
 * "CAT-NB1" with SINR in 1/5 dB from -20 dB (§6.18); AT+QCFG="celevel" (§4.2.6); AT+QCFG="psm/urc",1:
 * +QPSMTIMER: <tau>,<active> when the connection is released (§4.2.9) and POWER DOWN when PSM starts (PSM
 * Application Note §3.6 example). No release assistance command: AT+CNMPSD is in none of these manuals, so
 * it answers ERROR. UART bytes do not wake it from PSM; PWRKEY does (PSM Application Note §4, Hardware
 * Design §3.4.2; the boards' PSM wake line is modelled the same way), and the application side restarts
 * (banner again, sockets gone, PDP context kept).
 */
import type { UdpEndpoint } from '../radio/udp-bridge';
import { currentProfiles } from '../radio/current-model';
import { ModemModelCore, type ModemModelOptions } from './modem-core';
import { parameters } from '../../firmware/modem/text';

interface Bg96Socket {
  localPort: number;
  buffer: Array<{ data: Uint8Array; from: UdpEndpoint }>;
  /** Bytes received and bytes read, for AT+QIRD=<id>,0. */
  received: number;
  read: number;
}

export class Bg96Model extends ModemModelCore {
  protected readonly spaceAfterColon = true;
  protected readonly wakesOnUart = false;
  protected readonly defaultCmeCode = 3;
  protected override readonly quotedClock = true;
  protected override readonly psmExitRestartsApplication = true;
  protected override readonly powerOnPressMs = 500;
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
      [rdy + 300, '+QIND: SMS DONE'],
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

  protected override connectionReleased(): void {
    const timers = this.grantedPsmTimers();
    if (this.psmUrc) this.emit('+QPSMTIMER: ' + timers.tauSeconds + ',' + timers.activeSeconds);
  }

  protected override enteringPsm(): void {
    if (this.psmUrc) this.emit('POWER DOWN');
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
        return this.reply(['+QCSQ: "CAT-NB1",' + figures.rssiDbm + ',' + figures.rsrpDbm + ',' + (figures.sinrDb + 20) * 5 + ',-10']);
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
    else this.sockets.set(id, { localPort, buffer: [], received: 0, read: 0 });
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
    socket.received += data.length;
    if (socket.buffer.length === 1) this.emit('+QIURC: "recv",' + socketId);
  }

  private read(fields: string[]): void {
    const id = parseInt(fields[0] ?? '', 10);
    const socket = this.sockets.get(id);
    if (!socket) return this.error();
    if (fields[1] === '0') return this.reply(['+QIRD: ' + socket.received + ',' + socket.read + ',' + (socket.received - socket.read)]);
    const next = socket.buffer.shift();
    if (!next) return this.reply(['+QIRD: 0']);
    socket.read += next.data.length;
    this.later(this.responseDelayMs, () => {
      this.emit('+QIRD: ' + next.data.length + ',"' + next.from.host + '",' + next.from.port);
      this.emitRaw(next.data);
      this.emitRaw(Uint8Array.from([13, 10]));
      this.emit('OK');
    });
  }
}
