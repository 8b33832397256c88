/**
 * Answers CoAP retransmissions (RFC 7252 Section 4.5). A terminal that missed our ACK sends the very same
 * datagram again; OSCORE would reject it as a replay, so it is recognised by its bytes before any decryption
 * and answered with the response already sent (never by protecting a second response with the same nonce).
 * While the first copy still waits for its commit, copies are remembered so the answer goes to the latest
 * source address (cellular NAT rebinding) and nothing is processed twice.
 */
import nodeCrypto from 'node:crypto';

export interface Endpoint {
  address: string;
  port: number;
}

interface Entry {
  key: string;
  response: Buffer | null;
  /** Where a retransmission came from while the response was pending. */
  latestSource: Endpoint | null;
  expiresAt: number;
  /** Deleted from the map (expired, evicted or abandoned): its place in the order is skipped. */
  removed: boolean;
}

/** A datagram being processed: what `begin` returns and `finish` or `abandon` takes. */
export type PendingResponse = Entry;

/** One-shot hashing (Node 20.12+) needs no Hash object per datagram. */
const oneShotHash = (nodeCrypto as unknown as { hash?: (algorithm: string, data: Buffer, encoding: 'base64') => string }).hash;

/** SHA-256 of the datagram: a key no forged datagram can share with a genuine one. */
export function datagramKey(datagram: Buffer): string {
  return oneShotHash ? oneShotHash('sha256', datagram, 'base64') : nodeCrypto.createHash('sha256').update(datagram).digest('base64');
}

/**
 * Every datagram costs a lookup, and a new one an insertion and (when full) an eviction: three operations on a
 * map of up to `maximumEntries` keys; the pending entry itself goes with the uplink to its commit, so storing
 * the response needs no lookup.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Entries in insertion order, consumed from `head`. Evicting from the front of a Map is slow in V8 (iteration
   * walks over deleted slots), so the order is kept in this array instead.
   */
  private order: Entry[] = [];
  private head = 0;

  constructor(private readonly maximumEntries: number, private readonly lifetimeMilliseconds: number, private readonly now: () => number = Date.now) {}

  /**
   * For a datagram seen before: `{ response }` to resend, or `{ response: null }` while it is still being
   * processed (the source is remembered). Undefined for a new datagram.
   */
  lookup(key: string, source: Endpoint): { response: Buffer | null } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now() && entry.response) {
      this.remove(entry);
      return undefined;
    }
    if (!entry.response) entry.latestSource = source;
    return { response: entry.response };
  }

  /** Marks a datagram as being processed. Only for a key `lookup` just found no entry for. */
  begin(key: string): PendingResponse {
    this.evict();
    const entry: Entry = { key, response: null, latestSource: null, expiresAt: this.now() + this.lifetimeMilliseconds, removed: false };
    this.entries.set(key, entry);
    this.order.push(entry);
    return entry;
  }

  /** Stores the response; returns where a retransmission arrived from meanwhile, if one did. */
  finish(pending: PendingResponse, response: Buffer): Endpoint | null {
    if (pending.removed) return null;
    pending.response = response;
    return pending.latestSource;
  }

  /** Forgets a datagram whose processing failed (so a retransmission is processed afresh). */
  abandon(pending: PendingResponse): void {
    this.remove(pending);
  }

  private remove(entry: Entry): void {
    if (entry.removed) return;
    entry.removed = true;
    this.entries.delete(entry.key);
  }

  /** Drops expired entries from the front, and the oldest ones beyond the bound. Pending entries are old only if stuck. */
  private evict(): void {
    const now = this.now();
    while (this.head < this.order.length) {
      const entry = this.order[this.head]!;
      if (!entry.removed && entry.expiresAt > now && this.entries.size < this.maximumEntries) break;
      this.remove(entry);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
