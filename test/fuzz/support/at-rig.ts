/**
 * A rig for fuzzing the AT engine synchronously on the simulator's virtual clock: a serial port whose far end is
 * the fuzzer (every receive chunk is delivered to the engine's real handler, exceptions are caught and counted),
 * and a record of when each command's promise was settled and how.
 *
 * Settlements are observed at the moment the engine calls resolve/reject, not a microtask later: during a
 * scenario the global Promise is replaced by a subclass whose executor records every resolve/reject call. This
 * is what lets a property say "never completed twice" (a second call on a settled native promise is silently
 * ignored) and "settled within its timeout" on virtual time.
 */
import type { ReceiveHandler, Serial, SerialOptions } from '../../../hal/interfaces';
import { VirtualClock } from '../../../simulator/clock';
import { VirtualHalClock } from '../../support/modem-rig';

export class FuzzSerial implements Serial {
  readonly options: SerialOptions = { baudRate: 115200 };
  private handler: ReceiveHandler | null = null;
  /** Everything the engine transmitted, in order, as latin-1 text. */
  written = '';
  /** Exceptions thrown out of the engine's receive handler. */
  readonly escaped: unknown[] = [];
  onTransmit: ((data: Uint8Array) => void) | null = null;

  transmit(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Uint8Array.from(data, (character) => character.charCodeAt(0) & 0xff) : data.slice();
    this.written += Buffer.from(bytes).toString('latin1');
    if (this.onTransmit) this.onTransmit(bytes);
  }

  onReceive(handler: ReceiveHandler | null): void {
    this.handler = handler;
  }

  characterTime(): number {
    return 10 / 115.2;
  }

  /** Delivers one receive chunk to the engine. */
  deliver(chunk: Uint8Array): void {
    if (!this.handler) return;
    try {
      this.handler(chunk);
    } catch (error) {
      this.escaped.push(error);
    }
  }
}

export interface Settlement {
  /** Creation order of the promise among those made during the scenario. */
  promise: number;
  kind: 'resolve' | 'reject';
  value: unknown;
  at: number;
}

/**
 * Runs `body` with settlement tracking on. Promise creation order = command order when `body` calls
 * `engine.send` for each command before anything else creates a promise.
 */
export function withSettlementTracking<T>(now: () => number, body: (settlements: Settlement[]) => T): T {
  const NativePromise = globalThis.Promise;
  const settlements: Settlement[] = [];
  let created = 0;
  class TrackingPromise<V> extends NativePromise<V> {
    static override get [Symbol.species](): PromiseConstructor {
      return NativePromise;
    }
    constructor(executor: (resolve: (value: V | PromiseLike<V>) => void, reject: (reason?: unknown) => void) => void) {
      const promise = created++;
      super((resolve, reject) =>
        executor(
          (value) => {
            settlements.push({ promise, kind: 'resolve', value, at: now() });
            resolve(value);
          },
          (reason) => {
            settlements.push({ promise, kind: 'reject', value: reason, at: now() });
            reject(reason);
          },
        ),
      );
    }
  }
  globalThis.Promise = TrackingPromise as unknown as PromiseConstructor;
  try {
    return body(settlements);
  } finally {
    globalThis.Promise = NativePromise;
  }
}

export function createClocks(): { clock: VirtualClock; halClock: VirtualHalClock } {
  const clock = new VirtualClock();
  return { clock, halClock: new VirtualHalClock(clock) };
}

export function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0) & 0xff);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `bytes` into chunks at cut points derived from `cuts` (fuzzer-chosen numbers). */
export function splitIntoChunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  if (bytes.length <= 1 || cuts.length === 0) return [bytes];
  const points = [...new Set(cuts.map((cut) => 1 + (cut % (bytes.length - 1))))].sort((left, right) => left - right);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
