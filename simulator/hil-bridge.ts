/**
 * Hardware in the loop: a virtual serial line (a board's UART device end, its console, a model's endpoint)
 * bridged to a real serial port or a pty through the `serialport` package.
 *
 * Virtual time and real time: bytes from the real side enter the virtual line at the virtual time they arrive.
 * While bytes are on their way to the real side, and for `replyWindowMs` of real time after, the bridge holds
 * a "real work" token on the virtual clock, so a simulation driven by clock.runWithRealIo() waits for the
 * reply instead of jumping past it. A simulation paced to wall time (RealTimeRunner) needs no tokens.
 */
import { SerialPort } from 'serialport';
import type { VirtualClock } from './clock';
import type { SerialEndpoint } from './wire';

export interface HilBridgeOptions {
  /** Device path: /dev/ttyUSB0, or the slave end of a pty. */
  path: string;
  baudRate?: number;
  /** Real ms after our last bytes went out during which a reply is expected (default 200). 0: do not wait. */
  replyWindowMs?: number;
}

export class HilBridge {
  bytesToReal = 0;
  bytesFromReal = 0;
  private finishRealWork: (() => void) | null = null;
  private replyTimer: NodeJS.Timeout | null = null;
  private readonly detach: () => void;

  private constructor(
    private readonly clock: VirtualClock,
    private readonly endpoint: SerialEndpoint,
    private readonly port: SerialPort,
    private readonly replyWindowMs: number,
  ) {
    this.detach = endpoint.onData((data) => this.toReal(data));
    port.on('data', (chunk: Buffer) => this.fromReal(chunk));
  }

  /** Open the real port and start bridging `endpoint` to it. */
  static open(clock: VirtualClock, endpoint: SerialEndpoint, options: HilBridgeOptions): Promise<HilBridge> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: options.path, baudRate: options.baudRate ?? 115200, autoOpen: false });
      port.open((error) => {
        if (error) reject(new Error(`HIL bridge: cannot open ${options.path}: ${error.message}`));
        else resolve(new HilBridge(clock, endpoint, port, options.replyWindowMs ?? 200));
      });
    });
  }

  get path(): string {
    return this.port.path;
  }

  close(): Promise<void> {
    this.detach();
    this.releaseRealWork();
    return new Promise((resolve) => {
      if (!this.port.isOpen) resolve();
      else this.port.close(() => resolve());
    });
  }

  private toReal(data: Uint8Array): void {
    this.bytesToReal += data.length;
    this.finishRealWork ??= this.clock.beginRealWork();
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = null;
    this.port.write(Buffer.from(data), () => {
      this.port.drain(() => {
        if (this.replyWindowMs <= 0) this.releaseRealWork();
        else this.replyTimer = setTimeout(() => this.releaseRealWork(), this.replyWindowMs);
      });
    });
  }

  private fromReal(chunk: Buffer): void {
    this.bytesFromReal += chunk.length;
    this.endpoint.write(new Uint8Array(chunk));
    // The reply is in the virtual world now: virtual time may move on to deliver it.
    this.releaseRealWork();
  }

  private releaseRealWork(): void {
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = null;
    const finish = this.finishRealWork;
    this.finishRealWork = null;
    finish?.();
  }
}

/** Bridge a virtual line straight to a pty this process holds (simulator/pty.ts): no serialport needed. */
export function bridgeToPty(endpoint: SerialEndpoint, pty: { write(data: Uint8Array): void; onData(handler: (data: Uint8Array) => void): () => void }): () => void {
  const detachVirtual = endpoint.onData((data) => pty.write(data));
  const detachReal = pty.onData((data) => endpoint.write(data));
  return () => {
    detachVirtual();
    detachReal();
  };
}
