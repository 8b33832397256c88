/**
 * Node-side validation of a device configuration (build, `udt flash`, the gateway's config command): the JSON
 * Schema (config.schema.json) checked with ajv, then what a schema cannot say: profiles that exist and have
 * the named points, unique names and unit ids, board inputs and outputs that exist and are used once.
 * Every problem comes back as { path, message } with a JSON pointer into the config. Not part of the bundle.
 */
import Ajv, { type ErrorObject } from 'ajv';
import type { BoardDefinition } from '../../hal/board';
import { unknownPoints, type Profile } from '../modbus/profile';
import { checkConfigEssentials, type ConfigProblem } from './essentials';
import type { DeviceConfig } from './types';
import configSchemaJson from './config.schema.json';

// Imported rather than read beside this file, so that a bundled gateway (esbuild) carries the schema inside.
export const configSchema = configSchemaJson as object;
const ajv = new Ajv({ allErrors: true, strict: true });
const schemaCheck = ajv.compile(configSchema);

export interface ValidationResult {
  valid: boolean;
  problems: ConfigProblem[];
}

function describe(error: ErrorObject): ConfigProblem {
  const where = error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: `${where}/${(error.params as { additionalProperty: string }).additionalProperty}`, message: 'unknown property' };
    case 'required':
      return { path: `${where}/${(error.params as { missingProperty: string }).missingProperty}`, message: 'is required' };
    case 'enum':
      return { path: where, message: `must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}` };
    default:
      return { path: where, message: error.message ?? error.keyword };
  }
}

export interface ValidationContext {
  board?: BoardDefinition;
  /** Profile by id, or null when there is none. */
  profile?: (id: string) => Profile | null;
}

export function validateDeviceConfig(config: unknown, context: ValidationContext = {}): ValidationResult {
  if (!schemaCheck(config)) {
    const problems = (schemaCheck.errors ?? []).map(describe);
    // ajv reports an enum failure once per branch; keep each path/message once.
    const unique = problems.filter((problem, index) => problems.findIndex((other) => other.path === problem.path && other.message === problem.message) === index);
    return { valid: false, problems: unique };
  }
  const problems: ConfigProblem[] = [];
  const essential = checkConfigEssentials(config, context.board ?? null);
  if (essential) problems.push(essential);
  const typed = config as DeviceConfig;
  if (context.profile) {
    (typed.modbus?.devices ?? []).forEach((device, index) => {
      const profile = context.profile!(device.profile);
      if (!profile) {
        problems.push({ path: `/modbus/devices/${index}/profile`, message: `no profile "${device.profile}"` });
        return;
      }
      const missing = unknownPoints(profile, device.points ?? []);
      if (missing.length > 0) problems.push({ path: `/modbus/devices/${index}/points`, message: `profile ${profile.id} has no point ${missing.join(', ')}` });
    });
  }
  return { valid: problems.length === 0, problems };
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((problem) => `${problem.path || '/'}: ${problem.message}`).join('\n');
}
