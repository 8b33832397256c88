/**
 * What MQTT.js needs so that the journal reaches subscribers exactly once at QoS 2, across gateway crashes:
 *
 * - Packet ids that follow from the journal (`packetIdFor(sequence)`), so a row published again after a restart
 *   carries the id it had before: a broker that still holds the row awaiting its PUBREL recognises the id and
 *   answers PUBREC without delivering it a second time. Nothing has to be written to give a row its id.
 * - An outgoing store that writes a row to the release log (release-log.ts) before MQTT.js may send its PUBREL,
 *   and that starts a restarted gateway with a PUBREL, not a PUBLISH, for every row released before the crash.
 * - If the broker says it has no session for the gateway (CONNACK session present = 0: its state is gone), a
 *   released row is published again instead: the broker may or may not have delivered it, and a duplicate is better
 *   than a loss.
 */
import { Readable } from 'node:stream';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { IStore, PacketCallback } from 'mqtt/lib/store';
import type { IMessageIdProvider } from 'mqtt/lib/default-message-id-provider';
import type { JournalRow } from '../store/journal';
import type { ReleaseLog } from './release-log';

const LARGEST_PACKET_ID = 65535;

/** A journal row's packet id: its sequence number counted round 1…65535. */
export function packetIdFor(sequence: number): number {
  return ((sequence - 1) % LARGEST_PACKET_ID) + 1;
}

/**
 * Hands MQTT.js the packet id the publisher claimed for the publish it is about to make, and any free id to
 * everything else (the gateway's status, subscriptions). Ids stay in use until MQTT.js deallocates them.
 */
export class JournalPacketIds implements IMessageIdProvider {
  private readonly inUse = new Set<number>();
  private claimed = 0;
  private lastAllocated = 0;
  /** Free ids for other messages are taken counting down, far from where the journal's ids count up. */
  private freeCursor = LARGEST_PACKET_ID;

  /** The next allocate() returns this id. */
  claim(id: number): void {
    this.claimed = id;
  }

  /** True when allocate() since the claim took it; clears the claim either way. */
  claimTaken(): boolean {
    const taken = this.claimed === 0;
    this.claimed = 0;
    return taken;
  }

  isInUse(id: number): boolean {
    return this.inUse.has(id);
  }

  allocate(): number | null {
    let id = this.claimed;
    this.claimed = 0;
    if (id === 0 || this.inUse.has(id)) {
      id = this.free();
      if (id === 0) return null;
    }
    this.inUse.add(id);
    this.lastAllocated = id;
    return id;
  }

  private free(): number {
    for (let tries = 0; tries < LARGEST_PACKET_ID; tries++) {
      const id = this.freeCursor;
      this.freeCursor = id === 1 ? LARGEST_PACKET_ID : id - 1;
      if (!this.inUse.has(id)) return id;
    }
    return 0;
  }

  getLastAllocated(): number | null {
    return this.lastAllocated;
  }

  register(id: number): boolean {
    if (this.inUse.has(id)) return false;
    this.inUse.add(id);
    return true;
  }

  deallocate(id: number): void {
    this.inUse.delete(id);
  }

  clear(): void {
    this.inUse.clear();
  }
}

interface InFlightRow {
  row: JournalRow;
  /** The PUBLISH as first sent, to send again if the broker lost its session after the release. */
  publish: IPublishPacket | null;
  /** Taken over from before a restart: its completion is reported by the store, not by a publish callback. */
  recovered: boolean;
}

export interface JournalStoreHooks {
  /** A row taken over from before a restart was completed by the broker. */
  recoveredCompleted(row: JournalRow): void;
  /** The release log could not record a release; the PUBREL was not sent. */
  releaseFailed(row: JournalRow, error: Error): void;
}

/** MQTT.js's outgoing store, with the journal's rows known by packet id. */
export class JournalOutgoingStore implements IStore {
  private readonly packets = new Map<number, Packet>();
  private readonly rows = new Map<number, InFlightRow>();
  /** From the latest CONNACK: whether the broker kept the gateway's session. */
  sessionPresent = true;

  constructor(
    private readonly releaseLog: ReleaseLog | null,
    private readonly hooks: JournalStoreHooks,
  ) {}

  /** The row about to be published with this packet id. */
  expect(packetId: number, row: JournalRow): void {
    this.rows.set(packetId, { row, publish: null, recovered: false });
  }

  /** A row released before a restart: sent again as a PUBREL (or, without a session at the broker, as a PUBLISH). */
  recover(row: JournalRow, qos: 1 | 2): void {
    const packetId = packetIdFor(row.sequence);
    const publish: IPublishPacket = { cmd: 'publish', topic: row.topic, payload: row.payload, qos, retain: row.retain, dup: true, messageId: packetId };
    this.rows.set(packetId, { row, publish, recovered: true });
    this.packets.set(packetId, { cmd: 'pubrel', messageId: packetId });
  }

  get recoveredCount(): number {
    let count = 0;
    for (const entry of this.rows.values()) if (entry.recovered) count++;
    return count;
  }

  put(packet: Packet, cb: (error?: Error) => void): this {
    const packetId = packet.messageId!;
    const entry = this.rows.get(packetId);
    if (entry && packet.cmd === 'publish') entry.publish = packet;
    if (!entry || packet.cmd !== 'pubrel' || !this.releaseLog) {
      this.packets.set(packetId, packet);
      cb();
      return this;
    }
    this.releaseLog.release(entry.row.sequence, (error) => {
      if (error) {
        this.hooks.releaseFailed(entry.row, error);
        return cb(error);
      }
      this.packets.set(packetId, packet);
      cb();
    });
    return this;
  }

  createStream(): ReturnType<IStore['createStream']> {
    if (!this.sessionPresent) {
      for (const [packetId, entry] of this.rows) {
        if (this.packets.get(packetId)?.cmd === 'pubrel' && entry.publish) this.packets.set(packetId, { ...entry.publish, dup: true });
      }
    }
    // MQTT.js types this as readable-stream's Readable; it only reads, listens and destroys, as on Node's own.
    return Readable.from([...this.packets.values()], { objectMode: true }) as unknown as ReturnType<IStore['createStream']>;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const packetId = packet.messageId!;
    const stored = this.packets.get(packetId);
    const entry = this.rows.get(packetId);
    this.packets.delete(packetId);
    if (entry) {
      this.rows.delete(packetId);
      this.releaseLog?.completed(entry.row.sequence);
      if (entry.recovered) this.hooks.recoveredCompleted(entry.row);
    }
    if (stored) cb(undefined, stored);
    else cb(new Error('missing packet'));
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const stored = this.packets.get(packet.messageId!);
    if (stored) cb(undefined, stored);
    else cb(new Error('missing packet'));
    return this;
  }

  close(cb: (error?: Error) => void): void {
    cb();
  }
}
