/**
 * Fleet scenarios: a JSON file (schema: scenario.schema.json, examples in scenarios/) that says which terminals
 * to simulate together. Loading checks the schema with ajv and then what a schema cannot say (board ids, the
 * device configuration of each group as `udt flash` checks it, profiles, inputs, fault times), and reports
 * every problem with its JSON pointer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { loadBoards } from '../../hal/board-loader';
import { checkDeviceConfig, readProfile, ToolInputError } from '../../bin/tooling/device-files';

export interface MeterSpec {
  profile: string;
  unitId: number;
  values?: Record<string, number>;
}

export interface SensorSpec {
  part: 'SHT3x' | 'BME280';
  address: number;
  temperature?: number;
  humidity?: number;
  pressure?: number;
}

export interface PulseSpec {
  input: string;
  perHour: number;
}

export interface FaultSpec {
  kind: 'modem-hang' | 'power-cut' | 'mains-loss' | 'no-service';
  atHours: number;
  durationMinutes?: number;
  share?: number;
}

export interface GroupSpec {
  name?: string;
  count: number;
  board: string;
  config: Record<string, unknown>;
  startSpreadSeconds?: number;
  meters?: MeterSpec[];
  sensors?: SensorSpec[];
  pulses?: PulseSpec[];
  power?: { mains?: boolean; batteryMilliampHours?: number; chemistry?: 'li-ion' | 'lisocl2' };
  radio?: { coverageClass?: 0 | 1 | 2; uplinkLoss?: number; downlinkLoss?: number; duplicate?: number; attachSeconds?: { minimum: number; maximum: number } };
  faults?: FaultSpec[];
}

export interface Scenario {
  name: string;
  description?: string;
  durationHours?: number;
  drainMinutes?: number;
  start?: string;
  seed?: number;
  imeiBase?: number;
  gateway?: { sqliteSynchronous?: 'FULL' | 'NORMAL' };
  groups: GroupSpec[];
}

export class ScenarioError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`scenario ${source} is not valid:\n  ${problems.join('\n  ')}`);
    this.name = 'ScenarioError';
  }
}

export const scenarioSchema = JSON.parse(readFileSync(path.join(__dirname, 'scenario.schema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat('date-time', { type: 'string', validate: (text: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text) && !Number.isNaN(Date.parse(text)) });
const schemaCheck = ajv.compile(scenarioSchema);

function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown property "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `${where}: "${(error.params as { missingProperty: string }).missingProperty}" is required`;
    case 'enum':
      return `${where}: must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
    default:
      return `${where}: ${error.message ?? error.keyword}`;
  }
}

/** Check a parsed scenario; throws ScenarioError listing every problem. */
export function validateScenario(value: unknown, source = 'scenario'): Scenario {
  if (!schemaCheck(value)) throw new ScenarioError(source, [...new Set((schemaCheck.errors ?? []).map(describe))]);
  const scenario = value as Scenario;
  const problems: string[] = [];
  const boards = loadBoards();
  const duration = scenario.durationHours ?? 24;
  scenario.groups.forEach((group, index) => {
    const where = `/groups/${index}`;
    const board = boards[group.board];
    if (!board) {
      problems.push(`${where}/board: no board "${group.board}" (known: ${Object.keys(boards).join(', ')})`);
      return;
    }
    try {
      checkDeviceConfig(group.config, board);
    } catch (error) {
      if (!(error instanceof ToolInputError)) throw error;
      problems.push(`${where}/config: ${error.message.replace(/\n/g, '; ')}`);
    }
    (group.meters ?? []).forEach((meter, meterIndex) => {
      if (!readProfile(meter.profile)) problems.push(`${where}/meters/${meterIndex}/profile: no profile "${meter.profile}" in profiles/`);
      if (!board.rs485) problems.push(`${where}/meters/${meterIndex}: board ${board.id} has no RS485 port`);
    });
    (group.sensors ?? []).forEach((_sensor, sensorIndex) => {
      if (!board.i2c) problems.push(`${where}/sensors/${sensorIndex}: board ${board.id} has no I2C bus`);
    });
    (group.pulses ?? []).forEach((pulse, pulseIndex) => {
      if (!board.digitalInputs.some((input) => input.name === pulse.input)) {
        problems.push(`${where}/pulses/${pulseIndex}/input: board ${board.id} has no input "${pulse.input}" (it has ${board.digitalInputs.map((input) => input.name).join(', ') || 'none'})`);
      }
    });
    (group.faults ?? []).forEach((fault, faultIndex) => {
      if (fault.atHours >= duration) problems.push(`${where}/faults/${faultIndex}/atHours: ${fault.atHours} h is not within the scenario's ${duration} h`);
    });
    const attach = group.radio?.attachSeconds;
    if (attach && attach.minimum > attach.maximum) problems.push(`${where}/radio/attachSeconds: minimum is above maximum`);
  });
  if (problems.length > 0) throw new ScenarioError(source, problems);
  return scenario;
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [`cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return validateScenario(value, file);
}

export function terminalCount(scenario: Scenario): number {
  return scenario.groups.reduce((sum, group) => sum + group.count, 0);
}

/** The scenarios shipped with udt (simulator/fleet/scenarios/<name>.json). */
export function builtInScenarioFile(name: string): string {
  return path.join(__dirname, 'scenarios', `${name}.json`);
}
