/**
 * What the shards of a fleet (groups of terminals, each group on its own virtual clock, in its own thread) and the
 * fleet share in memory:
 *
 * - the limit: virtual time no shard may pass (the fleet raises it; `udt start` raises it with the wall clock);
 * - each shard's virtual time, published after every step. A shard stays within `maximumSkewMs` of the slowest
 *   one, so the gateway sees the terminals of all shards at nearly the same virtual time (each uplink is stamped
 *   with its own terminal's time; the skew only shows in the order the gateway sees uplinks of different shards,
 *   and in how early a shard ahead can expire another's entries in the gateway's retransmission cache: they are
 *   kept 247 s, so with 120 s of skew a CoAP retransmission (within 93 s) still finds its cached answer);
 * - a generation counter, bumped by every change, that waiters sleep on.
 *
 * Terminals interact only through the gateway, so a shard runs exactly what the one shared clock would have run
 * for its terminals.
 */

const limitIndex = 0;
const stopIndex = 1;
const firstTimeIndex = 2;

const generationIndex = 0;

/** Atomics.waitAsync (ES2024; Node 20 has it, the project's lib is ES2022). */
type WaitAsync = (array: Int32Array, index: number, value: number, timeout?: number) => { async: false; value: string } | { async: true; value: Promise<string> };

export interface ShardSyncBuffers {
  times: SharedArrayBuffer;
  signals: SharedArrayBuffer;
}

export class ShardSync {
  private readonly times: Float64Array;
  private readonly signals: Int32Array;

  constructor(
    readonly buffers: ShardSyncBuffers,
    readonly shardCount: number,
    readonly maximumSkewMs = 120_000,
  ) {
    this.times = new Float64Array(buffers.times);
    this.signals = new Int32Array(buffers.signals);
  }

  static create(shardCount: number): ShardSync {
    const sync = new ShardSync({ times: new SharedArrayBuffer(8 * (firstTimeIndex + shardCount)), signals: new SharedArrayBuffer(4) }, shardCount);
    sync.times[limitIndex] = 0;
    return sync;
  }

  get limit(): number {
    return this.times[limitIndex]!;
  }

  set limit(milliseconds: number) {
    this.times[limitIndex] = milliseconds;
    this.changed();
  }

  get stopped(): boolean {
    return this.times[stopIndex] !== 0;
  }

  stop(): void {
    this.times[stopIndex] = 1;
    this.changed();
  }

  publish(shard: number, milliseconds: number): void {
    this.times[firstTimeIndex + shard] = milliseconds;
    this.changed();
  }

  timeOf(shard: number): number {
    return this.times[firstTimeIndex + shard]!;
  }

  /** The slowest shard's virtual time (all of them, or all but `except`). */
  slowest(except = -1): number {
    let slowest = Number.POSITIVE_INFINITY;
    for (let shard = 0; shard < this.shardCount; shard++) if (shard !== except) slowest = Math.min(slowest, this.timeOf(shard));
    return slowest;
  }

  /** How far shard `shard` may run now (not past the limit, nor more than the skew ahead of the slowest other). */
  allowance(shard: number): number {
    return Math.min(this.limit, this.slowest(shard) + this.maximumSkewMs);
  }

  generation(): number {
    return Atomics.load(this.signals, generationIndex);
  }

  /** Resolves when something changed since `generation` was read, or after `timeoutMs`. */
  async waitForChange(generation: number, timeoutMs: number): Promise<void> {
    const result = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(this.signals, generationIndex, generation, timeoutMs);
    if (result.async) await result.value;
  }

  private changed(): void {
    Atomics.add(this.signals, generationIndex, 1);
    Atomics.notify(this.signals, generationIndex);
  }
}
