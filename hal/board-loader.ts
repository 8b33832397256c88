/**
 * Loads and checks boards.json (Node side: build, simulator, CLI). Beyond the JSON Schema it checks what a
 * schema cannot: every pin used exists on that board, no pin or serial port is used twice.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import type { BoardDefinition } from './board';
import boardSchema from './boards.schema.json';

export const projectRoot = path.resolve(__dirname, '..');
/** boards.json of this project; UDT_BOARDS_FILE points elsewhere (a site's own board list, or a test's). */
export const defaultBoardsFile = process.env.UDT_BOARDS_FILE || path.join(projectRoot, 'boards.json');

export class BoardDefinitionError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
    this.name = 'BoardDefinitionError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(boardSchema);

/** Validate parsed boards.json content; returns the boards keyed by id or throws BoardDefinitionError naming each bad field. */
export function checkBoards(content: unknown, file = 'boards.json'): Record<string, BoardDefinition> {
  if (!validateSchema(content)) {
    const problems = (validateSchema.errors ?? [])
      .filter((error) => error.keyword !== 'oneOf' || (validateSchema.errors ?? []).length === 1)
      .map((error) => {
        const where = error.instancePath || '/';
        const detail =
          error.keyword === 'required'
            ? `missing required field "${(error.params as { missingProperty: string }).missingProperty}"`
            : error.keyword === 'enum'
              ? `${error.message}: ${(error.params as { allowedValues: unknown[] }).allowedValues.map((value) => JSON.stringify(value)).join(', ')}`
              : error.keyword === 'additionalProperties'
                ? `unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`
                : error.message ?? error.keyword;
        return `${where}: ${detail}`;
      });
    throw new BoardDefinitionError(file, dedupe(problems));
  }
  const boards = (content as { boards: Record<string, Omit<BoardDefinition, 'id'>> }).boards;
  const result: Record<string, BoardDefinition> = {};
  const problems: string[] = [];
  for (const [id, entry] of Object.entries(boards)) {
    const board: BoardDefinition = { id, ...entry };
    problems.push(...crossCheck(board));
    result[id] = board;
  }
  if (problems.length > 0) throw new BoardDefinitionError(file, problems);
  return result;
}

export function loadBoards(file = defaultBoardsFile): Record<string, BoardDefinition> {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BoardDefinitionError(file, [`cannot read: ${(error as Error).message}`]);
  }
  return checkBoards(content, file);
}

export function loadBoard(id: string, file = defaultBoardsFile): BoardDefinition {
  const boards = loadBoards(file);
  const board = boards[id];
  if (!board) {
    throw new BoardDefinitionError(file, [`no board "${id}"; known boards: ${Object.keys(boards).join(', ')}`]);
  }
  return board;
}

function crossCheck(board: BoardDefinition): string[] {
  const problems: string[] = [];
  const pinUsers = new Map<string, string>();
  const usePin = (pin: string | undefined, role: string): void => {
    if (pin === undefined) return;
    if (!board.pins.includes(pin)) problems.push(`/boards/${board.id}/${role}: pin ${pin} does not exist on ${board.espruinoBoard}`);
    const previous = pinUsers.get(pin);
    if (previous) problems.push(`/boards/${board.id}/${role}: pin ${pin} is already used by ${previous}`);
    else pinUsers.set(pin, role);
  };
  const portUsers = new Map<string, string>();
  const useSerial = (serial: BoardDefinition['modem']['serial'] | undefined, role: string): void => {
    if (!serial) return;
    const previous = portUsers.get(serial.port);
    if (previous) problems.push(`/boards/${board.id}/${role}/port: ${serial.port} is already used by ${previous}`);
    else portUsers.set(serial.port, role);
    if (serial.path && board.espruinoBoard !== 'LINUX') {
      problems.push(`/boards/${board.id}/${role}/path: device paths exist only on the LINUX build`);
    }
    usePin(serial.tx, `${role}/tx`);
    usePin(serial.rx, `${role}/rx`);
    usePin(serial.cts, `${role}/cts`);
  };
  if (board.codeBudgetBytes >= board.storage.bytes) {
    problems.push(`/boards/${board.id}/codeBudgetBytes: ${board.codeBudgetBytes} leaves no room for data in ${board.storage.bytes} bytes of Storage`);
  }
  useSerial(board.modem.serial, 'modem/serial');
  usePin(board.modem.powerKey?.pin, 'modem/powerKey');
  usePin(board.modem.reset?.pin, 'modem/reset');
  usePin(board.modem.psmWake?.pin, 'modem/psmWake');
  useSerial(board.rs485?.serial, 'rs485/serial');
  usePin(board.rs485?.driverEnablePin, 'rs485/driverEnablePin');
  useSerial(board.auxiliarySerial ?? undefined, 'auxiliarySerial');
  usePin(board.i2c?.scl, 'i2c/scl');
  usePin(board.i2c?.sda, 'i2c/sda');
  board.digitalInputs.forEach((input, index) => usePin(input.pin, `digitalInputs/${index}`));
  board.digitalOutputs.forEach((output, index) => usePin(output.pin, `digitalOutputs/${index}`));
  usePin(board.battery?.pin, 'battery/pin');
  usePin(board.acSense?.pin, 'acSense/pin');
  const names = [...board.digitalInputs, ...board.digitalOutputs].map((entry) => entry.name);
  for (const name of names.filter((name, index) => names.indexOf(name) !== index)) {
    problems.push(`/boards/${board.id}: digital pin name "${name}" is used twice`);
  }
  return problems;
}

function dedupe(lines: string[]): string[] {
  return lines.filter((line, index) => lines.indexOf(line) === index);
}
