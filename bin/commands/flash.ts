/**
 * `udt flash --board B --port P --device IMEI [--config site.json] [--secrets file]`: build the firmware for the
 * board (or take --firmware), write it as boot code with the device's keys, configuration and profiles over the
 * board's console (serial port, pty or tcp://), verify every file by CRC-32, reboot, and print a summary.
 * Works offline: nothing but the port is contacted.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BoardDefinition } from '../../hal/board';
import { loadBoards } from '../../hal/board-loader';
import { BudgetExceededError, bundle } from '../../firmware/build/bundle';
import { ConsoleError, ConsoleLink } from '../tooling/console-link';
import { checkDeviceConfig, deviceFiles, keysFromSecrets, readSecretsFile, secretsFromRegistry, ToolInputError } from '../tooling/device-files';
import { FlashError, flashTerminal, hex32, type FlashReport } from '../tooling/flasher';
import { parseParts, readJsonFile } from './build';
import type { FieldPartName } from '../../firmware/build/catalog';

export interface FlashCommandOptions {
  board: string;
  port: string;
  device?: string;
  config?: string;
  secrets?: string;
  registry?: string;
  firmware?: string;
  parts?: string;
  revision: string;
  baud: string;
  wait: boolean;
}

/** Exit status 1 with the message (a problem with the board, the port or the firmware). */
export class ToolRunError extends Error {
  readonly exitCode = 1;
}

export function boardById(id: string): BoardDefinition {
  const boards = loadBoards();
  const board = boards[id];
  if (!board) throw new ToolInputError('usage', `no board "${id}"; known boards: ${Object.keys(boards).join(', ')} (see \`udt boards\`)`);
  return board;
}

export async function runFlash(options: FlashCommandOptions, print: (line: string) => void): Promise<FlashReport> {
  const board = boardById(options.board);
  const revision = Number(options.revision);
  let parts: FieldPartName[];
  try {
    parts = parseParts(options.parts);
  } catch (error) {
    throw new ToolInputError('usage', (error as Error).message);
  }
  if (!(Number.isInteger(revision) && revision >= 1 && revision <= 4294967295)) throw new ToolInputError('usage', `--revision must be an integer 1..4294967295, got "${options.revision}"`);
  if (options.device !== undefined && !/^[0-9]{15}$/.test(options.device)) throw new ToolInputError('usage', `--device wants the modem's IMEI (15 digits), got "${options.device}"`);
  if ((options.secrets || options.registry) && !options.device) throw new ToolInputError('usage', '--secrets/--registry need --device <IMEI>');
  if (options.device && !options.secrets && !options.registry) {
    throw new ToolInputError('usage', `no keys for device ${options.device}: give --secrets <file> (from \`udt gateway provision --imei ${options.device} --out <file>\`) or, on a development setup, --registry <gateway data directory>`);
  }
  const config = options.config ? readJsonFile(options.config, 'device configuration') : null;
  if (config) checkDeviceConfig(config, board);
  const secrets = options.device ? (options.secrets ? readSecretsFile(options.secrets, options.device) : secretsFromRegistry(options.registry!, options.device)) : null;
  const files = deviceFiles({ config, revision, keys: secrets ? keysFromSecrets(secrets) : null });

  let firmware: string;
  if (options.firmware) {
    try {
      firmware = readFileSync(options.firmware, 'latin1');
    } catch (error) {
      throw new ToolInputError('usage', `cannot read --firmware ${options.firmware}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (firmware.length > board.codeBudgetBytes) throw new FlashError('too-big', `${options.firmware} is ${firmware.length} bytes, over the ${board.id} code budget of ${board.codeBudgetBytes} bytes`);
  } else {
    print(`building the firmware for ${board.id}...`);
    try {
      firmware = (await bundle({ board, config: config ?? undefined, parts })).image;
    } catch (error) {
      if (error instanceof BudgetExceededError) throw new FlashError('too-big', `${error.message}; the firmware does not fit this board (see \`udt boards\`)`);
      throw error;
    }
  }

  const link = await ConsoleLink.open(options.port, { baudRate: Number(options.baud) });
  try {
    const report = await flashTerminal(link, { board, firmware, files, bootWaitMs: options.wait ? 30000 : 0, progress: (text) => print(text) });
    print('');
    print(`flashed ${board.id} (${board.espruinoBoard}, Espruino ${report.identity.version}) on ${options.port} in ${(report.wallMs / 1000).toFixed(1)} s`);
    if (secrets) print(`  device ${secrets.imei}, OSCORE kid ${secrets.oscore.kid}`);
    for (const file of report.files) print(`  ${file.name.padEnd(22)} ${String(file.bytes).padStart(7)} bytes  CRC-32 ${hex32(file.crc32)}  ${file.what}  verified`);
    if (report.bootLine) print(`  boot: ${report.bootLine}`);
    return report;
  } finally {
    await link.close();
  }
}

/** The common error handling of the technician commands: known problems print one clear message. */
export function runTool(name: string, run: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    try {
      await run();
    } catch (error) {
      if (error instanceof ToolInputError || error instanceof ConsoleError || error instanceof FlashError || error instanceof ToolRunError) {
        process.stderr.write(`udt ${name}: ${error.message}\n`);
        if (error instanceof ConsoleError && error.output && error.problem !== 'port') process.stderr.write(`last console output:\n${error.output.slice(-800)}\n`);
        process.exitCode = error instanceof ToolInputError ? 2 : 1;
        return;
      }
      throw error;
    }
  };
}

export function registerFlashCommand(program: Command): void {
  const command = program
    .command('flash')
    .description('build the firmware and write it, the device keys and its configuration to a board over its console; verify and reboot')
    .requiredOption('-b, --board <id>', 'board id from boards.json (see `udt boards`)')
    .requiredOption('-p, --port <port>', 'console port: /dev/ttyUSB0, /dev/pts/N, COM3 or tcp://host:port')
    .option('-d, --device <imei>', "the device's IMEI (its keys are written)")
    .option('-c, --config <file>', 'device configuration JSON (written to Storage and built in as the default)')
    .option('-s, --secrets <file>', 'device secrets exported by `udt gateway provision --out`')
    .option('--registry <dir>', 'development: read the device secrets from this gateway data directory instead')
    .option('--firmware <file>', 'write this bundle instead of building one')
    .option('--parts <list>', 'field parts to build in beyond what --config uses, for configurations sent later (modbus, pulseCounter, inputMonitor, relay, passthrough)')
    .option('--revision <n>', 'revision of the written configuration', '1')
    .option('--baud <rate>', 'serial baud rate', '115200')
    .option('--no-wait', 'do not wait for the boot line after the reboot')
    .addHelpText(
      'after',
      '\nExamples:\n  udt gateway provision --imei 490154203237518 --out 490154203237518.json\n' +
        '  udt flash --board nucleo-l476-bc95 --port /dev/ttyACM0 --device 490154203237518 --secrets 490154203237518.json --config site.json\n' +
        '  udt flash --board linux --port tcp://127.0.0.1:2323 --device 490154203237518 --registry .udt/gateway --config site.json',
    );
  command.action((options: FlashCommandOptions) =>
    runTool('flash', () => runFlash(options, (line) => process.stdout.write(line + '\n')))(),
  );
}
