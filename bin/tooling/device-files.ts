/**
 * What `udt flash` writes into a terminal's Storage besides the firmware: the OSCORE keys file (udt.keys, from
 * the secrets exported once at provisioning), the device configuration record (cfg0, the format of
 * firmware/application/config-store.ts) and the Modbus profiles the configuration names (mp.<id>).
 * The terminal's own state (journal, sequence-number log, counters) is never touched: an OSCORE sequence
 * number must not be reused, so a re-flash keeps it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BoardDefinition } from '../../hal/board';
import { projectRoot } from '../../hal/board-loader';
import { encodeConfigRecord, configSlotNames } from '../../firmware/application/config-store';
import { encodeKeysFile, keysFileName } from '../../firmware/application/keys-file';
import { checkTerminalSettings, type TerminalConfig } from '../../firmware/application/settings';
import { channelsByName } from '../../firmware/application/sources';
import { formatProblems, validateDeviceConfig } from '../../firmware/config/validate-config';
import { compactProfile, profileFileName, type Profile } from '../../firmware/modbus/profile';
import type { OscoreKeys } from '../../firmware/protocol/oscore-context';
import type { DeviceSecrets } from '../../gateway/store/registry';

export type ToolProblem = 'usage' | 'secrets' | 'config';

/** A problem with the tool's input (files, options), before anything reaches the board. */
export class ToolInputError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly problem: ToolProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ToolInputError';
  }
}

export interface DeviceFile {
  name: string;
  bytes: Uint8Array;
  /** What it is, for the summary. */
  what: string;
}

function hexBytes(text: unknown, what: string, length?: number): Uint8Array {
  if (typeof text !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(text)) throw new ToolInputError('secrets', `secrets: ${what} must be hex, got ${JSON.stringify(text)}`);
  const bytes = new Uint8Array(Buffer.from(text, 'hex'));
  if (length !== undefined && bytes.length !== length) throw new ToolInputError('secrets', `secrets: ${what} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** The terminal's OSCORE keys from exported device secrets (`udt gateway provision --out file`). */
export function keysFromSecrets(secrets: DeviceSecrets): OscoreKeys {
  const oscore = secrets.oscore;
  if (!oscore || oscore.algorithm !== 10) throw new ToolInputError('secrets', 'secrets: oscore.algorithm must be 10 (AES-CCM-16-64-128)');
  return {
    senderId: hexBytes(oscore.senderId, 'oscore.senderId'),
    recipientId: hexBytes(oscore.recipientId, 'oscore.recipientId'),
    idContext: null,
    senderKey: hexBytes(oscore.senderKey, 'oscore.senderKey', 16),
    recipientKey: hexBytes(oscore.recipientKey, 'oscore.recipientKey', 16),
    commonIv: hexBytes(oscore.commonIv, 'oscore.commonIv', 13),
  };
}

/** Read and check a secrets file for device `imei`. */
export function readSecretsFile(file: string, imei: string): DeviceSecrets {
  let secrets: DeviceSecrets;
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as DeviceSecrets;
  } catch (error) {
    throw new ToolInputError('secrets', `cannot read the device secrets ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!secrets || secrets.format !== 'udt-device-secrets/1') throw new ToolInputError('secrets', `${file} is not a device secrets file (format udt-device-secrets/1, from \`udt gateway provision --out\`)`);
  if (secrets.imei !== imei) throw new ToolInputError('secrets', `${file} holds the secrets of device ${secrets.imei}, not of --device ${imei}`);
  keysFromSecrets(secrets);
  return secrets;
}

/**
 * Development setups: the secrets of a device straight from a gateway's registry database (the production
 * path is the file exported once at provisioning). Derived exactly as the registry does at provisioning.
 */
