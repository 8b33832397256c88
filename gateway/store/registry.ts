/**
 * The device registry: identity (IMEI), OSCORE key id and master secret, channel list, replay window and the
 * highest stored reading id. Active devices are cached in memory with their OSCORE context; every change to a
 * cached device's replay window or reading id is written by the uplink commit (see committer.ts), never here.
 */
import nodeCrypto from 'node:crypto';
import { deriveOscoreKeys, HmacSha256 } from '../../firmware/protocol/derivation';
import { OscoreContext, OscoreKeys, ReplayWindow, OSCORE_MAX_ID_LENGTH } from '../../firmware/protocol/oscore-context';
import { GatewayError } from '../errors';
import { createCachedCcmAead } from '../oscore-aead';
import type { Database } from './database';

export interface Channel {
  name: string;
  unit?: string;
}

/** What the retained `state` twin shows. Stored: what the device reported; lastSeen and lastReadingId come from their columns. */
export interface DeviceState {
  lastSeen?: string;
  powerSource?: string;
  battery?: { value: number; unit?: string };
  signal?: { value: number; unit?: string };
  firmware?: string;
  configVersion?: number | string;
  lastReadingId?: number;
}

export type DeviceStatus = 'active' | 'revoked';

export interface DeviceRecord {
  id: number;
  imei: string;
  kid: Uint8Array;
  profile: string | null;
  channels: Channel[];
  status: DeviceStatus;
  createdAt: number;
  revokedAt: number | null;
  lastReadingId: number;
  lastAddress: string | null;
  lastPort: number | null;
  lastSeenAt: number | null;
  state: DeviceState;
}

/** A cached active device: its record plus the live OSCORE context (keys and replay window). */
export interface ActiveDevice extends DeviceRecord {
  context: OscoreContext;
  /** Time the retained state was last put in the journal (not persisted: after a restart the next uplink republishes). */
  statePublishedAt: number;
}

/** The device's own view of its secrets, exported once at provisioning for flashing. */
export interface DeviceSecrets {
  format: 'udt-device-secrets/1';
  imei: string;
  profile: string | null;
  channels: Channel[];
  /** OSCORE, hex-encoded. The device is the client: its sender ID is its kid; the gateway's ID is empty. */
  oscore: {
    algorithm: 10;
    kid: string;
    masterSecret: string;
    masterSalt: string;
    senderId: string;
    recipientId: string;
    senderKey: string;
    recipientKey: string;
    commonIv: string;
  };
}

/** The gateway's OSCORE sender ID in every device context (devices' kids are never empty). */
export const GATEWAY_SENDER_ID = new Uint8Array(0);

export const nodeHmacSha256: HmacSha256 = (key, data) => new Uint8Array(nodeCrypto.createHmac('sha256', key).update(data).digest());
const aead = createCachedCcmAead();

export const IMEI_PATTERN = /^[0-9]{15}$/;

