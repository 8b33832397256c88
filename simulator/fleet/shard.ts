/**
 * A shard of a fleet: some of its terminals, run as fast as the shared limit and the other shards allow
 * (shard-sync.ts). A fleet on several cores has one shard per worker thread (shard-worker.ts); a small fleet has a
 * single shard in the fleet's own thread.
 *
 * Each terminal has a virtual clock of its own: terminals interact only through the gateway, so this runs
 * exactly what one clock shared by all would run for each of them, but a terminal whose modem model waits for
 * the gateway's reply (its clock stands still until the reply is back) holds up only itself while the others
 * run on. Before a datagram leaves, the shard notes the terminal's virtual time under the datagram's source port,
 * where the gateway's clock reads it (gateway-worker.ts).
 */
import { loadBoards } from '../../hal/board-loader';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { VirtualClock } from '../clock';
import type { EnergyReport } from '../hardware/energy';
import { FleetTerminal } from './fleet-terminal';
import type { GroupSpec } from './scenario';
import { ShardSync, type ShardSyncBuffers } from './shard-sync';

export interface TerminalSpec {
  /** Position in the fleet (seeds, reports). */
  index: number;
  groupIndex: number;
  indexInGroup: number;
  name: string;
  imei: string;
  secrets: DeviceSecrets;
  seed: number;
  powerOnAt: number;
}

export interface ShardSetup {
  shard: number;
  shardCount: number;
  sync: ShardSyncBuffers;
  /** Float64Array over it: [0] = the virtual ms the gateway's clock reads outside a datagram. */
  gatewayTime: SharedArrayBuffer;
  /** Float64Array(65536) over it: virtual send time per local UDP port (gateway-worker.ts). */
  sendTimes: SharedArrayBuffer;
  groups: GroupSpec[];
  /** Firmware image per group (index into groups). */
  firmware: string[];
  terminals: TerminalSpec[];
  gatewayPort: number;
  networkEpochMs: number;
}

/** What the fleet's report needs of one terminal, as plain data (it may come from another thread). */
export interface TerminalSnapshot {
  index: number;
  name: string;
  imei: string;
  board: string;
  /** Journal entries made (reading ids 1..produced) and still waiting; null while the firmware is not running. */
  produced: number | null;
  waiting: number | null;
  boots: number;
  energy: EnergyReport;
  batteryMilliampHours: number;
  faults: string[];
}

/**
 * Virtual ms the terminals of a shard may run ahead of its slowest one (a terminal waiting for the gateway) before
 * the shard waits; it publishes its time and handles messages between steps.
 */
const stepMs = 30_000;

/** Run `clock` up to `target`, stopping early when an event left real work pending (a datagram out). */
function advance(clock: VirtualClock, target: number): void {
  for (;;) {
    if (clock.realWorkPending() > 0) return;
    const next = clock.nextEventTime();
    if (next === undefined || next > target) {
      clock.runUntil(target);
      return;
    }
    clock.runUntil(next);
  }
}

export class FleetShard {
  readonly terminals: FleetTerminal[] = [];
  private readonly clocks: VirtualClock[] = [];
  /** Wakes the run loop when a reply arrives (or a wait for one gives up). */
  private wake: (() => void) | null = null;
  private changeWait: Promise<void> | null = null;
  private readonly sync: ShardSync;
  private readonly gatewayTime: Float64Array;
  private readonly sendTimes: Float64Array;
  private loop: Promise<void> | null = null;

  constructor(readonly setup: ShardSetup) {
    this.sync = new ShardSync(setup.sync, setup.shardCount);
    this.gatewayTime = new Float64Array(setup.gatewayTime);
    this.sendTimes = new Float64Array(setup.sendTimes);
    const boards = loadBoards();
    for (const spec of setup.terminals) {
      const group = setup.groups[spec.groupIndex]!;
      const clock = new VirtualClock();
      clock.onRealWorkFinished = () => {
        const wake = this.wake;
        this.wake = null;
        wake?.();
      };
      const terminal = new FleetTerminal({
        clock,
        board: boards[group.board]!,
        group,
        indexInGroup: spec.indexInGroup,
        name: spec.name,
        imei: spec.imei,
        secrets: spec.secrets,
        firmware: setup.firmware[spec.groupIndex]!,
        gatewayPort: setup.gatewayPort,
        networkEpochMs: setup.networkEpochMs,
        seed: spec.seed,
        powerOnAt: spec.powerOnAt,
      });
      // The gateway handles a datagram at the virtual time it was sent (virtual time waits for the reply).
      terminal.modem.udp.beforeSend = (port) => {
        const now = clock.now();
        this.sendTimes[port] = now;
        if (!(this.gatewayTime[0]! >= now)) this.gatewayTime[0] = now;
      };
      this.terminals.push(terminal);
      this.clocks.push(clock);
    }
    this.sync.publish(setup.shard, this.now());
  }

  /** The shard's virtual time: that of its slowest terminal. */
  now(): number {
    let slowest = Number.POSITIVE_INFINITY;
    for (const clock of this.clocks) slowest = Math.min(slowest, clock.now());
    return slowest === Number.POSITIVE_INFINITY ? this.sync.limit : slowest;
  }

  /** Start running until the fleet stops the shards; `onFailure` hears of an error that ended the run early. */
  start(onFailure: (error: Error) => void): void {
    this.loop ??= this.run().catch((error: Error) => onFailure(error));
  }

  private async run(): Promise<void> {
    const sync = this.sync;
    const shard = this.setup.shard;
    const clocks = this.clocks;
    let published = Number.NaN;
    while (!sync.stopped) {
      const generation = sync.generation();
      const allowance = sync.allowance(shard);
      const target = Math.min(allowance, this.now() + stepMs);
      let ran = false;
      for (const clock of clocks) {
        if (clock.now() >= target || clock.realWorkPending() > 0) continue;
        advance(clock, target);
        ran = true;
      }
      const now = this.now();
      if (now !== published) {
        published = now;
        sync.publish(shard, now);
        if (!(this.gatewayTime[0]! >= now)) this.gatewayTime[0] = now;
      }
      // Let replies, messages from the fleet and the other threads' notifications in between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ran || clocks.some((clock) => clock.now() < target && clock.realWorkPending() === 0)) continue;
      // Nothing can run: terminals wait for the gateway's reply (which wakes this loop), or the shard is as far
      // ahead as the limit and the other shards let it be (a change of either wakes it).
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (target >= allowance) void this.nextChange(generation).then(resolve);
      });
      this.wake = null;
    }
  }

  /** One wait for a change of the shared state at a time (each is an Atomics.waitAsync). */
  private nextChange(generation: number): Promise<void> {
    this.changeWait ??= this.sync.waitForChange(generation, 50).then(() => {
      this.changeWait = null;
    });
    return this.changeWait;
  }

  /** Wait for the run loop to end (after the fleet stopped the shards). */
  async stopped(): Promise<void> {
    await this.loop;
  }

  snapshot(): TerminalSnapshot[] {
    return this.terminals.map((terminal, position) => {
      const counters = terminal.counters();
      return {
        index: this.setup.terminals[position]!.index,
        name: terminal.name,
        imei: terminal.imei,
        board: terminal.board.definition.id,
        produced: counters?.produced ?? null,
        waiting: counters?.waiting ?? null,
        boots: terminal.board.counters.boots,
        energy: terminal.board.energy.report(),
        batteryMilliampHours: terminal.battery.capacity,
        faults: [...terminal.faultsApplied],
      };
    });
  }

  close(): void {
    for (const terminal of this.terminals) terminal.close();
  }
}
