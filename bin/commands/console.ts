/**
 * `udt console --port P`: the board's Espruino console in this terminal (type at the REPL as in the Web IDE's
 * terminal; Ctrl-] leaves). With --exec it runs one line, prints what the board answers, and exits.
 */
import type { Command } from 'commander';
import { ConsoleLink } from '../tooling/console-link';
import { runTool } from './flash';

export interface ConsoleCommandOptions {
  port: string;
  baud: string;
  exec?: string;
  timeout: string;
}

export async function runConsole(options: ConsoleCommandOptions): Promise<void> {
  const link = await ConsoleLink.open(options.port, { baudRate: Number(options.baud) });
  try {
    if (options.exec !== undefined) {
      await link.handshake();
      const value = await link.evaluate<unknown>(options.exec, Number(options.timeout));
      process.stdout.write((value === undefined ? 'undefined' : JSON.stringify(value, null, 2)) + '\n');
      return;
    }
    process.stderr.write(`[udt console] connected to ${options.port}; Ctrl-] leaves\n`);
    link.onOutput = (text) => process.stdout.write(Buffer.from(text, 'latin1'));
    link.write('\n');
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.stdin.off('data', onInput);
        if (process.stdin.isTTY) process.stdin.setRawMode(false);
        process.stdin.pause();
        resolve();
      };
      const onInput = (chunk: Buffer): void => {
        const leave = chunk.indexOf(0x1d);
        if (leave >= 0) {
          if (leave > 0) link.write(new Uint8Array(chunk.subarray(0, leave)));
          stop();
          return;
        }
        link.write(new Uint8Array(chunk));
      };
      if (process.stdin.isTTY) process.stdin.setRawMode(true);
      process.stdin.on('data', onInput);
      process.stdin.once('end', stop);
      process.once('SIGINT', stop);
    });
    process.stderr.write('\n[udt console] disconnected\n');
  } finally {
    await link.close();
  }
}

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description("open a board's Espruino console (serial port, pty or tcp://); Ctrl-] leaves")
    .requiredOption('-p, --port <port>', 'console port: /dev/ttyUSB0, /dev/pts/N, COM3 or tcp://host:port')
    .option('--baud <rate>', 'serial baud rate', '115200')
    .option('-e, --exec <code>', 'run one expression on the board, print its value as JSON and exit')
    .option('--timeout <ms>', 'with --exec: how long to wait for the answer', '10000')
    .addHelpText('after', '\nExamples:\n  udt console --port /dev/ttyACM0\n  udt console --port tcp://127.0.0.1:2323 --exec "udt.journal.statistics()"')
    .action((options: ConsoleCommandOptions) => runTool('console', () => runConsole(options))());
}
