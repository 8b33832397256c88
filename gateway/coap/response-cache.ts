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
  response: Buffer | null;
  /** Where a retransmission came from while the response was pending. */
  latestSource: Endpoint | null;
  expiresAt: number;
}

/** One-shot hashing (Node 20.12+) needs no Hash object per datagram. */
const oneShotHash = (nodeCrypto as unknown as { hash?: (algorithm: string, data: Buffer, encoding: 'base64') => string }).hash;

/** SHA-256 of the datagram: a key no forged datagram can share with a genuine one. */
export function datagramKey(datagram: Buffer): string {
  return oneShotHash ? oneShotHash('sha256', datagram, 'base64') : nodeCrypto.createHash('sha256').update(datagram).digest('base64');
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Keys in insertion order, consumed from `head`. Evicting from the front of a Map is slow in V8 (iteration
   * walks over deleted slots), so the order is kept in this array instead.
   */
  private order: string[] = [];
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
      this.entries.delete(key);
      return undefined;
    }
    if (!entry.response) entry.latestSource = source;
    return { response: entry.response };
  }

  /** Marks a datagram as being processed. */
  begin(key: string): void {
    this.evict();
    this.entries.set(key, { response: null, latestSource: null, expiresAt: this.now() + this.lifetimeMilliseconds });
    this.order.push(key);
  }

  /** Stores the response; returns where a retransmission arrived from meanwhile, if one did. */
  finish(key: string, response: Buffer): Endpoint | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    entry.response = response;
    return entry.latestSource;
  }

  /** Forgets a datagram whose processing failed (so a retransmission is processed afresh). */
  abandon(key: string): void {
    this.entries.delete(key);
  }

  /** Drops expired entries from the front, and the oldest ones beyond the bound. Pending entries are old only if stuck. */
  private evict(): void {
    const now = this.now();
    while (this.head < this.order.length) {
      const key = this.order[this.head]!;
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt > now && this.entries.size < this.maximumEntries) break;
      // An entry re-created under the same key after an abandon sits later in the order too; keep that one.
      if (entry && entry.expiresAt <= now) this.entries.delete(key);
      else if (entry && this.entries.size >= this.maximumEntries) this.entries.delete(key);
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
