/**
 * The part of the gateway's MQTT QoS 2 state that must survive a crash: the journal rows whose PUBREC arrived and
 * whose PUBREL may have gone out. A QoS 2 broker hands a message to its subscribers when the PUBREL arrives (Mosquitto
 * and Aedes both do), so after a restart such a row must be finished with a PUBREL, never published again: that
 * would deliver it twice. A row not in this log is published again with its own packet id, and a broker that still
 * holds it from before recognises the id and does not deliver it again.
 *
 * Its own SQLite file beside the gateway database, written from the MQTT thread: a second writer on the gateway
 * database would make the uplink path wait for its lock. A row's PUBREL goes out only once the row is on disk:
 * commits are grouped, with synchronous=NORMAL, and the WAL is then fdatasynced in libuv's thread pool (as the
 * journal's group committer does).
 *
 * A row is forgotten only once its deletion from the journal is on disk, never at its PUBCOMP: a row still in the
 * journal after a crash but no longer in this log would be published again and delivered a second time. So the log
 * checks now and then which completed rows the journal no longer holds (committed deletions), fdatasyncs the
 * journal's WAL (making those deletions durable), and only then forgets them. Forgetting needs no sync of its own:
 * a stale entry names a sequence number the journal never hands out again (AUTOINCREMENT).
 */
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { GatewayError } from '../errors';

type Settled = (error: Error | null) => void;

export interface ReleaseLogOptions {
  /** false: commit without the fdatasync (the gateway's sqliteSynchronous NORMAL, for benchmarks of the difference). */
  sync: boolean;
  /** The journal's rows with sequence numbers from `first` to `last`, as committed. */
  journalSequencesBetween(first: number, last: number): number[];
  /** The journal's write-ahead log, fdatasynced before rows it no longer holds are forgotten; null: not synced. */
  journalWalFile: string | null;
  /** How often completed rows are checked against the journal. */
  pruneMilliseconds?: number;
}

const PRUNE_MILLISECONDS = 1000;
/** Completed rows waiting for a check at most; more start one at once. */
const PRUNE_BATCH = 4096;

export function releaseLogFile(dataDirectory: string): string {
  return path.join(dataDirectory, 'mqtt-releases.db');
}

export class ReleaseLog {
  private readonly database: BetterSqlite3.Database;
  private readonly writeBatch: (added: number[], removed: number[]) => void;
  private readonly walDescriptor: number | null;
  private added: number[] = [];
  private addedSettled: Settled[] = [];
  private removed: number[] = [];
  /** Completed by the broker, forgotten once the journal's deletion of them is on disk. */
  private completedRows: number[] = [];
  private pruning = false;
  private readonly pruneTimer: NodeJS.Timeout;
  private scheduled: NodeJS.Immediate | null = null;
  private syncing = false;
  private awaitingSync: Settled[] = [];
  private closed = false;
  /** Sequence numbers released before this process started (some may be gone from the journal since). */
  readonly releasedBefore: number[];

