/**
 * `udt config get|set --port P`: read or change the configuration of a running terminal over its console.
 * `set` takes a whole configuration (--file) or `path=value` pairs (a JSON merge patch on the active one,
 * values parsed as JSON when they are JSON, else strings). The new configuration is checked here as the
 * terminal will check it, then handed to the terminal, which validates it again, stores it with the next
 * revision (the last good one kept) and applies it at once, as a downlink configuration command would.
 */
import type { Command } from 'commander';
import { mergePatch } from '../../firmware/application/config-store';
import { ConsoleLink } from '../tooling/console-link';
import { checkDeviceConfig, ToolInputError } from '../tooling/device-files';
import { readJsonFile } from './build';
import { boardById, runTool, ToolRunError } from './flash';

interface ConfigCommonOptions {
  port: string;
  baud: string;
}

export interface ConfigGetOptions extends ConfigCommonOptions {
  path?: string;
}

export interface ConfigSetOptions extends ConfigCommonOptions {
  file?: string;
  revision?: string;
}

interface ActiveConfig {
  board: string;
  revision: number;
  config: unknown;
}

async function openRunning(options: ConfigCommonOptions): Promise<{ link: ConsoleLink; active: ActiveConfig }> {
  const link = await ConsoleLink.open(options.port, { baudRate: Number(options.baud) });
  try {
    await link.handshake();
    const running = await link.evaluate<boolean>('typeof udt=="object"&&udt!==null&&typeof udt.configRevision=="function"');
    if (!running) throw new ToolRunError(`no udt firmware is running on the board at ${options.port} (flash one with \`udt flash\`)`);
    const active = await link.evaluate<ActiveConfig>('{board:udt.environment.board.id,revision:udt.configRevision(),config:udt.terminalConfig()}');
    return { link, active };
  } catch (error) {
    await link.close();
    throw error;
  }
}

/** `a.b.c=value` pairs -> a merge patch. */
export function patchFromAssignments(assignments: string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    if (equals <= 0) throw new ToolInputError('usage', `"${assignment}" is not path=value (e.g. terminal.sendInterval=600000)`);
    const keys = assignment.slice(0, equals).split('.');
    if (keys.some((key) => key.length === 0)) throw new ToolInputError('usage', `"${assignment}": empty name in the path`);
    const text = assignment.slice(equals + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let target = patch;
    for (const key of keys.slice(0, -1)) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1]!] = value;
  }
  return patch;
}

export function valueAt(config: unknown, path: string | undefined): unknown {
  if (!path) return config;
  let value: unknown = config;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) throw new ToolInputError('usage', `the configuration has no ${path}`);
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export async function runConfigGet(options: ConfigGetOptions): Promise<unknown> {
  const { link, active } = await openRunning(options);
  await link.close();
  const value = valueAt(active.config, options.path);
  if (!options.path) process.stderr.write(`configuration revision ${active.revision} of ${active.board}\n`);
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  return value;
}

export async function runConfigSet(options: ConfigSetOptions, assignments: string[]): Promise<{ revision: number; config: unknown }> {
  if (!options.file && assignments.length === 0) throw new ToolInputError('usage', 'say what to change: --file site.json, or path=value pairs');
  if (options.file && assignments.length > 0) throw new ToolInputError('usage', 'use either --file or path=value pairs, not both');
  const { link, active } = await openRunning(options);
  try {
    const candidate = options.file ? readJsonFile(options.file, 'device configuration') : mergePatch(active.config, patchFromAssignments(assignments));
    checkDeviceConfig(candidate, boardById(active.board));
    const revision = options.revision === undefined ? active.revision + 1 : Number(options.revision);
    if (!(Number.isInteger(revision) && revision > active.revision && revision <= 4294967295)) {
      throw new ToolInputError('usage', `--revision must be an integer above the active revision ${active.revision}, got "${options.revision}"`);
    }
    // ASCII only (\u escapes), so the board's atob gives the JSON text unchanged.
    const json = JSON.stringify(candidate).replace(/[\u007f-\uffff]/g, (char) => '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0'));
    const encoded = Buffer.from(json, 'latin1').toString('base64');
    // commandTarget().changeConfig is what a downlink configuration command runs: validate, store, apply.
    const result = await link.evaluate<{ ok: boolean; problem: string | null }>(
      `udt.commandTarget().changeConfig(${revision},JSON.parse(atob("${encoded}")),undefined)`,
      15000,
    );
    if (!result.ok) throw new ToolRunError(`the terminal refused revision ${revision}: ${result.problem}`);
    const now = await link.evaluate<ActiveConfig>('{board:udt.environment.board.id,revision:udt.configRevision(),config:udt.terminalConfig()}');
    if (now.revision !== revision) throw new ToolRunError(`the terminal reports revision ${now.revision} after storing ${revision}`);
    process.stdout.write(`configuration revision ${revision} stored and applied on ${active.board} (was ${active.revision})\n`);
    return { revision, config: now.config };
  } finally {
    await link.close();
  }
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description("read or change a running terminal's configuration over its console");
  config
    .command('get [path]')
    .description('print the active configuration (or one value: terminal.sendInterval)')
    .requiredOption('-p, --port <port>', 'console port: /dev/ttyUSB0, /dev/pts/N, COM3 or tcp://host:port')
    .option('--baud <rate>', 'serial baud rate', '115200')
    .action((path: string | undefined, options: ConfigGetOptions) => runTool('config get', () => runConfigGet({ ...options, path }))());
  config
    .command('set [assignments...]')
    .description('store and apply a new configuration: --file site.json, or path=value pairs merged into the active one')
    .requiredOption('-p, --port <port>', 'console port: /dev/ttyUSB0, /dev/pts/N, COM3 or tcp://host:port')
    .option('--baud <rate>', 'serial baud rate', '115200')
    .option('-f, --file <file>', 'whole configuration JSON')
    .option('--revision <n>', 'revision number (default: the active one + 1)')
    .addHelpText('after', '\nExamples:\n  udt config set --port /dev/ttyACM0 terminal.sendInterval=600000\n  udt config set --port tcp://127.0.0.1:2323 --file site.json')
    .action((assignments: string[], options: ConfigSetOptions) => runTool('config set', () => runConfigSet(options, assignments))());
}
