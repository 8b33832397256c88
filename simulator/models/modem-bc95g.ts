/**
 * Quectel BC95-G model (Huawei Boudica firmware dialect), after the Quectel BC95-G&BC68 AT Commands Manual V1.2:
 * no space after the colon in information responses (+CSQ:31,99, +CEREG:0,1), sockets by AT+NSOCR,
 * hex payloads in AT+NSOST / AT+NSOSTF (flags 0x200 / 0x400: release after the uplink / after its reply),
 * arrivals announced by +NSONMI:<socket>,<length> and read by AT+NSORF, +NPSMR:<1|0> around PSM,
 * the Neul boot banner. The module powers up with VBAT (no power key on the boards that carry it); UART
 * activity wakes it from PSM and the bytes that woke it are lost.
 */
import type { UdpEndpoint } from '../radio/udp-bridge';
import { currentProfiles } from '../radio/current-model';
import { ModemModelCore, type ModemModelOptions, type ReleaseMode } from './modem-core';

interface Bc95Socket {
  port: number;
  queue: Array<{ data: Uint8Array; from: UdpEndpoint }>;
}

const hexPattern = /^[0-9A-Fa-f]*$/;

export class Bc95gModel extends ModemModelCore {
  protected readonly spaceAfterColon = false;
  protected readonly wakesOnUart = true;
  protected readonly defaultCmeCode = 159;
  private sockets = new Map<number, Bc95Socket>();
  private psmReports = false;

  constructor(options: ModemModelOptions) {
    super({ poweredAtStart: true, ...options }, currentProfiles['BC95-G'], {
      imei: '863703031234567',
      iccid: '89860317452000012345',
      imsi: '460111174123456',
    });
  }

  protected bootDuration(reason: 'power-on' | 'reset' | 'psm-exit'): number {
    return reason === 'psm-exit' ? 30 : 2600;
  }

  protected bootSequence(reason: 'power-on' | 'reset' | 'psm-exit'): Array<[number, string]> {
    if (reason === 'psm-exit') return [];
    const cause = reason === 'reset' ? 'REBOOT_CAUSE_SECURITY_RESET_PIN' : 'REBOOT_CAUSE_APPLICATION_AT';
    return [
      [1800, 'Boot: Unsigned'],
      [1850, 'Security B.. Verified'],
      [1900, 'Protocol A.. Verified'],
      [1950, 'Apps A...... Verified'],
      [2500, cause],
      [2550, 'Neul '],
      [2560, 'OK'],
    ];
  }

  protected registrationUrc(status: number): string {
    return '+CEREG:' + status;
  }

  /** Sockets the module holds now (tests: an MCU reset must not leave any behind). */
  socketIds(): number[] {
    return [...this.sockets.keys()].sort((a, b) => a - b);
  }

  protected clearSockets(reason: 'restart' | 'psm'): void {
    // Sockets survive PSM on this module; a restart loses them.
    if (reason === 'restart') this.sockets.clear();
  }

  protected override enteringPsm(): void {
    if (this.psmReports) this.emit('+NPSMR:1');
  }

  protected override leftPsm(): void {
    if (this.psmReports) this.emit('+NPSMR:0');
  }

  protected handleCommand(command: string): void {
    if (this.handleCommon(command)) return;
    const upper = command.toUpperCase();
    const equals = command.indexOf('=');
    const name = (equals >= 0 ? command.substring(0, equals) : command).toUpperCase();
    const argument = equals >= 0 ? command.substring(equals + 1) : '';
    const fields = argument.split(',');
    switch (name) {
      case 'ATI':
        return this.reply(['Quectel', 'BC95-G', 'Revision:BC95GJBR01A08']);
      case 'AT+CGSN':
        return argument === '1' ? this.reply(['+CGSN:' + this.identityData.imei]) : this.error();
      case 'AT+NCCID':
        return this.reply(['+NCCID:' + this.identityData.iccid]);
      case 'AT+NPSMR':
        this.psmReports = argument === '1';
        return this.ok();
      case 'AT+NBAND':
      case 'AT+NCONFIG':
      case 'AT+NSONMI':
        return upper.endsWith('?') ? this.reply([]) : this.ok();
      case 'AT+NUESTATS':
        return this.nuestats();
      case 'AT+NRB':
        this.reply([], 'REBOOTING');
        this.later(this.responseDelayMs + 50, () => this.boot('power-on'));
        return;
      case 'AT+NSOCR':
        return this.createSocket(fields);
      case 'AT+NSOST':
        return this.sendTo(fields[0], fields[1], fields[2], fields[3], fields[4], null);
      case 'AT+NSOSTF':
        return this.sendTo(fields[0], fields[1], fields[2], fields[4], fields[5], this.releaseFlag(fields[3]));
      case 'AT+NSORF':
        return this.receiveFrom(fields);
      case 'AT+NSOCL': {
        const socket = parseInt(fields[0] ?? '', 10);
        if (!this.sockets.delete(socket)) return this.error();
        this.udp.closeSocket(socket);
        return this.ok();
      }
      default:
        return this.error();
    }
  }

