import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadBoards, projectRoot } from '../../hal/board-loader';
import type { BoardDefinition } from '../../hal/board';
import { bundle, type BundleResult } from '../../firmware/build/bundle';
import { fieldPartNames, type FieldPartName } from '../../firmware/build/catalog';

export interface BuildCommandOptions {
  board?: string;
  all?: boolean;
  config?: string;
  out?: string;
  parts?: string;
  minify?: boolean;
}

export class UsageError extends Error {
  readonly exitCode = 2;
}

export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Build one board's bundle to <out>/<board>/firmware.js (readable minified JavaScript) and firmware.tok (the
 * same program pretokenised for Espruino: what `udt flash` writes to Storage) and return what was built.
 */
export async function buildBoard(board: BoardDefinition, config: unknown, outDirectory: string, minify = true, parts: FieldPartName[] = []): Promise<BundleResult & { file: string }> {
  const result = await bundle({ board, config, minify, parts });
  const directory = path.join(outDirectory, board.id);
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, 'firmware.js');
  writeFileSync(file, result.code);
  writeFileSync(path.join(directory, 'firmware.tok'), Buffer.from(result.image, 'latin1'));
  writeFileSync(
    path.join(directory, 'build-report.json'),
    JSON.stringify(
      {
        board: board.id,
        bytes: result.bytes,
        plainBytes: result.plainBytes,
        unminifiedBytes: result.unminifiedBytes,
        budgetBytes: result.budgetBytes,
        modules: result.modules,
        drivers: result.driversInside.map((entry) => entry.part),
        driversSelectedButUnused: result.drivers.included.filter((entry) => !result.driversInside.includes(entry)).map((entry) => entry.part),
        missingDrivers: result.drivers.missing.map((entry) => entry.part),
      },
      null,
      2,
    ) + '\n',
  );
  return { ...result, file };
}

export function formatBuildReport(board: BoardDefinition, result: BundleResult & { file: string }): string {
  const budget = result.budgetBytes ?? board.codeBudgetBytes;
  const percent = ((result.bytes / budget) * 100).toFixed(1);
  const lines = [
    `${board.id}: ${path.relative(process.cwd(), result.file)}  ${result.bytes} bytes in Storage pretokenised ` +
      `(${result.plainBytes} minified, ${result.unminifiedBytes} before minifying), ` +
      `budget ${budget} bytes, ${percent}% used`,
    `  board ${board.espruinoBoard}, modem ${board.modem.model}`,
    `  drivers and field parts inside: ${result.driversInside.map((entry) => entry.part).join(', ') || 'none'}`,
  ];
  const unused = result.drivers.included.filter((entry) => !result.driversInside.includes(entry));
  if (unused.length > 0) lines.push(`  selected but not used by the firmware yet: ${unused.map((entry) => entry.part).join(', ')}`);
  if (result.drivers.missing.length > 0) {
    lines.push(`  not yet available (left out): ${result.drivers.missing.map((entry) => `${entry.part} (${entry.file})`).join(', ')}`);
  }
  if (result.drivers.unknownParts.length > 0) lines.push(`  parts with no driver in the catalog: ${result.drivers.unknownParts.join(', ')}`);
  lines.push('  inside (bytes before minifying):');
  for (const module of result.modules) lines.push(`    ${String(module.bytes).padStart(7)}  ${module.file}`);
  return lines.join('\n');
}

/** `--parts modbus,relay` -> the part names, or a usage error naming the ones that do not exist. */
export function parseParts(list: string | undefined): FieldPartName[] {
  if (list === undefined) return [];
  const names = list.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(fieldPartNames as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(`--parts: unknown part ${unknown.map((name) => `"${name}"`).join(', ') || '(none given)'}; parts are ${fieldPartNames.join(', ')}`);
  }
  return names as FieldPartName[];
}

export function registerBuildCommand(program: Command): void {
  program
    .command('build')
    .description('build the firmware bundle for a board: dist/<board>/firmware.js, checked for Espruino and held to the board budget')
    .option('-b, --board <id>', 'board id from boards.json (see `udt boards`)')
    .option('-a, --all', 'build every board')
    .option('-c, --config <file>', 'device configuration JSON to build in as the default configuration')
    .option('-o, --out <dir>', 'output directory', path.join(projectRoot, 'dist'))
    .option('-p, --parts <list>', `field parts to build in beyond what the configuration uses, for configurations sent later by downlink (comma-separated: ${fieldPartNames.join(', ')})`)
    .option('--no-minify', 'keep the bundle readable (it must still fit the budget)')
    .addHelpText(
      'after',
      '\nThe bundle carries the modem driver, the board\'s on-board sensors and only the field parts (Modbus, pulse counters,\n' +
        'input monitors, relays, UART passthrough) the configuration uses or --parts names.\n' +
        '\nExamples:\n  udt build --board pico-bc66\n  udt build --all\n  udt build --board rak5010 --config site.json\n  udt build --board nucleo-l476-bc95 --config site.json --parts relay,modbus',
    )
    .action(async (options: BuildCommandOptions) => {
      const boards = loadBoards();
      if (!options.all && !options.board) throw new UsageError('say which board: --board <id> (one of ' + Object.keys(boards).join(', ') + ') or --all');
      if (options.all && options.board) throw new UsageError('use either --board or --all, not both');
      const selected = options.all ? Object.values(boards) : [boards[options.board!]];
      if (!selected[0]) throw new UsageError(`unknown board "${options.board}"; known boards: ${Object.keys(boards).join(', ')}`);
      const config = options.config ? readJsonFile(options.config, 'device configuration') : undefined;
      const parts = parseParts(options.parts);
      const failures: string[] = [];
      for (const board of selected as BoardDefinition[]) {
        try {
          const result = await buildBoard(board, config, options.out!, options.minify !== false, parts);
          process.stdout.write(formatBuildReport(board, result) + '\n');
        } catch (error) {
          failures.push(board.id);
          process.stderr.write(`${board.id}: build failed\n${(error as Error).message}\n`);
        }
      }
      if (failures.length > 0) {
        const error = new Error(`build failed for ${failures.join(', ')}`);
        (error as Error & { exitCode: number }).exitCode = 1;
        throw error;
      }
    });
}
