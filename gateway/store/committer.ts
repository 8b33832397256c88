/**
 * Group commit. Each uplink's database writes are staged; one transaction then stores every uplink staged
 * meanwhile, and only after the write-ahead log holding it is on disk (fdatasync) are the uplinks settled (CoAP
 * ACKs sent, rows offered to the publisher). So durability costs one fsync per batch, not per uplink, and the
 * batch grows by itself when load rises.
 *
 * The fsync runs in libuv's thread pool, not on the event loop: SQLite commits with synchronous=NORMAL (the WAL
 * frames are written, not synced) and this class then fdatasyncs the WAL file, which is exactly what
 * synchronous=FULL would do inside the commit, minus the blocked event loop. While one fsync runs, further
 * batches commit; the next fsync covers all of them. Deleting journal rows the broker acknowledged rides along
 * in the same transactions (they need no fsync: a lost deletion only republishes a message).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Database } from './database';
import type { Journal } from './journal';

export interface StagedWrite {
  /** Runs inside the transaction. Throwing rolls back the whole batch. */
  write(): void;
  /** After the transaction: `error` is null when it committed. Must not throw. */
  settle(error: Error | null): void;
}

export interface CommitStatistics {
  writes: number;
  completions: number;
  durationSeconds: number;
}

export interface GroupCommitterOptions {
  batchLimit: number;
  /** The database's write-ahead log, fdatasynced before writes settle; null: settle without syncing (tests of speed only). */
  walFile: string | null;
  /**
   * Under load, a commit waits for more uplinks while they keep arriving, until this many are staged or the
   * oldest has waited `gatherMilliseconds`. Node reads at most 32 datagrams per poll of a socket, so without
   * this a commit (and its fsync) would be paid for every 32 uplinks at most.
   */
  gatherTarget?: number;
  gatherMilliseconds?: number;
  maximumPending: number;
  /** Delay before a commit that only deletes acknowledged journal rows (they need not be durable at once). */
  completionDelayMilliseconds?: number;
  onCommit?: (statistics: CommitStatistics) => void;
  /** After each fdatasync of the WAL: how long it took (the wait between a commit and its responses). */
  onSync?: (durationSeconds: number) => void;
  /** After a failed transaction: in-memory state that mirrored the rolled-back writes must be reloaded. */
  onFailure?: (error: Error) => void;
}

export class GroupCommitter {
  private pending: StagedWrite[] = [];
  private completed: number[] = [];
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly commitBatch: (writes: StagedWrite[], completed: number[]) => void;
  private closed = false;
  private walDescriptor: number | null = null;
  private syncing = false;
  /** Committed batches waiting for the next fsync. */
  private awaitingSync: StagedWrite[][] = [];
  private settledWaiters: Array<() => void> = [];
  /** Staged count at the previous check, and when the oldest staged write arrived. */
  private stagedAtLastCheck = 0;
  private oldestStagedAt = 0;

  constructor(database: Database, private readonly journal: Journal, private readonly options: GroupCommitterOptions) {
    this.commitBatch = database.transaction((writes: StagedWrite[], completed: number[]) => {
      for (const staged of writes) staged.write();
      if (completed.length > 0) this.journal.remove(completed);
    });
  }

  /** Stages a write; false (and nothing staged) when too many are already waiting: answer "busy, retry". */
  stage(staged: StagedWrite): boolean {
    if (this.closed || this.pending.length >= this.options.maximumPending) return false;
    if (this.pending.length === 0) this.oldestStagedAt = performance.now();
    this.pending.push(staged);
    this.schedule();
    return true;
  }

