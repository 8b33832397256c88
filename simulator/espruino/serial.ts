/**
 * Espruino's Serial1..SerialN objects over the board's virtual UARTs (jswrap_serial.c): setup(baud, options),
 * write/print/println, on('data') delivering what arrived since the last idle loop as one binary string,
 * available()/read() when nobody listens. Writing before setup() sets the port up at 9600 baud, as Espruino does.
 */
import { DataConversionError, bytesToLatin1, toByteArray } from './data';
import { EspruinoEvents } from './events';
import type { EspruinoSession } from './session';

const receiveBufferLimit = 8192;

export class EspruinoSerialPort extends EspruinoEvents {
  private buffered = '';
  private deliveryScheduled = false;

  constructor(
    session: EspruinoSession,
    readonly port: string,
  ) {
    super(session);
    const uart = this.uart();
    uart.attachReceiver((bytes) => this.receive(bytes));
    session.onEnd(() => uart.attachReceiver(null));
  }

  setup(baudRate?: unknown, options?: unknown): void {
    this.session.assertAlive();
    const realm = this.session.realm;
    const baud = baudRate === undefined ? 9600 : Number(baudRate);
    if (!(baud > 0) || !Number.isFinite(baud)) throw realm.error('Invalid baud rate ' + String(baudRate));
    let dataBits: 7 | 8 = 8;
    let parity: 'none' | 'even' | 'odd' = 'none';
    let stopBits: 1 | 2 = 1;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw realm.error('Serial.setup options must be an object', 'TypeError');
      const record = options as Record<string, unknown>;
      for (const pinOption of ['rx', 'tx', 'cts', 'ck']) {
        const pin = record[pinOption];
        if (pin === undefined || pin === null) continue;
        const name = typeof pin === 'string' ? pin : String(pin);
        if (!this.session.board.gpio.has(name)) throw realm.error(`Pin ${name} is not capable of ${pinOption.toUpperCase()}`);
      }
      if (record.bytesize !== undefined) {
        if (record.bytesize !== 7 && record.bytesize !== 8) throw realm.error('Unsupported serial byte size');
        dataBits = record.bytesize;
      }
      const parityOption = record.parity;
      if (parityOption === 'o' || parityOption === 'odd') parity = 'odd';
      else if (parityOption === 'e' || parityOption === 'even') parity = 'even';
      else if (parityOption !== undefined && parityOption !== null && parityOption !== 'none' && parityOption !== 0 && parityOption !== '') {
        throw realm.error('Invalid parity ' + String(parityOption));
      }
      if (record.stopbits !== undefined) {
        if (record.stopbits !== 1 && record.stopbits !== 2) throw realm.error('Unsupported serial stopbits length');
        stopBits = record.stopbits;
      }
    }
    this.uart().setup({ baudRate: baud, dataBits, parity, stopBits });
    this.session.board.power.uartActive = true;
  }

  unsetup(): void {
    this.session.assertAlive();
    this.uart().unsetup();
    this.session.board.power.uartActive = this.session.board.mcu.serialPorts.some((port) => this.session.board.uart(port)?.isSetUp());
  }

  write(...data: unknown[]): void {
    this.session.assertAlive();
    let bytes: Uint8Array;
    try {
      bytes = toByteArray(...data);
    } catch (error) {
      if (error instanceof DataConversionError) throw this.session.realm.error(error.message);
      throw error;
    }
    const uart = this.uart();
    if (!uart.isSetUp()) this.setup(9600);
    uart.transmit(bytes);
  }

  print(text: unknown): void {
    this.write(String(text));
  }

  println(text: unknown): void {
    this.write(String(text) + '\r\n');
  }

  available(): number {
    return this.buffered.length;
  }

  read(count?: unknown): string {
    this.session.assertAlive();
    const length = count === undefined ? this.buffered.length : Math.max(0, Number(count) | 0);
    const result = this.buffered.slice(0, length);
    this.buffered = this.buffered.slice(length);
    return result;
  }

  /** Console redirection is not modelled: the console is the board's console device. */
  setConsole(): void {}

  override toString(): string {
    return this.port;
  }

  private uart() {
    const uart = this.session.board.uart(this.port);
    if (!uart) throw this.session.realm.error(`${this.port} does not exist on this board`);
    return uart;
  }

  private receive(bytes: Uint8Array): void {
    if (!this.session.alive) return;
    this.buffered += bytesToLatin1(bytes);
    if (this.buffered.length > receiveBufferLimit) {
      this.buffered = this.buffered.slice(this.buffered.length - receiveBufferLimit);
      this.session.errorFlags.add('BUFFER_FULL');
    }
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    this.session.schedule(0, () => {
      this.deliveryScheduled = false;
      if (!this.hasListeners('data') || this.buffered.length === 0) return;
      const text = this.buffered;
      this.buffered = '';
      this.emitFromEventLoop('data', [text]);
    });
  }
}