  private nuestats(): void {
    const figures = this.radio.figures();
    const registered = this.isRegistered();
    this.reply([
      'Signal power:' + (registered ? figures.rsrpDbm * 10 : -32768),
      'Total power:' + (registered ? figures.rssiDbm * 10 : -32768),
      'TX power:' + (this.radio.coverageClass === 0 ? 120 : 230),
      'TX time:' + Math.round(this.current.durations().transmitting),
      'RX time:' + Math.round(this.current.durations().connected),
      'Cell ID:' + 12345678,
      'ECL:' + (registered ? this.radio.coverageClass : 255),
      'SNR:' + (registered ? figures.sinrDb * 10 : -32768),
      'EARFCN:' + 3686,
      'PCI:' + 302,
      'RSRQ:' + -108,
    ]);
  }

  private createSocket(fields: string[]): void {
    const [type, protocol, portText] = fields;
    const port = parseInt(portText ?? '', 10);
    if (type !== 'DGRAM' || protocol !== '17' || !(port >= 0 && port <= 65535)) return this.error();
    for (const socket of this.sockets.values()) if (socket.port === port && port !== 0) return this.error();
    for (let id = 0; id < 7; id++) {
      if (!this.sockets.has(id)) {
        this.sockets.set(id, { port, queue: [] });
        return this.reply([String(id)]);
      }
    }
    this.error();
  }

  private releaseFlag(flag: string | undefined): ReleaseMode | undefined {
    if (flag === '0x200') return 'send';
    if (flag === '0x400') return 'reply';
    if (flag === '0' || flag === '0x000') return null;
    return undefined;
  }

  private sendTo(
    socketText: string | undefined,
    host: string | undefined,
    portText: string | undefined,
    lengthText: string | undefined,
    hex: string | undefined,
    release: ReleaseMode | undefined,
  ): void {
    const socket = parseInt(socketText ?? '', 10);
    const port = parseInt(portText ?? '', 10);
    const length = parseInt(lengthText ?? '', 10);
    if (release === undefined || !this.sockets.has(socket) || !host || !(port > 0 && port < 65536)) return this.error();
    if (hex === undefined || !hexPattern.test(hex) || hex.length !== length * 2 || !(length > 0 && length <= 512)) return this.error();
    if (!this.isRegistered()) return this.cmeError(this.defaultCmeCode);
    const data = Uint8Array.from(Buffer.from(hex, 'hex'));
    if (!this.uplink(socket, data, { host, port }, release)) return this.cmeError(this.defaultCmeCode);
    this.reply([socket + ',' + length]);
  }

  protected presentDownlink(socketId: number, data: Uint8Array, from: UdpEndpoint): void {
    const socket = this.sockets.get(socketId);
    if (!socket) return;
    socket.queue.push({ data, from });
    this.emit('+NSONMI:' + socketId + ',' + data.length);
  }

  private receiveFrom(fields: string[]): void {
    const socketId = parseInt(fields[0] ?? '', 10);
    const requested = parseInt(fields[1] ?? '', 10);
    const socket = this.sockets.get(socketId);
    if (!socket || !(requested > 0)) return this.error();
    const next = socket.queue[0];
    if (!next) return this.ok();
    const take = Math.min(requested, next.data.length);
    const part = next.data.subarray(0, take);
    const remaining = next.data.length - take;
    if (remaining > 0) next.data = next.data.subarray(take);
    else socket.queue.shift();
    const hex = Buffer.from(part).toString('hex').toUpperCase();
    this.reply([socketId + ',' + next.from.host + ',' + next.from.port + ',' + take + ',' + hex + ',' + remaining]);
  }
}
