/**
 * `npm run soak`: the zero-loss soak of the whole system (bench/soak/run.ts). Prints produced, delivered, lost,
 * duplicated and wrong value, every fault actually injected, and the wall time; exits 1 unless lost = 0,
 * duplicated = 0, wrong value = 0.
 *
 *   npm run soak                                   # 50 terminals x 7 virtual days, every fault
 *   npm run soak -- --quick                        # the CI size (6 terminals x 1 day)
 *   npm run soak -- --terminals 20 --days 3 --seed 4 --broker aedes --json soak.json
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { fullOptions, quickOptions, type SoakOptions } from './soak/faults';
import { formatReport, verdict } from './soak/report';
import { runSoak } from './soak/run';

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return value;
}

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a number above 0');
  return value;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('must be a whole number of at least 0');
  return value;
}

const program = new Command('soak')
  .description('the zero-loss soak: built firmware on virtual boards, real UDP, the gateway process and a real broker under every fault at once')
  .option('--quick', 'the CI size: 6 terminals x 1 day, 2 gateway kills, 1 broker restart, 1 hang and 3 power cuts per terminal')
  .option('--terminals <n>', 'terminals', positiveInteger)
  .option('--days <d>', 'virtual days', positive)
  .option('--seed <s>', 'seed of the terminals, faults and meter values', nonNegativeInteger)
  .option('--loss <fraction>', 'datagram loss each way (0..0.9)', (text) => {
    const value = Number(text);
    if (!(value >= 0 && value <= 0.9)) throw new InvalidArgumentError('must be 0..0.9');
    return value;
  })
  .option('--drift <ppm>', 'crystal drift range, +-ppm', (text) => {
    const value = Number(text);
    if (!(value >= 0 && value < 10000)) throw new InvalidArgumentError('must be 0..10000');
    return value;
  })
  .option('--gateway-kills <n>', 'gateway SIGKILL restarts', nonNegativeInteger)
  .option('--broker-restarts <n>', 'broker restarts', nonNegativeInteger)
  .option('--hangs <n>', 'modem hangs per terminal', nonNegativeInteger)
  .option('--power-cuts <n>', 'power cuts during flash writes per terminal', nonNegativeInteger)
  .option('--broker <kind>', 'mosquitto or aedes (default: mosquitto when installed)', (text) => {
    if (text !== 'mosquitto' && text !== 'aedes') throw new InvalidArgumentError('must be mosquitto or aedes');
    return text;
  })
  .option('--json <file>', 'also write the whole report as JSON')
  .action(async (flags: Record<string, unknown>) => {
    const log = (line: string): void => console.log(line);
    const options: SoakOptions = flags.quick ? quickOptions(log) : fullOptions(log);
    if (flags.terminals !== undefined) options.terminals = flags.terminals as number;
    if (flags.days !== undefined) options.days = flags.days as number;
    if (flags.seed !== undefined) options.seed = flags.seed as number;
    if (flags.loss !== undefined) options.loss = flags.loss as number;
    if (flags.drift !== undefined) options.driftPpm = flags.drift as number;
    if (flags.gatewayKills !== undefined) options.gatewayKills = flags.gatewayKills as number;
    if (flags.brokerRestarts !== undefined) options.brokerRestarts = flags.brokerRestarts as number;
    if (flags.hangs !== undefined) options.hangsPerTerminal = flags.hangs as number;
    if (flags.powerCuts !== undefined) options.powerCutsPerTerminal = flags.powerCuts as number;
    if (flags.broker !== undefined) options.broker = flags.broker as SoakOptions['broker'];
    const report = await runSoak(options);
    console.log('\n' + formatReport(report));
    if (typeof flags.json === 'string') writeFileSync(flags.json, JSON.stringify(report, null, 2));
    process.exitCode = verdict(report).passed ? 0 : 1;
  });

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
