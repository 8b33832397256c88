/**
 * The gateway's own OSCORE sender sequence numbers, for the responses that must not reuse their request's nonce
 * (RFC 8613 Section 8.3 step 3 lets the server encode its own Partial IV instead). The gateway needs them for
 * a protected 5.03: the request's replay window could not be stored (journal unavailable) or was not stored
 * (gateway busy), so the same request may be accepted again later and answered with a 2.04 under the request's
 * nonce; the 5.03 must therefore use a nonce of its own (the same rule as Appendix B.1.2, a server that lost
 * its replay window uses its own Partial IV).
 *
 * One counter serves every device: each device context has its own key, so numbers that are unique across the
 * gateway are unique per key. It is persisted as in Appendix B.1.1: a block of numbers is reserved on disk
 * before any of them is used, so a crash or restart never reuses one (it only skips the rest of the block).
 * The first block is reserved at start, when the journal works; the next one in an ordinary commit while half
 * a block is left, because these responses are needed exactly when the journal cannot be written.
 */
import { OSCORE_MAX_SEQUENCE_NUMBER, SenderSequence } from '../../firmware/protocol/oscore-context';
import { GatewayError } from '../errors';
import type { GroupCommitter } from './committer';
import type { Database } from './database';

export const RESPONSE_SEQUENCE_BLOCK = 65536;

export class ResponseSequence {
  /** For `protectResponse(..., ownPartialIv = true)`; its take() throws ProtocolError 'persist-failed' when nothing is reserved. */
  readonly sequence: SenderSequence;
  private reservedLimit = 0;
  private reserving = false;
  private readonly statements;

  constructor(database: Database, private readonly committer: GroupCommitter, private readonly blockSize = RESPONSE_SEQUENCE_BLOCK) {
    this.statements = {
      read: database.prepare("SELECT value FROM meta WHERE key = 'response_sequence_limit'"),
      write: database.prepare("INSERT INTO meta (key, value) VALUES ('response_sequence_limit', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    };
    const stored = this.storedLimit();
    this.reservedLimit = stored;
    // Checkpoint interval 1: every number asks `allow`, which only compares with what is reserved on disk.
    this.sequence = new SenderSequence(stored, 1, (limit) => this.allow(limit));
  }

  private storedLimit(): number {
    const row = this.statements.read.get() as { value: string } | undefined;
    const value = row ? Number(row.value) : 0;
    if (!Number.isInteger(value) || value < 0) throw new GatewayError('storage', `stored response sequence limit is invalid: ${row?.value}`);
    return value;
  }

  /** Reserves the first block (at start): written, then `syncNow` puts it on disk before any number is used. */
  reserveFirstBlock(syncNow: () => void): void {
    const limit = Math.min(this.sequence.peek() + this.blockSize, OSCORE_MAX_SEQUENCE_NUMBER + 1);
    try {
      this.statements.write.run(String(limit));
      syncNow();
    } catch (error) {
      throw new GatewayError('storage', `cannot reserve response sequence numbers: ${(error as Error).message}`);
    }
    this.reservedLimit = limit;
  }

  /** Numbers left in the reserved blocks. */
  get remaining(): number {
    return this.reservedLimit - this.sequence.peek();
  }

  private allow(limit: number): boolean {
    if (this.reservedLimit - limit < this.blockSize / 2) this.reserveNextBlock();
    return limit <= this.reservedLimit;
  }

  private reserveNextBlock(): void {
    if (this.reserving || this.reservedLimit > OSCORE_MAX_SEQUENCE_NUMBER) return;
    const target = Math.min(this.reservedLimit + this.blockSize, OSCORE_MAX_SEQUENCE_NUMBER + 1);
    this.reserving = this.committer.stage({
      write: () => {
        this.statements.write.run(String(target));
      },
      settle: (error) => {
        this.reserving = false;
        // Usable only once the commit holding it is on disk.
        if (!error) this.reservedLimit = Math.max(this.reservedLimit, target);
      },
    });
  }
}
