/**
 * What the publisher does differently over MQTT 5 (`mqttProtocolVersion: 5`): a session kept for good, the window
 * from the broker's Receive Maximum, and refusals.
 *
 * MQTT 5 lets a broker say no to one message (PUBACK or PUBREC with a reason code from 0x80: not authorized, quota
 * exceeded, ...); the broker then holds nothing of it. Such a row stays in the journal and goes back to the
 * publisher after a pause, again and again while the cause lasts (an ACL being fixed), with an error line now and
 * then rather than one per retry. MQTT 3.1.1 has no way to say no (docs/gateway.md, "MQTT 5").
 */
import type { Logger } from 'pino';
import type { JournalRow } from '../store/journal';

/** The MQTT 5 Session Expiry Interval that keeps a session for good (MQTT 5.0 section 3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 0xffffffff;
/** What an MQTT 5 broker that sends no Receive Maximum takes (MQTT 5.0 section 3.2.2.3.3). */
export const LARGEST_RECEIVE_MAXIMUM = 65535;
/** At most one error line per this long about refused messages. */
const LOG_MILLISECONDS = 10000;

/** The reason code of a refusal that MQTT.js put on a publish's error, or null for any other error. */
export function refusalCode(error: Error | undefined): number | null {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code >= 0x80 && code <= 0xff ? code : null;
}

export class Refusals {
  private rows: JournalRow[] = [];
  /** Sequence numbers refused and not taken by the broker since (what /health and /metrics show). */
  private readonly refusedNotTaken = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private sinceLogged = 0;
  private loggedAt = 0;

  /** `giveBack` takes the refused rows, oldest first, to publish them again. */
  constructor(
    private readonly retryMilliseconds: number,
    private readonly logger: Logger,
    private readonly giveBack: (rows: JournalRow[]) => void,
  ) {}

  refused(row: JournalRow, reasonCode: number, error: Error): void {
    this.refusedNotTaken.add(row.sequence);
    this.sinceLogged++;
    if (Date.now() - this.loggedAt >= LOG_MILLISECONDS) {
      this.loggedAt = Date.now();
      this.logger.error(
        { sequence: row.sequence, topic: row.topic, reasonCode, error: error.message, refusals: this.sinceLogged },
        'the broker refused a message; it stays in the journal and is published again later',
      );
      this.sinceLogged = 0;
    }
    this.rows.push(row);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const rows = this.rows.sort((left, right) => left.sequence - right.sequence);
      this.rows = [];
      this.giveBack(rows);
    }, this.retryMilliseconds);
  }

  /** The broker took a row (completed it): no longer refused, if it was. */
  taken(row: JournalRow): void {
    if (this.refusedNotTaken.size > 0) this.refusedNotTaken.delete(row.sequence);
  }

  /** Rows waiting to be published again. */
  get waiting(): number {
    return this.rows.length;
  }

  /** Rows refused and not taken since. */
  get outstanding(): number {
    return this.refusedNotTaken.size;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
