/**
 * `udt sim --board <id>`: boot one virtual terminal and show its Espruino console (type at it as at a real one;
 * Ctrl-] leaves). The firmware is built for the board unless --firmware gives a bundle file; --flash keeps
 * the flash image between runs; --pty offers the console on a pty for `udt console`/EspruinoTools instead;
 * --bridge Serial2=/dev/ttyUSB0 puts a virtual UART on a real port (hardware in the loop).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BoardDefinition } from '../../hal/board';
import { loadBoards } from '../../hal/board-loader';
import { bundle } from '../../firmware/build/bundle';
import { VirtualBoard } from '../../simulator/board';
import { HilBridge, bridgeToPty } from '../../simulator/hil-bridge';
import { AcSupply } from '../../simulator/models/ac-supply';
import { Battery } from '../../simulator/models/battery';
import { Bme280 } from '../../simulator/models/bme280';
import { Sht3x } from '../../simulator/models/sht3x';
import { attachModem } from '../../simulator/models/modem-attach';
import { openPty } from '../../simulator/pty';
import { RealTimeRunner } from '../../simulator/realtime';
import { serveOnTcp } from '../../simulator/tcp-console';

export interface SimCommandOptions {
  board: string;
  firmware?: string;
  flash?: string;
  speed: string;
  pty?: boolean;
  tcp?: string;
  bridge: string[];
  sensors?: boolean;
  battery?: boolean;
  gateway?: string;
  imei?: string;
}

export class SimUsageError extends Error {
  readonly exitCode = 2;
}

/** Build the virtual terminal: board, firmware, optional models and flash image. */
export async function createSimulatedTerminal(options: SimCommandOptions, log: (line: string) => void): Promise<VirtualBoard> {
  const boards = loadBoards();
  const definition: BoardDefinition | undefined = boards[options.board];
  if (!definition) throw new SimUsageError(`no board "${options.board}"; known boards: ${Object.keys(boards).join(', ')}`);
  const board = new VirtualBoard(definition);
  if (options.flash && existsSync(options.flash)) {
    board.flash.loadFromFile(options.flash);
    log(`flash image ${options.flash} loaded`);
  }
  let code: string;
  if (options.firmware) {
    code = readFileSync(options.firmware, 'latin1');
  } else {
    code = (await bundle({ board: definition })).image;
    log(`firmware built for ${definition.id} (${code.length} bytes)`);
  }
  if (options.sensors && board.i2cBus()) {
    board.i2cBus()!.attach(new Sht3x(board.clock, { address: 0x45, energy: board.energy }));
    board.i2cBus()!.attach(new Bme280(board.clock, { address: 0x76, energy: board.energy }));
    log('SHT3x at 0x45 and BME280 at 0x76 on ' + definition.i2c!.bus);
  }
  if (options.battery) {
    new AcSupply(board, true);
    new Battery(board, { capacityMilliampHours: 2600 });
    log('mains on, 2600 mAh Li-ion battery');
  }
  if (options.gateway) {
    const match = /^([^:]+):(\d+)$/.exec(options.gateway);
    if (!match) throw new SimUsageError(`--gateway wants host:port of a gateway on this machine, got "${options.gateway}"`);
    // The modem model sends real UDP (loopback only); network time is the wall clock's.
    attachModem(board, { udp: { route: { host: match[1]!, port: Number(match[2]) } }, radio: { networkEpochMs: Date.now() }, identity: options.imei ? { imei: options.imei } : {} });
    log(`${definition.modem.model} modem model fitted, datagrams to ${options.gateway}`);
  }
  board.flashFirmware(code);
  return board;
}

function parseBridges(specifications: string[]): Array<{ port: string; path: string }> {
  return specifications.map((specification) => {
    const match = /^(Serial\d)=(.+)$/.exec(specification);
    if (!match) throw new SimUsageError(`--bridge wants Serial<N>=<device path>, got "${specification}"`);
    return { port: match[1]!, path: match[2]! };
  });
}

