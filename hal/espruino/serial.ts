/**
 * Serial and RS485 over Espruino's Serial1..Serial6 objects.
 */
import type { SerialDefinition } from '../board';
import { HalError, type ReceiveHandler, type Rs485, type Rs485Options, type Serial, type SerialOptions } from '../interfaces';
import type { EspruinoApi, EspruinoSerialPort, EspruinoSerialSetupOptions } from './api';

/** Milliseconds one character takes: start bit + data bits + parity bit + stop bits. */
export function characterTimeMilliseconds(options: SerialOptions): number {
  const bits = 1 + (options.dataBits || 8) + (options.parity && options.parity !== 'none' ? 1 : 0) + (options.stopBits || 1);
  return (bits * 1000) / options.baudRate;
}

function checkSerialOptions(device: string, options: SerialOptions): void {
  const baudRate = options.baudRate;
  if (typeof baudRate !== 'number' || !(baudRate >= 50 && baudRate <= 4000000)) {
    throw new HalError('invalid-argument', device, 'baud rate must be a number from 50 to 4000000, got ' + String(baudRate));
  }
  if (options.dataBits !== undefined && options.dataBits !== 7 && options.dataBits !== 8) {
    throw new HalError('invalid-argument', device, 'data bits must be 7 or 8, got ' + String(options.dataBits));
  }
  if (options.parity !== undefined && options.parity !== 'none' && options.parity !== 'even' && options.parity !== 'odd') {
    throw new HalError('invalid-argument', device, "parity must be 'none', 'even' or 'odd', got " + String(options.parity));
  }
  if (options.stopBits !== undefined && options.stopBits !== 1 && options.stopBits !== 2) {
    throw new HalError('invalid-argument', device, 'stop bits must be 1 or 2, got ' + String(options.stopBits));
  }
}

function isByteData(data: unknown): data is Uint8Array | string {
  return typeof data === 'string' || (typeof data === 'object' && data !== null && typeof (data as Uint8Array).length === 'number' && typeof (data as Uint8Array).subarray === 'function');
}

export class EspruinoSerial implements Serial {
  options: SerialOptions;
  readonly device: string;
  private readonly port: EspruinoSerialPort;
  private handler: ReceiveHandler | null = null;

  constructor(
    private readonly api: EspruinoApi,
    private readonly definition: SerialDefinition,
    options?: Partial<SerialOptions>,
  ) {
    this.device = definition.port;
    const port = api[definition.port] as EspruinoSerialPort | undefined;
    if (!port || typeof port.setup !== 'function') throw new HalError('not-found', definition.port, 'this board has no such serial port');
    this.port = port;
    this.options = { baudRate: definition.baudRate, dataBits: 8, parity: 'none', stopBits: 1 };
    this.configure(options || {});
    port.on('data', (text: string) => {
      const handler = this.handler;
      if (handler && text.length > 0) handler(this.api.E.toUint8Array(text));
    });
  }

  /** Change line settings (e.g. a meter's 8E1 at 2400 baud); unspecified fields keep their value. */
  configure(options: Partial<SerialOptions>): void {
    const next: SerialOptions = {
      baudRate: options.baudRate !== undefined ? options.baudRate : this.options.baudRate,
      dataBits: options.dataBits !== undefined ? options.dataBits : this.options.dataBits,
      parity: options.parity !== undefined ? options.parity : this.options.parity,
      stopBits: options.stopBits !== undefined ? options.stopBits : this.options.stopBits,
    };
    checkSerialOptions(this.device, next);
    const setup: EspruinoSerialSetupOptions = {
      bytesize: next.dataBits,
      parity: next.parity === 'even' ? 'e' : next.parity === 'odd' ? 'o' : 'none',
      stopbits: next.stopBits,
    };
    if (this.definition.rx) setup.rx = this.definition.rx;
    if (this.definition.tx) setup.tx = this.definition.tx;
    if (this.definition.cts) setup.cts = this.definition.cts;
    if (this.definition.path) setup.path = this.definition.path;
    this.port.setup(next.baudRate, setup);
    this.options = next;
  }

