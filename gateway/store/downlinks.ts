/**
 * The persistent per-device command queue. A command arrives on MQTT (`{prefix}/{device}/cmd/{name}`), waits
 * as `queued`, rides in the response to the device's next uplink (`sent`; re-sent with every later response
 * until the device reports a result, since a response can be lost), and ends `done`, `failed` or `expired`.
 */
import type { Database } from './database';

export type DownlinkStatus = 'queued' | 'sent' | 'done' | 'failed' | 'expired';

export interface Downlink {
  id: number;
  deviceId: number;
  name: string;
  /** JSON text of the command arguments (null when there are none). */
  argumentsJson: string;
  correlation: string | null;
  status: DownlinkStatus;
  createdAt: number;
  expiresAt: number;
  sentAt: number | null;
  sentCount: number;
  finishedAt: number | null;
  result: string | null;
}

interface DownlinkRow {
  id: number;
  device_id: number;
  name: string;
  arguments: Buffer;
  correlation: string | null;
  status: string;
  created_at: number;
  expires_at: number;
  sent_at: number | null;
  sent_count: number;
  finished_at: number | null;
  result: string | null;
}

function downlinkOf(row: DownlinkRow): Downlink {
  return {
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    argumentsJson: row.arguments.toString('utf8'),
    correlation: row.correlation,
    status: row.status as DownlinkStatus,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    sentAt: row.sent_at,
    sentCount: row.sent_count,
    finishedAt: row.finished_at,
    result: row.result,
  };
}

export class DownlinkQueue {
  private readonly statements;
  /** Devices with open (queued or sent) commands, so an uplink from any other device skips the query. */
  private readonly devicesWithOpenCommands = new Set<number>();

  constructor(database: Database) {
    this.statements = {
      insert: database.prepare(
        "INSERT INTO downlinks (device_id, name, arguments, correlation, status, created_at, expires_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
      ),
      open: database.prepare("SELECT * FROM downlinks WHERE device_id = ? AND status IN ('queued', 'sent') AND expires_at > ? ORDER BY id LIMIT ?"),
      byId: database.prepare('SELECT * FROM downlinks WHERE id = ?'),
      markSent: database.prepare("UPDATE downlinks SET status = 'sent', sent_at = COALESCE(sent_at, ?), sent_count = sent_count + 1 WHERE id = ?"),
      finish: database.prepare("UPDATE downlinks SET status = ?, finished_at = ?, result = ? WHERE id = ? AND status IN ('queued', 'sent')"),
      dueToExpire: database.prepare("SELECT * FROM downlinks WHERE status IN ('queued', 'sent') AND expires_at <= ? ORDER BY id LIMIT ?"),
      openDevices: database.prepare("SELECT DISTINCT device_id FROM downlinks WHERE status IN ('queued', 'sent')"),
      forDevice: database.prepare('SELECT * FROM downlinks WHERE device_id = ? ORDER BY id DESC LIMIT ?'),
    };
    for (const row of this.statements.openDevices.all() as Array<{ device_id: number }>) this.devicesWithOpenCommands.add(row.device_id);
  }

  /** Inside the caller's transaction. */
  enqueue(deviceId: number, name: string, argumentsJson: string, correlation: string | null, now: number, expiresAt: number): Downlink {
    const result = this.statements.insert.run(deviceId, name, Buffer.from(argumentsJson, 'utf8'), correlation, now, expiresAt);
    this.devicesWithOpenCommands.add(deviceId);
    return this.get(Number(result.lastInsertRowid))!;
  }

  get(id: number): Downlink | null {
    const row = this.statements.byId.get(id) as DownlinkRow | undefined;
    return row ? downlinkOf(row) : null;
  }

  /** Commands to put in the next response to this device, oldest first. */
  openFor(deviceId: number, now: number, limit: number): Downlink[] {
    if (!this.devicesWithOpenCommands.has(deviceId)) return [];
    const rows = (this.statements.open.all(deviceId, now, limit) as DownlinkRow[]).map(downlinkOf);
    return rows;
  }

  /** Inside the caller's transaction. */
  markSent(id: number, now: number): void {
    this.statements.markSent.run(now, id);
  }

  /** Inside the caller's transaction. Returns false when the command was already finished (a repeated result). */
  finish(id: number, status: 'done' | 'failed' | 'expired', now: number, resultJson: string | null): boolean {
    return this.statements.finish.run(status, now, resultJson, id).changes > 0;
  }

  dueToExpire(now: number, limit: number): Downlink[] {
    return (this.statements.dueToExpire.all(now, limit) as DownlinkRow[]).map(downlinkOf);
  }

  recent(deviceId: number, limit: number): Downlink[] {
    return (this.statements.forDevice.all(deviceId, limit) as DownlinkRow[]).map(downlinkOf);
  }

  /** After commands finished: recompute which devices still have open ones (rarely called: results, expiry sweeps). */
  refreshOpenDevices(): void {
    this.devicesWithOpenCommands.clear();
    for (const row of this.statements.openDevices.all() as Array<{ device_id: number }>) this.devicesWithOpenCommands.add(row.device_id);
  }
}