/** IMEIs end in a Luhn check digit (3GPP TS 23.003 Annex B). */
export function isValidImei(imei: string): boolean {
  if (!IMEI_PATTERN.test(imei)) return false;
  let sum = 0;
  for (let index = 0; index < 15; index++) {
    let digit = imei.charCodeAt(index) - 48;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Kids are assigned from a counter and never reused: shortest big-endian bytes of the number. */
export function kidFromNumber(number: number): Uint8Array {
  const bytes: number[] = [];
  let rest = number;
  do {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if (bytes.length > OSCORE_MAX_ID_LENGTH) throw new GatewayError('registry', 'OSCORE key ids are used up');
  return new Uint8Array(bytes);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

interface DeviceRow {
  id: number;
  imei: string;
  kid: Buffer;
  profile: string | null;
  channels: string;
  status: string;
  master_secret: Buffer;
  master_salt: Buffer;
  id_context: Buffer | null;
  created_at: number;
  revoked_at: number | null;
  replay_highest: number;
  replay_low: number;
  replay_high: number;
  last_reading_id: number;
  last_address: string | null;
  last_port: number | null;
  last_seen_at: number | null;
  state: string | null;
}

function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
}

function recordOf(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    imei: row.imei,
    kid: bytesOf(row.kid),
    profile: row.profile,
    channels: JSON.parse(row.channels) as Channel[],
    status: row.status as DeviceStatus,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastReadingId: row.last_reading_id,
    lastAddress: row.last_address,
    lastPort: row.last_port,
    lastSeenAt: row.last_seen_at,
    state: row.state ? (JSON.parse(row.state) as DeviceState) : {},
  };
}

export function gatewayKeys(masterSecret: Uint8Array, masterSalt: Uint8Array, kid: Uint8Array, idContext: Uint8Array | null): OscoreKeys {
  return deriveOscoreKeys(nodeHmacSha256, { masterSecret, masterSalt, senderId: GATEWAY_SENDER_ID, recipientId: kid, idContext });
}

export interface ProvisionRequest {
  imei: string;
  profile?: string | null;
  channels?: Channel[];
  /** Accept an IMEI whose check digit is wrong (test equipment, modules with a placeholder IMEI). */
  allowInvalidImei?: boolean;
}

export class DeviceRegistry {
  private readonly byKid = new Map<string, ActiveDevice>();
  private readonly byImei = new Map<string, ActiveDevice>();
  private readonly statements;
  private dataVersion: number;

  constructor(private readonly database: Database, private readonly maximumCachedDevices = 100000) {
    this.statements = {
      byKid: database.prepare('SELECT * FROM devices WHERE kid = ?'),
      byImei: database.prepare('SELECT * FROM devices WHERE imei = ?'),
      all: database.prepare('SELECT * FROM devices ORDER BY id'),
      insert: database.prepare(
        'INSERT INTO devices (imei, kid, profile, channels, master_secret, master_salt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      nextKid: database.prepare("SELECT value FROM meta WHERE key = 'next_kid'"),
      setNextKid: database.prepare("INSERT INTO meta (key, value) VALUES ('next_kid', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      revoke: database.prepare("UPDATE devices SET status = 'revoked', revoked_at = ? WHERE imei = ? AND status = 'active'"),
      updateUplink: database.prepare(
        'UPDATE devices SET replay_highest = ?, replay_low = ?, replay_high = ?, last_reading_id = ?, last_address = ?, last_port = ?, last_seen_at = ? WHERE id = ?',
      ),
      updateUplinkAndState: database.prepare(
        'UPDATE devices SET replay_highest = ?, replay_low = ?, replay_high = ?, last_reading_id = ?, last_address = ?, last_port = ?, last_seen_at = ?, state = ? WHERE id = ?',
      ),
      setChannels: database.prepare('UPDATE devices SET channels = ? WHERE imei = ?'),
      imeiById: database.prepare('SELECT imei FROM devices WHERE id = ?'),
      statusById: database.prepare('SELECT status, channels FROM devices WHERE id = ?'),
    };
    this.dataVersion = this.readDataVersion();
  }

  provision(request: ProvisionRequest, now = Date.now()): { device: DeviceRecord; secrets: DeviceSecrets } {
    if (!IMEI_PATTERN.test(request.imei)) throw new GatewayError('registry', `IMEI must be 15 digits, got ${JSON.stringify(request.imei)}`);
    if (!request.allowInvalidImei && !isValidImei(request.imei)) {
      throw new GatewayError('registry', `IMEI ${request.imei} fails its check digit (use --allow-invalid-imei for test equipment)`);
    }
    const channels = request.channels ?? [];
    validateChannels(channels);
    const masterSecret = new Uint8Array(nodeCrypto.randomBytes(16));
    const masterSalt = new Uint8Array(nodeCrypto.randomBytes(8));
    const create = this.database.transaction(() => {
      if (this.statements.byImei.get(request.imei)) throw new GatewayError('registry', `device ${request.imei} already exists (revoke it first to re-provision under a new key)`, { imei: request.imei });
      const counter = this.statements.nextKid.get() as { value: string } | undefined;
      const kidNumber = counter ? Number(counter.value) : 1;
      const kid = kidFromNumber(kidNumber);
      this.statements.setNextKid.run(String(kidNumber + 1));
      this.statements.insert.run(request.imei, Buffer.from(kid), request.profile ?? null, JSON.stringify(channels), Buffer.from(masterSecret), Buffer.from(masterSalt), now);
      return kid;
    });
    let kid: Uint8Array;
    try {
      kid = create.immediate();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError('storage', `cannot store device ${request.imei}: ${(error as Error).message}`, { imei: request.imei });
    }
    const keys = gatewayKeys(masterSecret, masterSalt, kid, null);
    const secrets: DeviceSecrets = {
      format: 'udt-device-secrets/1',
      imei: request.imei,
      profile: request.profile ?? null,
      channels,
      oscore: {
        algorithm: 10,
        kid: hex(kid),
        masterSecret: hex(masterSecret),
        masterSalt: hex(masterSalt),
        senderId: hex(kid),
        recipientId: hex(GATEWAY_SENDER_ID),
        // The device's sender key is the gateway's recipient key and the other way round.
        senderKey: hex(keys.recipientKey),
        recipientKey: hex(keys.senderKey),
        commonIv: hex(keys.commonIv),
      },
    };
    return { device: this.get(request.imei)!, secrets };
  }

  revoke(imei: string, now = Date.now()): DeviceRecord {
    const result = this.statements.revoke.run(now, imei);
    const device = this.get(imei);
    if (!device) throw new GatewayError('registry', `no device ${imei}`, { imei });
    if (result.changes === 0 && device.status !== 'revoked') throw new GatewayError('registry', `device ${imei} could not be revoked`, { imei });
    this.forget(imei);
    return device;
  }

  setChannels(imei: string, channels: Channel[]): void {
    validateChannels(channels);
    if (this.statements.setChannels.run(JSON.stringify(channels), imei).changes === 0) throw new GatewayError('registry', `no device ${imei}`, { imei });
    const cached = this.byImei.get(imei);
    if (cached) cached.channels = channels;
  }

  get(imei: string): DeviceRecord | null {
    const row = this.statements.byImei.get(imei) as DeviceRow | undefined;
    return row ? recordOf(row) : null;
  }

  imeiById(id: number): string | null {
    const row = this.statements.imeiById.get(id) as { imei: string } | undefined;
    return row ? row.imei : null;
  }

  list(): DeviceRecord[] {
    return (this.statements.all.all() as DeviceRow[]).map(recordOf);
  }

  /** The cached active device for an OSCORE kid, loading it on a miss; null when unknown or revoked. */
  activeByKid(kid: Uint8Array): ActiveDevice | null {
    const key = hex(kid);
    const cached = this.byKid.get(key);
    if (cached) {
      // Map order is insertion order: re-inserting keeps the most recently used at the end.
      this.byKid.delete(key);
      this.byKid.set(key, cached);
      return cached;
    }
    return this.load(this.statements.byKid.get(Buffer.from(kid)) as DeviceRow | undefined);
  }

  activeByImei(imei: string): ActiveDevice | null {
    const cached = this.byImei.get(imei);
    if (cached) return cached;
    return this.load(this.statements.byImei.get(imei) as DeviceRow | undefined);
  }

  private load(row: DeviceRow | undefined): ActiveDevice | null {
    if (!row || row.status !== 'active') return null;
    const record = recordOf(row);
    const keys = gatewayKeys(bytesOf(row.master_secret), bytesOf(row.master_salt), record.kid, row.id_context ? bytesOf(row.id_context) : null);
    const device: ActiveDevice = {
      ...record,
      context: {
        keys,
        aead,
        sequence: null,
        replay: new ReplayWindow({ highest: row.replay_highest, low: row.replay_low, high: row.replay_high }),
      },
      statePublishedAt: 0,
    };
    this.byKid.set(hex(record.kid), device);
    this.byImei.set(record.imei, device);
    this.evictBeyondLimit();
    return device;
  }

  private evictBeyondLimit(): void {
    while (this.byKid.size > this.maximumCachedDevices) {
      const oldest = this.byKid.values().next().value as ActiveDevice;
      this.forget(oldest.imei);
    }
  }

  /** Drops a device from the cache (its next uplink reloads it from the database). */
  forget(imei: string): void {
    const cached = this.byImei.get(imei);
    if (!cached) return;
    this.byImei.delete(imei);
    this.byKid.delete(hex(cached.kid));
  }

  /** Drops every cached device; used after a failed commit, whose in-memory changes never reached the database. */
  forgetAll(): void {
    this.byImei.clear();
    this.byKid.clear();
  }

  /** Writes what an uplink changed (inside the commit transaction); the reported state only when it changed. */
  writeUplinkState(device: ActiveDevice, stateChanged: boolean): void {
    const replay = device.context.replay!.state();
    const values = [replay.highest, replay.low, replay.high, device.lastReadingId, device.lastAddress, device.lastPort, device.lastSeenAt];
    if (stateChanged) this.statements.updateUplinkAndState.run(...values, JSON.stringify(device.state), device.id);
    else this.statements.updateUplink.run(...values, device.id);
  }

  /**
   * Another process (the CLI) may have revoked devices or changed channel lists: when the database changed since
   * the last check, re-read those two fields of every cached device. The cached replay windows and reading ids
   * are kept: they may be ahead of the database by writes that are staged but not yet committed.
   */
  refreshIfChangedElsewhere(): boolean {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return false;
    this.dataVersion = version;
    for (const device of [...this.byImei.values()]) {
      const row = this.statements.statusById.get(device.id) as { status: string; channels: string } | undefined;
      if (!row || row.status !== 'active') this.forget(device.imei);
      else device.channels = JSON.parse(row.channels) as Channel[];
    }
    return true;
  }

  private readDataVersion(): number {
    return this.database.pragma('data_version', { simple: true }) as number;
  }

  get cachedDevices(): number {
    return this.byKid.size;
  }
}

export function validateChannels(channels: Channel[]): void {
  if (!Array.isArray(channels)) throw new GatewayError('registry', 'channels must be a list');
  for (const channel of channels) {
    if (typeof channel?.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9:./_-]*$/.test(channel.name)) {
      throw new GatewayError('registry', `invalid channel name ${JSON.stringify(channel?.name)}`);
    }
    if (channel.unit !== undefined && (typeof channel.unit !== 'string' || channel.unit.length > 16)) {
      throw new GatewayError('registry', `invalid unit for channel ${channel.name}`);
    }
  }
}