  /** Journal rows the broker acknowledged; deleted by a coming commit. */
  complete(sequences: ArrayLike<number>): void {
    for (let index = 0; index < sequences.length; index++) this.completed.push(sequences[index]!);
    if (this.pending.length === 0 && !this.timer && !this.immediate && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.options.completionDelayMilliseconds ?? 20);
    }
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      if (this.shouldGather()) {
        this.schedule();
        return;
      }
      this.flush();
    });
  }

  /** True while uplinks are still arriving and the batch is neither big nor old enough to commit. */
  private shouldGather(): boolean {
    const staged = this.pending.length;
    const growing = staged > this.stagedAtLastCheck;
    this.stagedAtLastCheck = staged;
    if (!growing || staged === 0) return false;
    if (staged >= (this.options.gatherTarget ?? 128)) return false;
    return performance.now() - this.oldestStagedAt < (this.options.gatherMilliseconds ?? 2);
  }

  /** Commits what is staged now (up to the batch limit; the rest in following turns). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0 && this.completed.length === 0) return;
    const writes = this.pending.length > this.options.batchLimit ? this.pending.splice(0, this.options.batchLimit) : this.pending.splice(0);
    this.stagedAtLastCheck = this.pending.length;
    if (this.pending.length > 0) this.oldestStagedAt = performance.now();
    const completed = this.completed.splice(0);
    const started = process.hrtime.bigint();
    let failure: Error | null = null;
    try {
      this.commitBatch(writes, completed);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      // Rolled back: the acknowledged rows are still in the journal; retry deleting them next time.
      for (const sequence of completed) this.completed.push(sequence);
      this.journal.recount();
      this.options.onFailure?.(failure);
    }
    this.options.onCommit?.({ writes: writes.length, completions: completed.length, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9 });
    if (failure) {
      // Writes staged after these were computed from in-memory state that assumed these would commit: fail them too.
      writes.push(...this.pending.splice(0));
      settleAll(writes, failure);
    } else if (writes.length > 0) {
      this.awaitingSync.push(writes);
      this.sync();
    }
    if (this.pending.length > 0) this.schedule();
  }

  /** Starts an fdatasync of the WAL unless one runs; when it ends, settles what committed before it started. */
  private sync(): void {
    if (this.syncing || this.awaitingSync.length === 0) return;
    const batches = this.awaitingSync.splice(0);
    const descriptor = this.openWal();
    if (descriptor === null) {
      for (const batch of batches) settleAll(batch, null);
      return;
    }
    this.syncing = true;
    const started = process.hrtime.bigint();
    fdatasync(descriptor, (error) => {
      this.syncing = false;
      this.options.onSync?.(Number(process.hrtime.bigint() - started) / 1e9);
      const failure = error ? new Error(`fsync of the journal failed: ${error.message}`) : null;
      for (const batch of batches) settleAll(batch, failure);
      this.sync();
      if (!this.syncing) for (const waiter of this.settledWaiters.splice(0)) waiter();
    });
  }

  /** Commits what is staged and resolves once every committed write has been settled (synced). */
  whenSettled(): Promise<void> {
    this.flush();
    if (!this.syncing && this.awaitingSync.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** fdatasyncs the WAL now, on the calling thread (a start-up reservation that must be on disk before use). */
  syncWalNow(): void {
    const descriptor = this.openWal();
    if (descriptor !== null) fdatasyncSync(descriptor);
  }

  private openWal(): number | null {
    if (this.options.walFile === null) return null;
    // The WAL exists once the first transaction committed; SQLite keeps the same file while the connection is open.
    if (this.walDescriptor === null) this.walDescriptor = openSync(this.options.walFile, 'r');
    return this.walDescriptor;
  }

  /** Commits everything staged, then refuses new writes. */
  close(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    while (this.pending.length > 0) this.flush();
    this.flush();
    this.closed = true;
    // Settle what still waits for an fsync, synchronously (an fsync already running settles its own batches).
    const batches = this.awaitingSync.splice(0);
    if (batches.length > 0) {
      const descriptor = this.openWal();
      let failure: Error | null = null;
      try {
        if (descriptor !== null) fdatasyncSync(descriptor);
      } catch (error) {
        failure = error as Error;
      }
      for (const batch of batches) settleAll(batch, failure);
    }
  }

  /** After close, once the database is about to close: releases the WAL file descriptor. */
  releaseWal(): void {
    if (this.walDescriptor !== null && !this.syncing) {
      closeSync(this.walDescriptor);
      this.walDescriptor = null;
    }
  }
}

function settleAll(writes: StagedWrite[], failure: Error | null): void {
  for (const staged of writes) staged.settle(failure);
}