export function secretsFromRegistry(dataDirectory: string, imei: string): DeviceSecrets {
  const { openDatabase, databaseFile } = require('../../gateway/store/database') as typeof import('../../gateway/store/database');
  const { gatewayKeys, hex, GATEWAY_SENDER_ID } = require('../../gateway/store/registry') as typeof import('../../gateway/store/registry');
  const file = databaseFile(dataDirectory);
  let database;
  try {
    database = openDatabase(file);
  } catch (error) {
    throw new ToolInputError('secrets', `cannot open the gateway registry ${file}: ${(error as Error).message}`);
  }
  try {
    const row = database.prepare('SELECT imei, kid, profile, channels, master_secret, master_salt, status FROM devices WHERE imei = ?').get(imei) as
      | { imei: string; kid: Buffer; profile: string | null; channels: string; master_secret: Buffer; master_salt: Buffer; status: string }
      | undefined;
    if (!row) throw new ToolInputError('secrets', `device ${imei} is not in the registry ${file}; provision it first: udt gateway provision --imei ${imei}`);
    if (row.status !== 'active') throw new ToolInputError('secrets', `device ${imei} is ${row.status} in the registry ${file}`);
    const kid = new Uint8Array(row.kid);
    const keys = gatewayKeys(new Uint8Array(row.master_secret), new Uint8Array(row.master_salt), kid, null);
    return {
      format: 'udt-device-secrets/1',
      imei: row.imei,
      profile: row.profile,
      channels: JSON.parse(row.channels),
      oscore: {
        algorithm: 10,
        kid: hex(kid),
        masterSecret: hex(new Uint8Array(row.master_secret)),
        masterSalt: hex(new Uint8Array(row.master_salt)),
        senderId: hex(kid),
        recipientId: hex(GATEWAY_SENDER_ID),
        senderKey: hex(keys.recipientKey),
        recipientKey: hex(keys.senderKey),
        commonIv: hex(keys.commonIv),
      },
    };
  } finally {
    database.close();
  }
}

export function readProfile(id: string): Profile | null {
  try {
    return JSON.parse(readFileSync(path.join(projectRoot, 'profiles', `${id}.json`), 'utf8')) as Profile;
  } catch {
    return null;
  }
}

/** Check a device configuration as the terminal will (schema, profiles, board inputs, the terminal section). */
export function checkDeviceConfig(config: unknown, board: BoardDefinition): void {
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new ToolInputError('config', 'device configuration: must be a JSON object');
  const { terminal, ...fieldPart } = config as TerminalConfig;
  const result = validateDeviceConfig(fieldPart, { board, profile: readProfile });
  if (!result.valid) throw new ToolInputError('config', `device configuration is not valid for ${board.id}:\n${formatProblems(result.problems)}`);
  const terminalProblem = checkTerminalSettings(config as Record<string, unknown>, channelsByName(config as TerminalConfig));
  if (terminalProblem) throw new ToolInputError('config', `device configuration: ${terminalProblem}`);
  if (!terminal || !terminal.gateway) throw new ToolInputError('config', 'device configuration: /terminal/gateway is required ({ "host": "...", "port": 5683 }): without it the terminal never reports');
}

export interface DeviceFilesRequest {
  config: unknown;
  /** Revision of the written configuration (above any the terminal holds; downlink changes use higher ones). */
  revision: number;
  keys: OscoreKeys | null;
}

/** The files to write, in the order they are written (the firmware comes separately, first). */
export function deviceFiles(request: DeviceFilesRequest): DeviceFile[] {
  const files: DeviceFile[] = [];
  const config = request.config as TerminalConfig | null;
  for (const device of config?.modbus?.devices ?? []) {
    const name = profileFileName(device.profile);
    if (files.some((file) => file.name === name)) continue;
    const profile = readProfile(device.profile);
    if (!profile) throw new ToolInputError('config', `no profile "${device.profile}" in profiles/`);
    files.push({ name, bytes: new Uint8Array(Buffer.from(JSON.stringify(compactProfile(profile)), 'latin1')), what: `Modbus profile ${device.profile}` });
  }
  if (request.keys) files.push({ name: keysFileName, bytes: encodeKeysFile(request.keys), what: 'OSCORE keys' });
  if (config) files.push({ name: configSlotNames[0]!, bytes: encodeConfigRecord(request.revision, config), what: `configuration revision ${request.revision}` });
  return files;
}

/** Slots the written configuration must not compete with (an older record in the other slot would be kept as last good). */
export const staleConfigSlots = configSlotNames.slice(1);
