import type { Command } from 'commander';
import { loadBoards } from '../../hal/board-loader';

export function registerBoardsCommand(program: Command): void {
  program
    .command('boards')
    .description('list the supported boards with their modem, ports and budgets')
    .option('--json', 'print the validated board definitions as JSON')
    .action((options: { json?: boolean }) => {
      const boards = loadBoards();
      if (options.json) {
        process.stdout.write(JSON.stringify(boards, null, 2) + '\n');
        return;
      }
      const rows = Object.values(boards).map((board) => [
        board.id,
        board.espruinoBoard,
        board.modem.model,
        board.rs485 ? `${board.rs485.serial.port} DE ${board.rs485.driverEnablePin}` : '-',
        board.i2c ? board.i2c.bus : '-',
        `${Math.round(board.codeBudgetBytes / 1024)} KiB`,
        `${Math.round(board.storage.bytes / 1024)} KiB`,
        board.name,
      ]);
      printTable(['board', 'espruino', 'modem', 'rs485', 'i2c', 'code budget', 'storage', 'description'], rows);
    });
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}
