/**
 * Quectel BG96 driver, NB-IoT mode, after the BG96 AT Commands Manual V2.2 and TCP/IP AT Commands Manual V1.0
 * (sections and what was checked: docs/modems.md, "Sources"). Those manuals document no release assistance
 * command, so the network's inactivity timer ends each connection.
 */
import { AtError } from './at-engine';
import { ModemBase, csqToDbm, delay, firstNumber, pulse, type ModemIdentity, type ModemIo, type ModemSignal } from './modem';
import { decimal, integer, parameters } from './text';

const connectId = '0';
const localPort = 56000;

export interface Bg96Options {
  /** Access point name for AT+QICSGP (empty: network default). */
  apn?: string;
}

export class Bg96Driver extends ModemBase {
  readonly model = 'BG96';
  protected readonly bootMilliseconds = 5000;
  protected readonly powerOnPulseMilliseconds = 500;
  private inPsm = false;
  private readonly apn: string;

  constructor(io: ModemIo, options?: Bg96Options) {
    super(io);
    this.apn = options && options.apn ? options.apn : '';
    this.engine.onUrc('+QIURC:', (line) => this.handleSocketUrc(line));
    // PSM Application Note V1.0 §3.6: POWER DOWN when PSM starts (with AT+QCFG="psm/urc",1).
    this.engine.onUrc('POWER DOWN', () => {
      this.inPsm = true;
      this.socketOpen = false;
    });
    this.engine.onUrc('RDY', () => {
      this.socketOpen = false;
    });
    // Start-up chatter after RDY that must not be taken for a command's response.
    const ignore = (): void => undefined;
    this.engine.onUrc('APP RDY', ignore);
    this.engine.onUrc('+CPIN:', ignore);
    this.engine.onUrc('+QUSIM:', ignore);
    this.engine.onUrc('+QIND:', ignore);
    this.engine.onUrc('+QPSMTIMER:', ignore);
  }

  protected dialectSetup(): Promise<void> {
    return this.command('AT+QCFG="iotopmode",1,1')
      .then(() => this.command('AT+QCFG="psm/urc",1'))
      .then(() => undefined);
  }

  protected readIdentity(): Promise<ModemIdentity> {
    let imei = '';
    let iccid = '';
    return this.command('AT+GSN')
      .then((response) => {
        imei = firstNumber(response.lines);
        return this.command('AT+QCCID', { expect: '+QCCID:' });
      })
      .then((response) => {
        iccid = parameters(response.lines[0] || '', '+QCCID:')[0] || '';
        return this.command('AT+CIMI');
      })
      .then((response) => ({ imei, iccid, imsi: firstNumber(response.lines) }));
  }

  /** Registration, then the PDP context: AT+QIACT can take up to 150 s on a slow network. */
  override attach(timeoutMilliseconds: number): Promise<void> {
    return super
      .attach(timeoutMilliseconds)
      .then(() => this.command('AT+QICSGP=1,1,"' + this.apn + '","","",1'))
      .then(() => this.command('AT+QIACT?', { expect: '+QIACT:' }))
      .then((response) => (response.lines.length > 0 ? undefined : this.command('AT+QIACT=1', { timeout: 150000 }).then(() => undefined)));
  }

  signal(): Promise<ModemSignal> {
    const result: ModemSignal = { rssi: null, rsrp: null, sinr: null, coverageClass: null };
    return this.command('AT+QCSQ', { expect: '+QCSQ:' })
      .then((response) => {
        // +QCSQ: "CAT-NB1",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq> (LTE modes only have 4 values); SINR in
        // 1/5 dB, 0..250 for -20..+30 dB.
        const fields = parameters(response.lines[0] || '', '+QCSQ:');
        if (fields.length >= 5) {
          result.rssi = integer(fields[1]);
          result.rsrp = integer(fields[2]);
          const sinr = integer(fields[3]);
          result.sinr = isNaN(sinr) ? null : sinr / 5 - 20;
          return undefined;
        }
        return this.command('AT+CSQ', { expect: '+CSQ:' }).then((csq) => {
          result.rssi = csqToDbm(integer(parameters(csq.lines[0] || '', '+CSQ:')[0]));
        });
      })
      .then(() => this.command('AT+QCFG="celevel"', { expect: '+QCFG:' }))
      .then((response) => {
        const level = integer(parameters(response.lines[0] || '', '+QCFG:')[1]);
        result.coverageClass = isNaN(level) ? null : level;
        return result;
      });
  }