  transmit(data: Uint8Array | string): void {
    if (!isByteData(data)) throw new HalError('invalid-argument', this.device, 'transmit takes a Uint8Array or a string');
    if (data.length === 0) return;
    this.port.write(data);
  }

  onReceive(handler: ReceiveHandler | null): void {
    if (handler !== null && typeof handler !== 'function') throw new HalError('invalid-argument', this.device, 'receive handler must be a function or null');
    this.handler = handler;
  }

  characterTime(): number {
    return characterTimeMilliseconds(this.options);
  }
}

export interface Rs485Definition {
  serial: SerialDefinition;
  driverEnablePin: string;
}

/**
 * Half-duplex RS485 through a transceiver whose DE (and inverted RE) is on a GPIO. Espruino has no
 * transmit-complete event, so DE drops after the frame's computed time on the wire.
 */
export class EspruinoRs485 implements Rs485 {
  options: Rs485Options;
  readonly device: string;
  private readonly serial: EspruinoSerial;
  private handler: ReceiveHandler | null = null;
  private driving = false;

  constructor(
    private readonly api: EspruinoApi,
    private readonly definition: Rs485Definition,
    options?: Partial<Rs485Options>,
  ) {
    this.device = definition.serial.port + '/RS485';
    api.pinMode(definition.driverEnablePin, 'output');
    api.digitalWrite(definition.driverEnablePin, 0);
    this.serial = new EspruinoSerial(api, definition.serial);
    this.options = { baudRate: definition.serial.baudRate, dataBits: 8, parity: 'none', stopBits: 1, preTransmitDelay: 0, postTransmitDelay: 0 };
    this.configure(options || {});
    this.serial.onReceive((data: Uint8Array) => {
      // With DE high the transceiver's receiver is off (RE is DE inverted): what arrives is our own echo.
      if (!this.driving && this.handler) this.handler(data);
    });
  }

  configure(options: Partial<Rs485Options>): void {
    const pre = options.preTransmitDelay !== undefined ? options.preTransmitDelay : this.options.preTransmitDelay;
    const post = options.postTransmitDelay !== undefined ? options.postTransmitDelay : this.options.postTransmitDelay;
    if (typeof pre !== 'number' || !(pre >= 0 && pre <= 1000) || typeof post !== 'number' || !(post >= 0 && post <= 1000)) {
      throw new HalError('invalid-argument', this.device, 'pre/post transmit delays must be 0..1000 ms');
    }
    if (this.driving) throw new HalError('busy', this.device, 'cannot reconfigure while a frame is in flight');
    this.serial.configure(options);
    const line = this.serial.options;
    this.options = {
      baudRate: line.baudRate,
      dataBits: line.dataBits,
      parity: line.parity,
      stopBits: line.stopBits,
      preTransmitDelay: pre,
      postTransmitDelay: post,
    };
  }

  transmitFrame(frame: Uint8Array, done: () => void): void {
    if (this.driving) throw new HalError('busy', this.device, 'a frame is already in flight');
    if (!isByteData(frame) || typeof frame === 'string' || frame.length === 0) {
      throw new HalError('invalid-argument', this.device, 'transmitFrame takes a non-empty Uint8Array');
    }
    if (typeof done !== 'function') throw new HalError('invalid-argument', this.device, 'transmitFrame needs a done callback');
    const bytes = new Uint8Array(frame);
    const api = this.api;
    const pin = this.definition.driverEnablePin;
    this.driving = true;
    api.digitalWrite(pin, 1);
    const send = (): void => {
      this.serial.transmit(bytes);
      api.setTimeout(() => {
        api.digitalWrite(pin, 0);
        this.driving = false;
        done();
      }, bytes.length * this.serial.characterTime() + (this.options.postTransmitDelay || 0));
    };
    const pre = this.options.preTransmitDelay || 0;
    if (pre > 0) api.setTimeout(send, pre);
    else send();
  }

  onReceive(handler: ReceiveHandler | null): void {
    if (handler !== null && typeof handler !== 'function') throw new HalError('invalid-argument', this.device, 'receive handler must be a function or null');
    this.handler = handler;
  }

  characterTime(): number {
    return this.serial.characterTime();
  }
}
