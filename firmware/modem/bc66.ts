/**
 * Quectel BC66 driver. Sources and what was checked against them: docs/modems.md ("Sources").
 * Payloads travel as hex both ways (dataformat 1,1); received data arrive inline in +QIURC (direct push).
 * Sleep must be disabled (AT+QSCLK=0) while commanding, or the module looks hung between commands.
 */
import { AtError } from './at-engine';
import { ModemBase, delay, firstNumber, pulse, type ModemIdentity, type ModemIo, type ModemSignal, type ReleaseAfter } from './modem';
import { decimal, fromHex, integer, parameters, toHex } from './text';

/** AT+QNBIOTRAI <rai>: 0 no information, 1 one uplink and no downlink expected, 2 one uplink and one downlink. */
const raiValues = { none: '0', send: '1', reply: '2' };
const connectId = '0';

export class Bc66Driver extends ModemBase {
  readonly model = 'BC66';
  protected readonly bootMilliseconds = 1500;
  protected readonly powerOnPulseMilliseconds = 600;
  private inPsm = false;
  private releaseSetting = raiValues.none;

  constructor(io: ModemIo) {
    super(io);
    this.engine.onUrc('+QIURC:', (line) => this.handleSocketUrc(line));
    this.engine.onUrc('+QNBIOTEVENT:', (line) => {
      const entered = line.indexOf('ENTER PSM') >= 0;
      this.inPsm = entered;
      // Sockets do not survive deep sleep: the module forgets them.
      if (entered) this.socketOpen = false;
    });
  }

  protected dialectSetup(): Promise<void> {
    this.releaseSetting = raiValues.none;
    return this.command('AT+QSCLK=0')
      .then(() => this.command('AT+QICFG="dataformat",1,1'))
      .then(() => this.command('AT+QNBIOTEVENT=1,1'))
      .then(() => undefined);
  }

  protected readIdentity(): Promise<ModemIdentity> {
    let imei = '';
    let iccid = '';
    return this.command('AT+CGSN=1', { expect: '+CGSN:' })
      .then((response) => {
        imei = parameters(response.lines[0] || '', '+CGSN:')[0] || '';
        return this.command('AT+QCCID', { expect: '+QCCID:' });
      })
      .then((response) => {
        iccid = parameters(response.lines[0] || '', '+QCCID:')[0] || '';
        return this.command('AT+CIMI');
      })
      .then((response) => ({ imei, iccid, imsi: firstNumber(response.lines) }));
  }

  signal(): Promise<ModemSignal> {
    let rssi: number | null = null;
    return this.readCsq()
      .then((value) => {
        rssi = value;
        return this.command('AT+QENG=0', { expect: '+QENG:', timeout: 1000 });
      })
      .then((response) => {
        // +QENG: 0,<earfcn>,<earfcn_offset>,<pci>,<cellID>,<RSRP>,<RSRQ>,<RSSI>,<SINR>,<band>,<TAC>,<ECL>,<tx_power>,<mode>
        const fields = parameters(response.lines[0] || '', '+QENG:');
        const rsrp = integer(fields[5]);
        const sinr = integer(fields[8]);
        const ecl = integer(fields[11]);
        return { rssi, rsrp: isNaN(rsrp) ? null : rsrp, sinr: isNaN(sinr) ? null : sinr, coverageClass: isNaN(ecl) ? null : ecl };
      });
  }

  openUdp(host: string, port: number): Promise<void> {
    this.remoteHost = host;
    this.remotePort = port;
    return this.command('AT+QICLOSE=' + connectId, { completeOn: 'CLOSE OK', timeout: 2000 })
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() =>
        // <contextID> 1: the BC66's range starts at 1 (the BC660K's is 0).
        this.command('AT+QIOPEN=1,' + connectId + ',"UDP","' + host + '",' + decimal(port) + ',0,1', {
          completeOn: '+QIOPEN:',
          timeout: 60000,
        }),
      )
      .then((response) => {
        const fields = parameters(response.final, '+QIOPEN:');
        const result = integer(fields[1]);
        if (result !== 0) throw new AtError('failure', 'AT+QIOPEN', 'socket open failed: ' + response.final, isNaN(result) ? null : result);
        this.socketOpen = true;
      });
  }

  sendDatagram(data: Uint8Array, options?: { releaseAfter?: ReleaseAfter }): Promise<void> {
    if (!this.socketOpen) return Promise.reject(new AtError('invalid', 'AT+QISEND', 'no socket open'));
    const wanted = options && options.releaseAfter ? raiValues[options.releaseAfter] : raiValues.none;
    const setRelease =
      wanted === this.releaseSetting
        ? Promise.resolve()
        : this.command('AT+QNBIOTRAI=' + wanted).then(
            () => {
              this.releaseSetting = wanted;
            },
            // The BC660K takes it only while RRC connected; a refusal costs energy, not the datagram.
            () => undefined,
          );
    return setRelease
      .then(() =>
        this.command('AT+QISEND=' + connectId + ',' + decimal(data.length) + ',"' + toHex(data) + '"', {
          completeOn: 'SEND OK',
          failOn: ['SEND FAIL'],
          timeout: 10000,
        }),
      )
      .then(() => undefined);
  }

  private handleSocketUrc(line: string): void {
    const fields = parameters(line, '+QIURC:');
    if (fields[0] === 'recv' && fields[1] === connectId) {
      const bytes = fromHex(fields[3] || '');
      if (bytes && bytes.length === integer(fields[2])) this.deliver(bytes, this.remoteHost, this.remotePort);
    } else if (fields[0] === 'closed') {
      this.socketOpen = false;
    }
  }

  /** Allow deep sleep: the module enters PSM when T3324 runs out. */
  sleep(): Promise<void> {
    return this.command('AT+QSCLK=1').then(() => undefined);
  }

  sleeping(): boolean {
    return this.inPsm;
  }

  /** PSM_EINT falling edge held >= 100 ms wakes the module (a bare AT would be lost); then disable sleep again. */
  wake(): Promise<void> {
    const wakePin = this.io.psmWake;
    const wakeUp = wakePin ? pulse(this.clock, wakePin, wakePin.pulseMilliseconds || 120) : Promise.resolve(this.io.serial.transmit('AT\r'));
    return wakeUp
      .then(() => delay(this.clock, 100))
      .then(() => this.waitForAnswer(3000))
      .then(() => {
        this.inPsm = false;
        return this.command('AT+QSCLK=0');
      })
      .then(() => (this.socketOpen || !this.remoteHost ? undefined : this.openUdp(this.remoteHost, this.remotePort)));
  }

  powerOff(): Promise<void> {
    this.socketOpen = false;
    return this.command('AT+QPOWD=0', { timeout: 2000 }).then(() => undefined);
  }
}
