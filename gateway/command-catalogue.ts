/**
 * The commands a terminal knows (firmware/application/commands.ts) and the arguments each takes. A command is
 * checked when it is published, so one the terminal could not decode or does not know is refused at once
 * (`failed` on `.../ack`, with the reason) instead of waiting in the queue for days: every response to the
 * device would carry it, and a downlink the terminal cannot decode is lost whole, the acknowledged reading id
 * included. Checks that need the terminal's state (does relay "valve" exist, is revision 3 newer than the
 * active one) stay with the terminal.
 */
import { isProtocolError } from '../firmware/protocol/errors';
import { decodeDownlink, encodeDownlink } from '../firmware/protocol/uplink';
import { checkTerminalSettings, type TerminalConfig } from '../firmware/application/settings';
import { channelsByName } from '../firmware/application/sources';
import { formatProblems, validateDeviceConfig } from '../firmware/config/validate-config';
import { jsonToCbor } from './commands';

/** The terminal's result codes (firmware/application/commands.ts), reused for refusals at queue time. */
export const CommandRefusalCode = { BadArguments: 1, Unknown: 3 } as const;

export type CommandCheck = { ok: true } | { ok: false; code: number; error: string };

/**
 * A single command larger than this (CBOR) would make a response some modems cannot deliver (BC95-G: 1358-byte
 * datagrams, less CoAP, OSCORE and the rest of the downlink).
 */
export const MAXIMUM_COMMAND_BYTES = 1024;

/** Names of relays, sources and channels in a device configuration (firmware/config/essentials.ts). */
const CONFIG_NAME_PATTERN = /^[a-z][a-z0-9_]{0,23}$/;
const PULSE_MAXIMUM_MILLISECONDS = 600000;
/** The terminal takes clock settings only between 2024-01-01 and 2100-01-01 (exclusive). */
const TIME_MINIMUM_SECONDS = 1704067200;
const TIME_MAXIMUM_SECONDS = 4102444800;
const REVISION_MAXIMUM = 4294967295;
/** The largest command id the gateway could give a command: the size check uses it. */
const LARGEST_COMMAND_ID = 0xffffffff;

type Arguments = Record<string, unknown>;
type ArgumentCheck = (args: Arguments) => string | null;

interface CommandDefinition {
  fields: string[];
  check: ArgumentCheck;
}

function isObject(value: unknown): value is Arguments {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkConfig(args: Arguments): string | null {
  const revision = args.revision;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1 || revision > REVISION_MAXIMUM) {
    return `revision must be an integer 1..${REVISION_MAXIMUM}`;
  }
  // Like the terminal, a field given as null counts as given.
  const hasConfig = args.config !== undefined;
  const hasPatch = args.patch !== undefined;
  if (hasConfig === hasPatch) return 'give either config (a whole configuration) or patch (a JSON merge patch)';
  if (hasPatch) return isObject(args.patch) ? null : 'patch must be a JSON object (a JSON merge patch)';
  return configProblem(args.config);
}

/**
 * A whole configuration checked as `udt flash` checks one (bin/tooling/device-files.ts), without the board and
 * profiles, which the gateway does not know: the field part against the schema, the terminal section with the
 * terminal's own check.
 */
function configProblem(config: unknown): string | null {
  if (!isObject(config)) return 'config must be a JSON object';
  const { terminal: _terminal, ...fieldPart } = config;
  const validation = validateDeviceConfig(fieldPart);
  if (!validation.valid) return `config is not valid: ${formatProblems(validation.problems).replace(/\n/g, '; ')}`;
  const terminalProblem = checkTerminalSettings(config, channelsByName(config as unknown as TerminalConfig));
  return terminalProblem ? `config is not valid: ${terminalProblem}` : null;
}

