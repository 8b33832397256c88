/**
 * The virtual network time the gateway process reads (virtual-time-preload.cjs): epoch + the soak's virtual clock,
 * written to a small file before every datagram a terminal sends and after every step of the clock.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { VirtualClock } from '../../simulator/clock';

export const virtualTimePreload = path.join(__dirname, 'virtual-time-preload.cjs');

export class VirtualTimeFile {
  private readonly descriptor: number;
  private readonly buffer = Buffer.alloc(8);

  constructor(
    readonly file: string,
    private readonly clock: VirtualClock,
    readonly epochMs: number,
  ) {
    this.descriptor = openSync(file, 'w+');
    this.publish();
  }

  /** What the gateway process needs in its environment to read this clock. */
  environment(): NodeJS.ProcessEnv {
    return { NODE_OPTIONS: `--require ${JSON.stringify(virtualTimePreload)}`, UDT_SOAK_CLOCK_FILE: this.file };
  }

  publish(): void {
    this.buffer.writeDoubleLE(this.epochMs + this.clock.now(), 0);
    writeSync(this.descriptor, this.buffer, 0, 8, 0);
  }

  close(): void {
    closeSync(this.descriptor);
  }
}