export async function runSim(options: SimCommandOptions): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`[udt sim] ${line}\n`);
  };
  if (!options.board) throw new SimUsageError('say which board: --board <id> (see `udt boards`), or run a fleet: udt sim fleet <scenario>');
  const speed = Number(options.speed);
  if (!(speed > 0)) throw new SimUsageError(`--speed must be a positive number, got "${options.speed}"`);
  const bridges = parseBridges(options.bridge);
  const board = await createSimulatedTerminal(options, log);
  const closers: Array<() => unknown> = [];
  for (const bridge of bridges) {
    const opened = await HilBridge.open(board.clock, board.uartEndpoint(bridge.port), { path: bridge.path, replyWindowMs: 0 });
    closers.push(() => opened.close());
    log(`${bridge.port} bridged to ${bridge.path}`);
  }
  const runner = new RealTimeRunner(board.clock, speed);
  let consoleIn: (data: Uint8Array) => void;
  if (options.pty) {
    const pty = await openPty();
    closers.push(bridgeToPty(board.console.host, pty), () => pty.close());
    log(`console on ${pty.path} (e.g. udt console --port ${pty.path}); Ctrl-C here stops the simulator`);
    consoleIn = () => {};
  } else if (options.tcp !== undefined) {
    const port = Number(options.tcp);
    if (!(port >= 0 && port < 65536)) throw new SimUsageError(`--tcp wants a port number (0 picks a free one), got "${options.tcp}"`);
    const served = await serveOnTcp(board.console.host, port);
    closers.push(() => served.close());
    log(`console on ${served.url} (e.g. udt console --port ${served.url}); Ctrl-C here stops the simulator`);
    consoleIn = () => {};
  } else {
    board.console.host.onData((data) => process.stdout.write(Buffer.from(data)));
    consoleIn = (data) => board.console.host.write(data);
    log(`${board.definition.name}: console below, Ctrl-] to leave`);
  }
  board.on('reset', (event: { cause: string }) => log(`reset (${event.cause})`));
  board.on('storage-erased', () => log('Storage was corrupt and has been erased'));
  board.powerOn();
  runner.start();

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stdin.off('data', onInput);
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      resolve();
    };
    const onInput = (chunk: Buffer): void => {
      if (chunk.includes(0x1d)) {
        stop();
        return;
      }
      consoleIn(new Uint8Array(chunk));
    };
    if (process.stdin.isTTY && !options.pty && options.tcp === undefined) process.stdin.setRawMode(true);
    process.stdin.on('data', onInput);
    process.stdin.once('end', stop);
    process.once('SIGINT', stop);
  });
  runner.stop();
  for (const close of closers) await close();
  if (options.flash) {
    board.flash.saveToFile(options.flash);
    log(`flash image saved to ${options.flash}`);
  }
  const energy = board.energy.report();
  log(`ran ${(board.clock.now() / 1000).toFixed(1)} virtual s; drew ${energy.totalMilliampHours.toFixed(3)} mAh; deep sleep ${(energy.deepSleepFraction * 100).toFixed(1)}%`);
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('boot a virtual terminal and show its Espruino console')
    // Not a required option: `udt sim fleet <scenario>` is a subcommand without one (checked in runSim).
    .option('--board <id>', 'board from boards.json (required unless running `udt sim fleet`)')
    .option('--firmware <file>', 'bundle to run (default: build the firmware for the board)')
    .option('--flash <file>', 'flash image to load at start and save at exit')
    .option('--speed <factor>', 'virtual seconds per real second', '1')
    .option('--pty', 'offer the console on a pty instead of this terminal')
    .option('--tcp <port>', 'offer the console on 127.0.0.1:<port> instead of this terminal (0: a free port)')
    .option('--bridge <port=path>', 'bridge a virtual UART to a real serial port or pty (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--sensors', 'attach an SHT3x and a BME280 to the I2C bus')
    .option('--battery', 'power the board from mains with a backup battery')
    .option('--gateway <host:port>', "fit the board's modem model and send its datagrams to this gateway (e.g. 127.0.0.1:5683)")
    .option('--imei <imei>', "the modem model's IMEI (with --gateway)")
    .action(async (options: SimCommandOptions) => {
      try {
        await runSim(options);
      } catch (error) {
        if (error instanceof SimUsageError) {
          process.stderr.write(`udt sim: ${error.message}\n`);
          process.exitCode = error.exitCode;
          return;
        }
        throw error;
      }
    });
}