  openUdp(host: string, port: number): Promise<void> {
    this.remoteHost = host;
    this.remotePort = port;
    return this.command('AT+QICLOSE=' + connectId, { timeout: 2000 })
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() =>
        this.command('AT+QIOPEN=1,' + connectId + ',"UDP SERVICE","127.0.0.1",0,' + decimal(localPort) + ',0', {
          completeOn: '+QIOPEN:',
          timeout: 150000,
        }),
      )
      .then((response) => {
        const result = integer(parameters(response.final, '+QIOPEN:')[1]);
        if (result !== 0) throw new AtError('failure', 'AT+QIOPEN', 'socket open failed: ' + response.final, isNaN(result) ? null : result);
        this.socketOpen = true;
      });
  }

  /** No release assistance on the BG96 (see above): `releaseAfter` is accepted and has no effect. */
  sendDatagram(data: Uint8Array): Promise<void> {
    if (!this.socketOpen) return Promise.reject(new AtError('invalid', 'AT+QISEND', 'no socket open'));
    return this.command('AT+QISEND=' + connectId + ',' + decimal(data.length) + ',"' + this.remoteHost + '",' + decimal(this.remotePort), {
      payload: data,
      completeOn: 'SEND OK',
      failOn: ['SEND FAIL'],
      timeout: 10000,
    }).then(() => undefined);
  }

  private handleSocketUrc(line: string): void {
    const fields = parameters(line, '+QIURC:');
    if (fields[0] === 'recv' && fields[1] === connectId) this.readBuffered();
    else if (fields[0] === 'closed' || fields[0] === 'pdpdeact') this.socketOpen = false;
  }

  /** Read datagrams until the buffer is empty: no new "recv" URC comes while data are left in it. */
  private readBuffered(): void {
    this.command('AT+QIRD=' + connectId, {
      expect: '+QIRD:',
      timeout: 1000,
      rawLength: (line) => {
        const length = integer(parameters(line, '+QIRD:')[0]);
        return isNaN(length) ? 0 : length;
      },
    }).then(
      (response) => {
        const fields = parameters(response.lines[0] || '', '+QIRD:');
        const length = integer(fields[0]);
        if (!(length > 0) || !response.raw) return;
        this.deliver(response.raw, fields[1] || '', integer(fields[2]));
        this.readBuffered();
      },
      () => undefined,
    );
  }

  /** PSM is entered by the module when T3324 runs out (URC POWER DOWN). */
  sleep(): Promise<void> {
    return Promise.resolve();
  }

  sleeping(): boolean {
    return this.inPsm;
  }

  /** Out of PSM by the PSM wake line (or PWRKEY); the module restarts its application side, so reconfigure. */
  wake(): Promise<void> {
    const pin = this.io.psmWake || this.io.powerKey;
    const wakeUp = pin ? pulse(this.clock, pin, pin.pulseMilliseconds || 500) : Promise.resolve();
    return wakeUp
      .then(() => delay(this.clock, 300))
      .then(() => this.waitForAnswer(10000))
      .then(() => {
        this.inPsm = false;
        return this.configureBasics();
      })
      .then(() => (this.socketOpen || !this.remoteHost ? undefined : this.openUdp(this.remoteHost, this.remotePort)));
  }

  protected override powerKeyOff(): Promise<void> {
    // BG96 Hardware Design: PWRKEY low for >= 650 ms switches the module off.
    return pulse(this.clock, this.io.powerKey!, 800);
  }

  powerOff(): Promise<void> {
    this.socketOpen = false;
    return this.command('AT+QPOWD=1', { completeOn: 'POWERED DOWN', timeout: 65000 }).then(() => undefined);
  }
}
