/**
 * The gateway's SQLite database: registry, journal, downlink queue and replay state in one file, so a single
 * transaction can store an uplink's readings, the device's replay window and the commands sent in its response.
 * WAL mode; synchronous=FULL makes every commit fsync the WAL before it returns (the promise the CoAP ACK makes).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { GatewayError } from '../errors';

export type Database = BetterSqlite3.Database;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id INTEGER PRIMARY KEY,
  imei TEXT NOT NULL UNIQUE,
  kid BLOB NOT NULL UNIQUE,
  profile TEXT,
  channels TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'active',
  master_secret BLOB NOT NULL,
  master_salt BLOB NOT NULL,
  id_context BLOB,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  replay_highest INTEGER NOT NULL DEFAULT -1,
  replay_low INTEGER NOT NULL DEFAULT 0,
  replay_high INTEGER NOT NULL DEFAULT 0,
  last_reading_id INTEGER NOT NULL DEFAULT -1,
  last_address TEXT,
  last_port INTEGER,
  last_seen_at INTEGER,
  state TEXT
);
CREATE TABLE IF NOT EXISTS journal (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  retain INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS downlinks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  name TEXT NOT NULL,
  arguments BLOB NOT NULL,
  correlation TEXT,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  sent_at INTEGER,
  sent_count INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER,
  result TEXT
);
CREATE INDEX IF NOT EXISTS downlinks_open ON downlinks(device_id, status, id);
CREATE INDEX IF NOT EXISTS downlinks_expiry ON downlinks(status, expires_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface OpenDatabaseOptions {
  synchronous?: 'FULL' | 'NORMAL';
}

export function databaseFile(dataDirectory: string): string {
  return path.join(dataDirectory, 'gateway.db');
}

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  let database: Database;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    database = new BetterSqlite3(file);
  } catch (error) {
    throw new GatewayError('storage', `cannot open the database ${file}: ${(error as Error).message}`, { file });
  }
  try {
    database.pragma('journal_mode = WAL');
    database.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    database.pragma('foreign_keys = ON');
    // Another process (the CLI provisioning while the gateway runs) may hold the write lock briefly.
    database.pragma('busy_timeout = 5000');
    database.exec(SCHEMA);
    const row = database.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (!row) {
      database.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (Number(row.value) > SCHEMA_VERSION) {
      throw new GatewayError('storage', `database ${file} has schema version ${row.value}; this gateway knows ${SCHEMA_VERSION}`, { file });
    }
  } catch (error) {
    database.close();
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('storage', `cannot prepare the database ${file}: ${(error as Error).message}`, { file });
  }
  return database;
}
