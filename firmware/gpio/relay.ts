/**
 * A relay on a digital output whose state survives a reboot: every change is written to a small Storage
 * file (`rl.<name>`) before the output moves, and `start()` puts the relay back where it was (or in a fixed
 * state, by configuration). Writing the same state again costs nothing: Espruino leaves an identical file alone.
 */
import type { DigitalOutput, Storage } from '../../hal/interfaces';

export interface RelayOptions {
  name: string;
  /** After boot: 'last' (default) restores the saved state, 'off'/'on' force one. */
  restore?: 'last' | 'off' | 'on';
  /** Output level that energises the coil (default 'high'). */
  activeLevel?: 'low' | 'high';
}

export class Relay {
  readonly name: string;
  private readonly fileName: string;
  private state = false;
  lastError: string | null = null;

  constructor(
    private readonly output: DigitalOutput,
    private readonly storage: Storage,
    private readonly options: RelayOptions,
  ) {
    this.name = options.name;
    this.fileName = 'rl.' + options.name;
  }

  /** Restore the relay after boot; returns the state it is now in. */
  start(): boolean {
    const restore = this.options.restore || 'last';
    let state = restore === 'on';
    if (restore === 'last') {
      const saved = this.storage.read(this.fileName);
      state = !!saved && saved.length > 0 && saved[0] === 0x31;
    }
    this.apply(state);
    return state;
  }

  isOn(): boolean {
    return this.state;
  }

  /** Switch; the new state is saved before the output changes, so a cut in between cannot lose it. */
  set(on: boolean): void {
    try {
      this.storage.write(this.fileName, on ? '1' : '0');
    } catch (error) {
      this.lastError = String(error);
    }
    this.apply(on);
  }

  private apply(on: boolean): void {
    this.state = on;
    this.output.write(this.options.activeLevel === 'low' ? !on : on);
  }
}
