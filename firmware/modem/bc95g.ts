/**
 * Quectel BC95-G driver (Huawei Boudica dialect), after the BC95-G&BC68 AT Commands Manual V1.2 (sections
 * and what was checked: docs/modems.md, "Sources"). Payloads travel as hex text; socket and error replies
 * carry no space after the colon. The module keeps its sockets across an MCU reset: see openUdp.
 */
import { AtError } from './at-engine';
import { ModemBase, delay, firstNumber, type ModemIdentity, type ModemIo, type ModemSignal, type ReleaseAfter } from './modem';
import { decimal, fromHex, integer, parameters, toHex } from './text';

/** NSOSTF flags: 0x200 release after this uplink, 0x400 release after the first downlink that answers it. */
const releaseFlags = { send: '0x200', reply: '0x400' };
const localPort = 56000;
const ignore = (): void => undefined;

export class Bc95gDriver extends ModemBase {
  readonly model = 'BC95-G';
  protected readonly bootMilliseconds = 3000;
  protected readonly powerOnPulseMilliseconds = 0;
  private socket = -1;
  private inPsm = false;

  constructor(io: ModemIo) {
    super(io);
    this.engine.onUrc('+NSONMI:', (line) => this.handleArrival(line));
    this.engine.onUrc('+NPSMR:', (line) => {
      this.inPsm = integer(parameters(line, '+NPSMR:')[0]) === 1;
    });
    this.engine.onUrc('REBOOT_', () => {
      this.socketOpen = false;
      this.socket = -1;
    });
  }

  protected dialectSetup(): Promise<void> {
    return this.command('AT+NPSMR=1').then(() => undefined);
  }

  protected readIdentity(): Promise<ModemIdentity> {
    let imei = '';
    let iccid = '';
    return this.command('AT+CGSN=1', { expect: '+CGSN:' })
      .then((response) => {
        imei = parameters(response.lines[0] || '', '+CGSN:')[0] || '';
        return this.command('AT+NCCID', { expect: '+NCCID:' });
      })
      .then((response) => {
        iccid = parameters(response.lines[0] || '', '+NCCID:')[0] || '';
        return this.command('AT+CIMI');
      })
      .then((response) => ({ imei, iccid, imsi: firstNumber(response.lines) }));
  }

  override attach(timeoutMilliseconds: number): Promise<void> {
    return super.attach(timeoutMilliseconds).then(() => this.command('AT+CGATT=1', { timeout: 5000 }).then(() => undefined));
  }

  signal(): Promise<ModemSignal> {
    let rssi: number | null = null;
    return this.readCsq()
      .then((value) => {
        rssi = value;
        return this.command('AT+NUESTATS', { timeout: 1000 });
      })
      .then((response) => {
        const result: ModemSignal = { rssi, rsrp: null, sinr: null, coverageClass: null };
        for (let index = 0; index < response.lines.length; index++) {
          const line = response.lines[index]!;
          const colon = line.indexOf(':');
          if (colon < 0) continue;
          const key = line.substring(0, colon);
          const value = integer(line.substring(colon + 1));
          if (isNaN(value)) continue;
          // NUESTATS reports signal power and SNR in centibels.
          if (key === 'Signal power') result.rsrp = value / 10;
          else if (key === 'SNR') result.sinr = value / 10;
          else if (key === 'ECL') result.coverageClass = value;
        }
        return result;
      });
  }

  openUdp(host: string, port: number): Promise<void> {
    this.remoteHost = host;
    this.remotePort = port;
    const close = this.socket >= 0 ? this.command('AT+NSOCL=' + decimal(this.socket)).then(ignore, ignore) : Promise.resolve();
    // A refused NSOCR means sockets left over from before an MCU reset (the module keeps them, and the
    // port): close them all, then create again.
    return close.then(() => this.createSocket().then(undefined, () => this.closeFrom(0).then(() => this.createSocket())));
  }

  private createSocket(): Promise<void> {
    return this.command('AT+NSOCR=DGRAM,17,' + decimal(localPort) + ',1').then((response) => {
      const socket = integer(response.lines[0]);
      if (isNaN(socket)) throw new AtError('invalid', 'AT+NSOCR', 'no socket number in reply');
      this.socket = socket;
      this.socketOpen = true;
    });
  }

  /** AT+NSOCL on `socket` .. 6 (the module has 7); "not open" errors are expected. */
  private closeFrom(socket: number): Promise<void> {
    if (socket > 6) return Promise.resolve();
    return this.command('AT+NSOCL=' + decimal(socket))
      .then(ignore, ignore)
      .then(() => this.closeFrom(socket + 1));
  }

  sendDatagram(data: Uint8Array, options?: { releaseAfter?: ReleaseAfter }): Promise<void> {
    if (!this.socketOpen) return Promise.reject(new AtError('invalid', 'AT+NSOST', 'no socket open'));
    const release = options && options.releaseAfter ? releaseFlags[options.releaseAfter] : null;
    const target = decimal(this.socket) + ',' + this.remoteHost + ',' + decimal(this.remotePort) + ',';
    const text = release
      ? 'AT+NSOSTF=' + target + release + ',' + decimal(data.length) + ',' + toHex(data)
      : 'AT+NSOST=' + target + decimal(data.length) + ',' + toHex(data);
    return this.command(text, { timeout: 10000 }).then((response) => {
      const fields = parameters(response.lines[0] || '');
      if (integer(fields[1]) !== data.length) throw new AtError('invalid', 'AT+NSOST', 'modem accepted ' + fields[1] + ' of ' + data.length + ' bytes');
    });
  }

  private handleArrival(line: string): void {
    const fields = parameters(line, '+NSONMI:');
    const socket = integer(fields[0]);
    const length = integer(fields[1]);
    if (isNaN(socket) || isNaN(length)) return;
    // A socket we did not open (left from before an MCU reset): close it instead of reading it.
    if (socket !== this.socket) this.command('AT+NSOCL=' + decimal(socket)).then(ignore, ignore);
    else this.readDatagram(socket, length);
  }

  private readDatagram(socket: number, length: number): void {
    this.command('AT+NSORF=' + decimal(socket) + ',' + decimal(length), { timeout: 1000 }).then(
      (response) => {
        for (let index = 0; index < response.lines.length; index++) {
          const fields = parameters(response.lines[index]!);
          if (fields.length < 6) continue;
          const bytes = fromHex(fields[4]!);
          if (bytes && bytes.length === integer(fields[3])) this.deliver(bytes, fields[1]!, integer(fields[2]));
          const remaining = integer(fields[5]);
          if (remaining > 0) this.readDatagram(socket, remaining);
        }
      },
      () => undefined,
    );
  }

  /** PSM is entered by the module itself once T3324 runs out; nothing to command. */
  sleep(): Promise<void> {
    return Promise.resolve();
  }

  sleeping(): boolean {
    return this.inPsm;
  }

  /** UART activity wakes a BC95-G from deep sleep; the bytes that woke it are lost, so probe until it answers. */
  wake(): Promise<void> {
    this.io.serial.transmit('AT\r');
    return delay(this.clock, 100)
      .then(() => this.waitForAnswer(3000))
      .then(() => {
        this.inPsm = false;
      });
  }

  powerOff(): Promise<void> {
    this.socketOpen = false;
    return this.command('AT+CFUN=0', { timeout: 85000 }).then(() => undefined);
  }
}
