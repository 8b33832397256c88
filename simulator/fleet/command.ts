/**
 * `udt sim fleet <scenario>`: run a fleet scenario (a file, or the name of one in simulator/fleet/scenarios/)
 * as fast as the machine allows, with a live progress line and, at the end, the delivery accounting and an energy
 * report per terminal. Exit status 1 when a reading produced did not arrive.
 */
import { existsSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import type { Command } from 'commander';
import { projectRoot } from '../../hal/board-loader';
import { defaultDataDirectory, Fleet, type FleetProgress } from './fleet';
import { formatSummary, summarize, type FleetSummary } from './report';
import { builtInScenarioFile, loadScenario, ScenarioError, terminalCount, type Scenario } from './scenario';

export interface FleetCommandOptions {
  hours?: string;
  terminals?: string;
  threads?: string;
  json?: string;
  quiet?: boolean;
  perTerminal: boolean;
}

export function resolveScenario(nameOrFile: string): Scenario {
  const file = existsSync(nameOrFile) ? nameOrFile : builtInScenarioFile(nameOrFile);
  if (!existsSync(file)) throw new ScenarioError(nameOrFile, ['no such file, and no built-in scenario of that name (see simulator/fleet/scenarios/)']);
  return loadScenario(file);
}

/** Scale the scenario to `terminals` terminals, keeping the groups' proportions (each group keeps at least one). */
export function scaleScenario(scenario: Scenario, terminals: number): Scenario {
  const total = terminalCount(scenario);
  const groups = scenario.groups.map((group) => ({ ...group, count: Math.max(1, Math.round((group.count * terminals) / total)) }));
  let difference = terminals - groups.reduce((sum, group) => sum + group.count, 0);
  for (let index = 0; difference !== 0 && index < groups.length * 4; index++) {
    const group = groups[index % groups.length]!;
    if (difference > 0) {
      group.count++;
      difference--;
    } else if (group.count > 1) {
      group.count--;
      difference++;
    }
  }
  return { ...scenario, groups };
}

export function progressLine(progress: FleetProgress, untilMs: number): string {
  const hours = progress.virtualMs / 3_600_000;
  const percent = Math.min(100, (progress.virtualMs / untilMs) * 100);
  return `virtual ${hours.toFixed(2)} h (${percent.toFixed(0)}%)  wall ${(progress.wallMs / 1000).toFixed(1)} s  readings delivered ${progress.delivered}  terminals ${progress.terminals}`;
}

export async function runFleetScenario(scenario: Scenario, options: { quiet?: boolean; log?: (line: string) => void; threads?: number } = {}): Promise<FleetSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const fleet = await Fleet.create(scenario, { dataDirectory: defaultDataDirectory(projectRoot, scenario.name), log, threads: options.threads });
  try {
    const durationMs = (scenario.durationHours ?? 24) * 3_600_000;
    const drainMs = (scenario.drainMinutes ?? 30) * 60_000;
    const interactive = process.stderr.isTTY && !options.quiet;
    const started = Date.now();
    await fleet.run(durationMs, {
      progressEveryMs: interactive ? 250 : 5000,
      onProgress: (progress) => {
        if (options.quiet) return;
        if (interactive) process.stderr.write(`\r${progressLine(progress, durationMs)}\x1b[K`);
        else log(progressLine(progress, durationMs));
      },
    });
    // Readings made before the end may still be on their way: give them the drain time, stopping early once none waits.
    const drainEnd = fleet.clock.now() + drainMs;
    while (fleet.clock.now() < drainEnd && (await fleet.accounting()).some((entry) => (entry.waiting ?? 0) > 0)) await fleet.run(Math.min(drainEnd, fleet.clock.now() + 60_000));
    const wallMs = Date.now() - started;
    if (interactive) process.stderr.write('\n');
    await fleet.drainMqtt();
    return await summarize(fleet, wallMs);
  } finally {
    await fleet.close();
  }
}

export function registerFleetCommand(program: Command): void {
  const sim = program.commands.find((command) => command.name() === 'sim');
  const parent = sim ?? program;
  parent
    .command('fleet <scenario>')
    .description('run a fleet scenario (file or built-in name: ' + 'small, utility-100) against a real gateway, as fast as possible; print delivery and energy per terminal')
    .option('--hours <n>', 'virtual hours to run (overrides the scenario)')
    .option('--terminals <n>', 'scale the scenario to this many terminals')
    .option('--threads <n>', 'threads the terminals run in (default: one per core from 20 terminals up)')
    .option('--json <file>', 'also write the summary as JSON')
    .option('--no-per-terminal', 'leave the per-terminal table out of the printed summary')
    .option('-q, --quiet', 'no progress line')
    .addHelpText('after', '\nExamples:\n  udt sim fleet utility-100\n  udt sim fleet small --hours 6\n  udt sim fleet my-scenario.json --terminals 20')
    .action(async (name: string, options: FleetCommandOptions) => {
      try {
        let scenario = resolveScenario(name);
        if (options.hours !== undefined) {
          const hours = Number(options.hours);
          if (!(hours > 0)) throw new ScenarioError(name, [`--hours must be a positive number, got "${options.hours}"`]);
          scenario = { ...scenario, durationHours: hours, groups: scenario.groups.map((group) => ({ ...group, faults: (group.faults ?? []).filter((fault) => fault.atHours < hours) })) };
        }
        if (options.terminals !== undefined) {
          const terminals = Number(options.terminals);
          if (!(Number.isInteger(terminals) && terminals >= 1)) throw new ScenarioError(name, [`--terminals must be a positive integer, got "${options.terminals}"`]);
          scenario = scaleScenario(scenario, terminals);
        }
        let threads: number | undefined;
        if (options.threads !== undefined) {
          threads = Number(options.threads);
          if (!(Number.isInteger(threads) && threads >= 1)) throw new ScenarioError(name, [`--threads must be a positive integer, got "${options.threads}"`]);
        }
        // Each terminal runs its own copy of the firmware in its own V8 context, and V8 optimizes a hot function
        // once per context: with the default tier-up budget V8's background threads (mostly its optimizing
        // compiler) took about a third of the CPU of utility-100 (19 of 56 s; 8 s with this budget). A larger
        // budget keeps functions longer in the interpreter and baseline code, so about a third as many copies get
        // compiled. Set before the shard threads start, so that their isolates use it from the beginning.
        v8.setFlagsFromString('--interrupt-budget=500000');
        const summary = await runFleetScenario(scenario, { quiet: options.quiet, threads });
        process.stdout.write(formatSummary(summary, { perTerminal: options.perTerminal }) + '\n');
        if (options.json) writeFileSync(options.json, JSON.stringify(summary, null, 2) + '\n');
        if (!summary.complete) process.exitCode = 1;
      } catch (error) {
        if (error instanceof ScenarioError) {
          process.stderr.write(`udt sim fleet: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
    });
}
