/**
 * Transparent UART passthrough on the spare serial port: what arrives is cut into chunks (a chunk ends after
 * `idleGap` ms of silence or at `maximumChunk` bytes) and handed to the application as readings; bytes from a
 * downlink are written out unchanged. No framing is imposed on the device at the other end.
 */
import type { Clock, Serial, SerialOptions } from '../../hal/interfaces';
import { copyBytes } from '../runtime/typed-arrays';

export interface PassthroughOptions {
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  idleGap?: number;
  maximumChunk?: number;
}

type ConfigurableSerial = Serial & { configure?: (options: Partial<SerialOptions>) => void };

export class UartPassthrough {
  private readonly buffer: Uint8Array;
  private length = 0;
  private timer: number | null = null;
  private readonly idleGap: number;
  private chunkStart = 0;
  readonly statistics = { bytesIn: 0, bytesOut: 0, chunks: 0 };

  constructor(
    private readonly serial: Serial,
    private readonly clock: Clock,
    private readonly options: PassthroughOptions,
    private readonly onChunk: (data: Uint8Array, time: number) => void,
  ) {
    this.buffer = new Uint8Array(options.maximumChunk || 200);
    // Default gap: the longer of 20 ms (the interpreter's event granularity) and 10 characters.
    this.idleGap = options.idleGap || Math.max(20, serial.characterTime() * 10);
  }

  start(): void {
    const port = this.serial as ConfigurableSerial;
    if (typeof port.configure === 'function' && this.options.baudRate) {
      port.configure({ baudRate: this.options.baudRate, parity: this.options.parity || 'none', stopBits: this.options.stopBits || 1 });
    }
    this.serial.onReceive((data) => this.receive(data));
  }

  stop(): void {
    this.serial.onReceive(null);
    this.flush();
  }

  /** Downlinked bytes: out on the UART as they are. */
  write(data: Uint8Array): void {
    this.statistics.bytesOut += data.length;
    this.serial.transmit(data);
  }

  private receive(data: Uint8Array): void {
    this.statistics.bytesIn += data.length;
    for (let index = 0; index < data.length; index++) {
      if (this.length === 0) this.chunkStart = this.clock.now();
      this.buffer[this.length++] = data[index];
      if (this.length === this.buffer.length) this.flush();
    }
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.length > 0 ? this.clock.setTimeout(() => this.flush(), this.idleGap) : null;
  }

  /** Hand over what has gathered. */
  flush(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.length === 0) return;
    const chunk = copyBytes(this.buffer, 0, this.length);
    this.length = 0;
    this.statistics.chunks++;
    this.onChunk(chunk, this.chunkStart);
  }
}