function checkRelay(args: Arguments): string | null {
  if (args.name !== undefined && !(typeof args.name === 'string' && CONFIG_NAME_PATTERN.test(args.name))) {
    return 'name must be a relay name from the configuration (a lower-case identifier of at most 24 characters)';
  }
  const hasOn = args.on !== undefined;
  const hasPulse = args.pulse !== undefined;
  if (hasOn === hasPulse) return `needs either on (true/false) or pulse (1..${PULSE_MAXIMUM_MILLISECONDS} ms)`;
  if (hasOn && typeof args.on !== 'boolean') return 'on must be true or false';
  if (hasPulse && !(typeof args.pulse === 'number' && args.pulse > 0 && args.pulse <= PULSE_MAXIMUM_MILLISECONDS)) {
    return `pulse must be 1..${PULSE_MAXIMUM_MILLISECONDS} ms`;
  }
  return null;
}

function checkRead(args: Arguments): string | null {
  if (args.source !== undefined && !(typeof args.source === 'string' && CONFIG_NAME_PATTERN.test(args.source))) {
    return 'source must be a source name from the configuration (a lower-case identifier of at most 24 characters)';
  }
  return null;
}

function checkTime(args: Arguments): string | null {
  const time = args.time;
  if (typeof time !== 'number' || !(time > TIME_MINIMUM_SECONDS && time < TIME_MAXIMUM_SECONDS)) {
    return 'time must be seconds since 1970, after 2024 and before 2100';
  }
  return null;
}

const noArguments: ArgumentCheck = () => null;

export const COMMANDS: Readonly<Record<string, CommandDefinition>> = {
  config: { fields: ['revision', 'config', 'patch'], check: checkConfig },
  relay: { fields: ['name', 'on', 'pulse'], check: checkRelay },
  read: { fields: ['source'], check: checkRead },
  time: { fields: ['time'], check: checkTime },
  reboot: { fields: [], check: noArguments },
  ping: { fields: [], check: noArguments },
  status: { fields: [], check: noArguments },
};

function refuse(code: number, error: string): CommandCheck {
  return { ok: false, code, error };
}

/** Whether the terminal knows `name` and could decode and act on `argumentsValue` (the JSON from MQTT). */
export function checkCommand(name: string, argumentsValue: unknown): CommandCheck {
  const definition = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!definition) return refuse(CommandRefusalCode.Unknown, `unknown command ${name} (the terminal knows ${Object.keys(COMMANDS).join(', ')})`);
  if (argumentsValue !== undefined && argumentsValue !== null && !isObject(argumentsValue)) {
    return refuse(CommandRefusalCode.BadArguments, `arguments of ${name} must be a JSON object`);
  }
  const args: Arguments = isObject(argumentsValue) ? argumentsValue : {};
  for (const key of Object.keys(args)) {
    if (!definition.fields.includes(key)) {
      const takes = definition.fields.length > 0 ? `${name} takes ${definition.fields.join(', ')}` : `${name} takes no arguments`;
      return refuse(CommandRefusalCode.BadArguments, `unknown argument ${key} (${takes})`);
    }
  }
  const problem = definition.check(args);
  if (problem) return refuse(CommandRefusalCode.BadArguments, `${name}: ${problem}`);
  return checkDecodable(name, argumentsValue ?? null);
}

/** Encodes the command as a response would carry it and decodes that with the terminal's own decoder and limits. */
function checkDecodable(name: string, argumentsValue: unknown): CommandCheck {
  let payload: Uint8Array;
  try {
    const command = { id: LARGEST_COMMAND_ID, name, arguments: argumentsValue === null ? null : jsonToCbor(argumentsValue) };
    payload = encodeDownlink({ acknowledgedReadingId: null, commands: [command], configuration: null, time: null, acknowledgedCommandResults: [] });
  } catch (error) {
    return refuse(CommandRefusalCode.BadArguments, `arguments cannot be encoded: ${(error as Error).message}`);
  }
  if (payload.length > MAXIMUM_COMMAND_BYTES) {
    return refuse(CommandRefusalCode.BadArguments, `command is ${payload.length} bytes of CBOR; at most ${MAXIMUM_COMMAND_BYTES} fit a response`);
  }
  try {
    decodeDownlink(payload);
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    return refuse(CommandRefusalCode.BadArguments, `the terminal could not decode the arguments: ${error.message}`);
  }
  return { ok: true };
}