  constructor(private readonly file: string, private readonly options: ReleaseLogOptions) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      this.database = new BetterSqlite3(file);
      this.database.pragma('journal_mode = WAL');
      this.database.pragma('synchronous = NORMAL');
      this.database.exec('CREATE TABLE IF NOT EXISTS released (sequence INTEGER PRIMARY KEY)');
      this.releasedBefore = (this.database.prepare('SELECT sequence FROM released ORDER BY sequence').all() as Array<{ sequence: number }>).map((row) => row.sequence);
      this.walDescriptor = options.sync ? openSync(`${file}-wal`, 'r') : null;
    } catch (error) {
      throw new GatewayError('storage', `cannot open the MQTT release log ${file}: ${(error as Error).message}`, { file });
    }
    const insert = this.database.prepare('INSERT OR IGNORE INTO released (sequence) VALUES (?)');
    const remove = this.database.prepare('DELETE FROM released WHERE sequence = ?');
    this.writeBatch = this.database.transaction((added: number[], removed: number[]) => {
      for (const sequence of added) insert.run(sequence);
      for (const sequence of removed) remove.run(sequence);
    });
    this.pruneTimer = setInterval(() => void this.prune(), options.pruneMilliseconds ?? PRUNE_MILLISECONDS);
    this.pruneTimer.unref();
  }

  /** Records that the row may be released; `settled` runs once that is on disk (or with the error that stopped it). */
  release(sequence: number, settled: Settled): void {
    if (this.closed) return settled(new GatewayError('storage', `the MQTT release log ${this.file} is closed`, { file: this.file, sequence }));
    this.added.push(sequence);
    this.addedSettled.push(settled);
    this.schedule();
  }

  /** The broker completed the row (PUBCOMP), or it was released before a restart and is gone from the journal. */
  completed(sequence: number): void {
    if (this.closed) return;
    this.completedRows.push(sequence);
    if (this.completedRows.length >= PRUNE_BATCH) void this.prune();
  }

  /**
   * Forgets the completed rows whose deletion from the journal is committed, once that is on disk; resolves when
   * their removal is written. Runs on its own every second.
   */
  prune(): Promise<void> {
    if (this.pruning || this.closed || this.completedRows.length === 0) return Promise.resolve();
    const candidates = Float64Array.from(this.completedRows).sort();
    const gone: number[] = [];
    const remaining: number[] = [];
    let start = 0;
    while (start < candidates.length) {
      let end = start;
      while (end + 1 < candidates.length && candidates[end + 1]! <= candidates[end]! + 1) end++;
      const present = new Set(this.options.journalSequencesBetween(candidates[start]!, candidates[end]!));
      for (let index = start; index <= end; index++) (present.has(candidates[index]!) ? remaining : gone).push(candidates[index]!);
      start = end + 1;
    }
    this.completedRows = remaining;
    if (gone.length === 0) return Promise.resolve();
    this.pruning = true;
    return new Promise((resolve) => {
      const forget = (): void => {
        this.pruning = false;
        if (!this.closed) {
          for (const sequence of gone) this.removed.push(sequence);
          this.commit();
        }
        resolve();
      };
      // Not synced with sqliteSynchronous NORMAL.
      if (this.options.journalWalFile === null) return forget();
      let descriptor: number;
      try {
        descriptor = openSync(this.options.journalWalFile, 'r');
      } catch {
        // No WAL (checkpointed away with the journal closed): nothing of the journal is only in it.
        return forget();
      }
      fdatasync(descriptor, (error) => {
        closeSync(descriptor);
        if (error) {
          // Not known to be on disk: check these again later.
          this.pruning = false;
          for (const sequence of gone) this.completedRows.push(sequence);
          return resolve();
        }
        forget();
      });
    });
  }

  private schedule(): void {
    if (!this.scheduled) this.scheduled = setImmediate(() => this.commit());
  }

  private commit(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const added = this.added;
    const settled = this.addedSettled;
    const removed = this.removed;
    this.added = [];
    this.addedSettled = [];
    this.removed = [];
    try {
      this.writeBatch(added, removed);
    } catch (error) {
      const failure = new GatewayError('storage', `cannot write the MQTT release log ${this.file}: ${(error as Error).message}`, { file: this.file });
      for (const done of settled) done(failure);
      return;
    }
    if (settled.length === 0) return;
    if (this.walDescriptor === null) {
      for (const done of settled) done(null);
      return;
    }
    for (const done of settled) this.awaitingSync.push(done);
    this.sync();
  }

  /** One fdatasync at a time; what committed while it ran waits for the next one. */
  private sync(): void {
    if (this.syncing || this.awaitingSync.length === 0 || this.walDescriptor === null) return;
    this.syncing = true;
    const settled = this.awaitingSync;
    this.awaitingSync = [];
    fdatasync(this.walDescriptor, (error) => {
      this.syncing = false;
      const failure = error ? new GatewayError('storage', `cannot sync the MQTT release log ${this.file}: ${error.message}`, { file: this.file }) : null;
      for (const done of settled) done(failure);
      if (this.closed) this.closeFiles();
      else this.sync();
    });
  }

  /** Writes what is pending (releases not yet synced are settled with an error: their PUBREL was not sent). */
  close(): void {
    if (this.closed) return;
    clearInterval(this.pruneTimer);
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
      this.added = [];
      for (const done of this.addedSettled.splice(0)) done(new GatewayError('storage', 'the MQTT release log closed', { file: this.file }));
      if (this.removed.length > 0) this.writeBatch([], this.removed);
    }
    this.closed = true;
    // Committed but not yet synced: their PUBREL was not sent, so either way a restart finishes them correctly.
    for (const done of this.awaitingSync.splice(0)) done(new GatewayError('storage', 'the MQTT release log closed', { file: this.file }));
    if (!this.syncing) this.closeFiles();
  }

  private closeFiles(): void {
    if (this.walDescriptor !== null) closeSync(this.walDescriptor);
    this.database.close();
  }
}
