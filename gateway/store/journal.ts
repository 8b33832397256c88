/**
 * The publish journal: every MQTT message the gateway owes the broker, in the order it must be published.
 * A row is appended in the same transaction that stores the uplink (before the CoAP ACK) and deleted once the
 * broker acknowledged it (PUBACK). Rows are read back in sequence order after a restart or a broker outage.
 */
import type { Database } from './database';

export interface JournalMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** Milliseconds since the epoch when the uplink that produced it arrived (for publish latency). */
  receivedAt: number;
}

export interface JournalRow extends JournalMessage {
  sequence: number;
}

interface StoredRow {
  sequence: number;
  topic: string;
  payload: Buffer;
  retain: number;
  received_at: number;
}

export class Journal {
  private readonly statements;
  private rowCount: number;

  constructor(database: Database) {
    this.statements = {
      append: database.prepare('INSERT INTO journal (topic, payload, retain, received_at) VALUES (?, ?, ?, ?)'),
      load: database.prepare('SELECT sequence, topic, payload, retain, received_at FROM journal WHERE sequence > ? ORDER BY sequence LIMIT ?'),
      removeRange: database.prepare('DELETE FROM journal WHERE sequence BETWEEN ? AND ?'),
      sequencesBetween: database.prepare('SELECT sequence FROM journal WHERE sequence BETWEEN ? AND ?').pluck(),
      count: database.prepare('SELECT COUNT(*) AS count FROM journal'),
      oldest: database.prepare('SELECT MIN(received_at) AS oldest FROM journal'),
    };
    this.rowCount = (this.statements.count.get() as { count: number }).count;
  }

  /** Appends inside the caller's transaction; returns the rows with their sequence numbers. */
  append(messages: JournalMessage[]): JournalRow[] {
    const rows: JournalRow[] = [];
    for (const message of messages) {
      const result = this.statements.append.run(message.topic, message.payload, message.retain ? 1 : 0, message.receivedAt);
      rows.push({ ...message, sequence: Number(result.lastInsertRowid) });
    }
    this.rowCount += rows.length;
    return rows;
  }

  /** Rows after `afterSequence`, oldest first. */
  load(afterSequence: number, limit: number): JournalRow[] {
    return (this.statements.load.all(afterSequence, limit) as StoredRow[]).map((row) => ({
      sequence: row.sequence,
      topic: row.topic,
      payload: row.payload,
      retain: row.retain === 1,
      receivedAt: row.received_at,
    }));
  }

  /** Sequence numbers of the rows from `first` to `last`. */
  sequencesBetween(first: number, last: number): number[] {
    return this.statements.sequencesBetween.all(first, last) as number[];
  }

  /** Deletes published rows inside the caller's transaction. */
  remove(sequences: number[]): void {
    // Acknowledgements arrive almost in order: delete contiguous runs with one statement each.
    const sorted = Float64Array.from(sequences).sort();
    let removed = 0;
    let start = 0;
    while (start < sorted.length) {
      let end = start;
      while (end + 1 < sorted.length && sorted[end + 1]! <= sorted[end]! + 1) end++;
      removed += this.statements.removeRange.run(sorted[start]!, sorted[end]!).changes;
      start = end + 1;
    }
    this.rowCount -= removed;
  }

  /** Rows not yet acknowledged by the broker. */
  get depth(): number {
    return this.rowCount;
  }

  oldestReceivedAt(): number | null {
    return (this.statements.oldest.get() as { oldest: number | null }).oldest;
  }

  /** Undo the in-memory count after a rolled-back transaction. */
  recount(): void {
    this.rowCount = (this.statements.count.get() as { count: number }).count;
  }
}
