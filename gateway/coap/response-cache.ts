/**
 * Answers CoAP retransmissions (RFC 7252 Section 4.5). A terminal that missed our ACK sends the very same
 * datagram again; OSCORE would reject it as a replay, so it is recognised by its bytes before any decryption
 * and answered with the response already sent (never by protecting a second response with the same nonce).
 * While the first copy still waits for its commit, copies are remembered so the answer goes to the latest
 * source address (cellular NAT rebinding) and nothing is processed twice.
 */
import { createHash } from 'node:crypto';

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

export function datagramKey(datagram: Buffer): string {
  return createHash('sha256').update(datagram).digest('base64');
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();

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
  }

  /** Stores the response; returns where a retransmission arrived from meanwhile, if one did. */
  finish(key: string, response: Buffer): Endpoint | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    entry.response = response;
    entry.expiresAt = this.now() + this.lifetimeMilliseconds;
    return entry.latestSource;
  }

  /** Forgets a datagram whose processing failed (so a retransmission is processed afresh). */
  abandon(key: string): void {
    this.entries.delete(key);
  }

  private evict(): void {
    const now = this.now();
    // Entries are in insertion order, which is expiry order for finished entries: drop expired ones from the front.
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.maximumEntries && entry.expiresAt > now) break;
      if (entry.response === null && this.entries.size < this.maximumEntries) break;
      this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
