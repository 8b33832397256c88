/**
 * Benchmark: 24 virtual hours of a Pico + BC66 terminal (pico-bc66) that sleeps deeply and wakes every
 * 15 minutes to measure an SHT3x over I2C, append a record to a pre-allocated Storage journal and kick its
 * watchdog. The firmware is test/simulator/fixtures/day-firmware.ts built by the real bundler (TS -> ES5,
 * gate, terser) and run as .bootcde in the virtual board. Prints the wall time of the simulation
 * (bundling excluded) and the board's energy figures.
 *
 *   npx tsx bench/simulator-day.ts [--hours 24] [--board pico-bc66]
 */
import path from 'node:path';
import { bundle } from '../firmware/build/bundle';
import { loadBoard } from '../hal/board-loader';
import { VirtualBoard } from '../simulator/board';
import { Sht3x } from '../simulator/models/sht3x';

export interface DayResult {
  boardId: string;
  virtualHours: number;
  wallMilliseconds: number;
  wakes: number;
  events: number;
  deepSleepFraction: number;
  mcuMilliampHours: number;
}

export async function runDay(options: { hours?: number; boardId?: string; watchdogMs?: number } = {}): Promise<DayResult> {
  const hours = options.hours ?? 24;
  const definition = loadBoard(options.boardId ?? 'pico-bc66');
  const built = await bundle({
    board: definition,
    entry: path.join(__dirname, '..', 'test', 'simulator', 'fixtures', 'day-firmware.ts'),
    config: { watchdogMs: options.watchdogMs ?? 0 },
    name: 'day benchmark',
  });
  const board = new VirtualBoard(definition);
  const bus = board.i2cBus();
  if (bus) bus.attach(new Sht3x(board.clock, { address: 0x45, temperature: 18, humidity: 55, energy: board.energy }));
  board.boot(built.code);
  let events = 0;
  const started = process.hrtime.bigint();
  const end = board.clock.now() + hours * 3_600_000;
  while (board.clock.nextEventTime() !== undefined && board.clock.nextEventTime()! <= end) {
    events += board.clock.runUntil(board.clock.nextEventTime()!);
  }
  board.clock.runUntil(end);
  const wallMilliseconds = Number(process.hrtime.bigint() - started) / 1e6;
  const report = board.energy.report();
  const wakes = (board.consoleOutput().match(/wake \d+/g) ?? []).length;
  return {
    boardId: definition.id,
    virtualHours: hours,
    wallMilliseconds,
    wakes,
    events,
    deepSleepFraction: report.deepSleepFraction,
    mcuMilliampHours: report.consumers.mcu ?? 0,
  };
}

if (require.main === module) {
  const argument = (name: string): string | undefined => {
    const index = process.argv.indexOf(name);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const hours = Number(argument('--hours') ?? 24);
  const boards = argument('--board') ? [argument('--board')!] : ['pico-bc66', 'rak5010'];
  (async () => {
    for (const boardId of boards) {
      // The nRF52's watchdog can wait 20 minutes; an STM32's IWDG tops out at 26 s, so the Pico runs without one.
      const watchdogMs = boardId === 'rak5010' ? 20 * 60_000 : 0;
      const result = await runDay({ hours, boardId, watchdogMs });
      process.stdout.write(
        `${result.virtualHours} virtual hours of ${result.boardId} waking every 15 min: ${result.wallMilliseconds.toFixed(0)} ms wall time ` +
          `(${result.wakes} wakes, ${result.events} events, deep sleep ${(result.deepSleepFraction * 100).toFixed(3)}% of the time, ` +
          `MCU ${result.mcuMilliampHours.toFixed(3)} mAh${watchdogMs ? ', watchdog 20 min' : ''})\n`,
      );
      if (result.wallMilliseconds >= 2000) process.exitCode = 1;
    }
  })()
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
