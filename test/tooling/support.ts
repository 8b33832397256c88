/**
 * A bench for the technician tools: a virtual board whose console is served on TCP (as `udt sim --tcp` serves
 * it), optionally with its modem model routed to a real gateway, a meter and sensors, and its clock paced to
 * wall time (times `speed`) while still waiting for real UDP replies, so console tools and the gateway both see
 * a live board.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { attachModem } from '../../simulator/models/modem-attach';
import type { ModemModelCore } from '../../simulator/models/modem-core';
import { loadProfileJson, ModbusMeterModel } from '../../simulator/models/modbus-meter';
import { Bme280 } from '../../simulator/models/bme280';
import { serveOnTcp, type TcpConsole } from '../../simulator/tcp-console';

export const projectRoot = path.resolve(__dirname, '..', '..');
export const networkEpochMs = Date.parse('2026-08-01T12:00:00Z');

export const siteConfig = {
  version: 1,
  modbus: {
    bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 2 },
    devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 1, interval: 900000, points: ['voltage_l1', 'current_l1', 'power_l1', 'import_energy'] }],
  },
  sensors: [{ name: 'climate', part: 'BME280', address: 0x76, interval: 900000 }],
  terminal: { gateway: { host: '127.0.0.1', port: 5683 } },
};

export interface BenchOptions {
  boardId?: string;
  gatewayPort?: number;
  imei?: string;
  /** Virtual ms per wall ms. */
  speed?: number;
}

export class ConsoleBench {
  board!: VirtualBoard;
  modem: ModemModelCore | null = null;
  tcp!: TcpConsole;
  /** Virtual ms per wall ms; may be changed while running. */
  speed = 20;
  private running = false;
  private loop: Promise<void> | null = null;

  static async start(options: BenchOptions = {}): Promise<ConsoleBench> {
    const bench = new ConsoleBench();
    const board = new VirtualBoard(loadBoard(options.boardId ?? 'nucleo-l476-bc95'));
    bench.board = board;
    if (options.gatewayPort) {
      bench.modem = attachModem(board, {
        radio: { networkEpochMs },
        udp: { route: { host: '127.0.0.1', port: options.gatewayPort }, replyWaitMs: 1000 },
        identity: { imei: options.imei },
      });
    }
    if (board.rs485Bus) {
      const meter = new ModbusMeterModel(board.clock, board.rs485Bus, 1, loadProfileJson('eastron-sdm630'));
      meter.set('voltage_l1', 231.25);
      meter.set('import_energy', 777.5);
    }
    board.i2cBus()?.attach(new Bme280(board.clock, { address: 0x76, temperature: 19.5 }) as never);
    bench.tcp = await serveOnTcp(board.console.host);
    board.powerOn();
    bench.pace(options.speed ?? 20);
    // Tools connect to a board that is up (a real one answers only once it has booted, too).
    while (!board.currentSession?.alive) await new Promise((resolve) => setTimeout(resolve, 5));
    return bench;
  }

  /** Run the board's clock at `speed` virtual ms per wall ms, waiting for real UDP replies on the way. */
  pace(speed: number): void {
    this.speed = speed;
    this.running = true;
    const clock = this.board.clock;
    let wall = Date.now();
    this.loop = (async () => {
      while (this.running) {
        const now = Date.now();
        const target = clock.now() + Math.max(1, (now - wall) * this.speed);
        wall = now;
        await clock.runWithRealIo(target);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.modem?.udp.close();
    await this.tcp.close();
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `udt` command (bin/udt.js) as a child process. */
export function runCli(args: string[], environment: Record<string, string> = {}, timeoutMs = 120000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'udt.js'), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...environment } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`udt ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
