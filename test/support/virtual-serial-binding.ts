/**
 * A serialport binding (the @serialport/bindings-interface contract) whose port is a drop on the simulator's
 * virtual RS485 bus. It lets unmodified serial software, such as modbus-serial's ServerSerial, sit on the bus
 * next to the virtual board. That software runs on real timers, so every frame handed to it is real work for
 * the virtual clock: virtual time waits (VirtualClock.runWithRealIo) until it has answered or `quietMs` passed.
 */
import type { BindingInterface, BindingPortInterface, OpenOptions, PortInfo, PortStatus } from '@serialport/bindings-interface';
import type { VirtualClock } from '../../simulator/clock';
import type { Rs485Drop } from '../../simulator/wire';

class VirtualBusPort implements BindingPortInterface {
  isOpen = true;
  private readonly chunks: Buffer[] = [];
  private pendingRead: { buffer: Buffer; offset: number; length: number; resolve: (value: { buffer: Buffer; bytesRead: number }) => void; reject: (error: Error) => void } | null = null;
  private finishRealWork: (() => void) | null = null;
  private quietTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly openOptions: Required<OpenOptions>,
    private readonly drop: Rs485Drop,
    private readonly clock: VirtualClock,
    private readonly quietMs: number,
  ) {
    drop.onData((data) => {
      this.chunks.push(Buffer.from(data));
      this.beginRealWork();
      this.serveRead();
    });
  }

  private beginRealWork(): void {
    if (!this.finishRealWork) this.finishRealWork = this.clock.beginRealWork();
    if (this.quietTimer) clearTimeout(this.quietTimer);
    // A frame the server does not answer (another unit's) must not hold virtual time forever.
    this.quietTimer = setTimeout(() => this.endRealWork(), this.quietMs);
  }

  private endRealWork(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    const finish = this.finishRealWork;
    this.finishRealWork = null;
    finish?.();
  }

  private serveRead(): void {
    const read = this.pendingRead;
    if (!read || this.chunks.length === 0) return;
    this.pendingRead = null;
    const chunk = this.chunks[0]!;
    const count = Math.min(chunk.length, read.length);
    chunk.copy(read.buffer, read.offset, 0, count);
    if (count === chunk.length) this.chunks.shift();
    else this.chunks[0] = chunk.subarray(count);
    read.resolve({ buffer: read.buffer, bytesRead: count });
  }

  async close(): Promise<void> {
    this.isOpen = false;
    this.endRealWork();
    if (this.pendingRead) {
      const error = Object.assign(new Error('port closed'), { canceled: true });
      this.pendingRead.reject(error);
      this.pendingRead = null;
    }
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
      this.serveRead();
    });
  }

  async write(buffer: Buffer): Promise<void> {
    this.drop.write(Uint8Array.from(buffer));
    this.endRealWork();
  }

  async update(): Promise<void> {}
  async set(): Promise<void> {}
  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }
  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }
  async flush(): Promise<void> {
    this.chunks.length = 0;
  }
  async drain(): Promise<void> {}
}

export function virtualBusBinding(drop: Rs485Drop, clock: VirtualClock, quietMs = 150): BindingInterface {
  return {
    async list(): Promise<PortInfo[]> {
      return [];
    },
    async open(options: OpenOptions): Promise<VirtualBusPort> {
      const complete = { dataBits: 8, lock: false, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: false, ...options } as Required<OpenOptions>;
      return new VirtualBusPort(complete, drop, clock, quietMs);
    },
  };
}
