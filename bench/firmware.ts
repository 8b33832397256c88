/**
 * `npm run bench:firmware`: for every board, the full terminal firmware (firmware/main.ts with a representative
 * configuration: an SDM630 on RS485, an SHT3x where the board has I2C, a pulse input) built as `udt build` does,
 * and the core alone (no configuration: modem, protocol, journal, application),
 * its size against the board's code budget and Storage, and the variable blocks it holds after boot, the first
 * sampling round and its uplink: the simulator's process.memory() and the heap-walk estimate of
 * bench/firmware-memory.ts (run in a child process so the bundler's heap stays out of the snapshot).
 * Target (issue 7): the full firmware on an Espruino Pico (5,100 blocks) with at least 40 % free after boot.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundle } from '../firmware/build/bundle';
import { loadBoards, projectRoot } from '../hal/board-loader';
import type { BoardDefinition } from '../hal/board';

/** The configuration of the acceptance tests, trimmed to what the board has. */
export function representativeConfig(board: BoardDefinition): Record<string, unknown> {
  const config: Record<string, unknown> = {
    version: 1,
    terminal: { gateway: { host: '127.0.0.1', port: 5683 } },
    pulseInputs: [{ name: 'water', input: 'pulse1', unitPerPulse: 10, unit: 'l' }],
  };
  if (board.rs485) {
    config.modbus = {
      bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 2 },
      devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 1, interval: 900000, points: ['voltage_l1', 'current_l1', 'power_l1', 'import_energy'] }],
    };
  }
  if (board.i2c) config.sensors = [{ name: 'climate', part: 'SHT3x', address: 0x45, interval: 900000 }];
  return config;
}

interface MemoryLine {
  blocks: number;
  functions: number;
  objects: number;
  exchanges: number;
  simulatorMemory: { usage: number; total: number };
  byKind: Record<string, number>;
  byOwner: Record<string, number>;
}

async function main(): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'udt-bench-firmware-'));
  const boards = loadBoards();
  const rows: string[] = [];
  try {
    for (const board of Object.values(boards)) {
      const built = await bundle({ board, config: representativeConfig(board), budgetBytes: 1 << 22 });
      const core = await bundle({ board, budgetBytes: 1 << 22 });
      const file = path.join(directory, board.id + '.js');
      writeFileSync(file, built.image, 'latin1');
      const storageFree = board.storage.bytes - built.bytes;
      // Flash the bundle on a copy with enough Storage when the real one cannot hold it: the RAM is what it would need.
      const args = [path.join(projectRoot, 'bench', 'firmware-memory.ts'), board.id, file];
      if (storageFree < 32768) args.push(String(Math.ceil((built.bytes + 262144) / board.storage.pageSize) * board.storage.pageSize));
      let memory: MemoryLine | null = null;
      try {
        const output = execFileSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), args, { encoding: 'utf8', maxBuffer: 1 << 24 });
        memory = JSON.parse(output.trim().split('\n').pop()!) as MemoryLine;
      } catch (error) {
        console.error(`${board.id}: memory measurement failed: ${(error as Error).message}`);
      }
      const budget = board.codeBudgetBytes;
      console.log(`${board.id} (${board.espruinoBoard}, ${board.modem.model})`);
      console.log(
        `  bundle ${built.bytes} bytes in Storage, pretokenised (${built.plainBytes} minified, ${built.unminifiedBytes} before), code budget ${budget} (${((built.bytes / budget) * 100).toFixed(0)} %: ` +
          `${built.bytes <= budget ? 'fits' : 'over by ' + (built.bytes - budget)}), Storage ${board.storage.bytes} bytes` +
          (storageFree < 0 ? ` (the bundle alone does not fit: measured on a copy with more flash)` : ''),
      );
      console.log(`  core alone (no configuration): ${core.bytes} bytes in Storage (${core.bytes <= budget ? 'fits' : 'over by ' + (core.bytes - budget)})`);
      if (memory) {
        const free = board.variables - memory.blocks;
        console.log(
          `  variables after boot + first round and uplink (${memory.exchanges} exchanges): estimate ${memory.blocks} of ${board.variables} blocks ` +
            `(${free >= 0 ? ((free / board.variables) * 100).toFixed(0) + ' % free' : 'over by ' + -free}); simulator process.memory() usage ${memory.simulatorMemory.usage} of ${memory.simulatorMemory.total}`,
        );
        console.log(`    by kind: ${Object.entries(memory.byKind).map(([kind, blocks]) => `${kind} ${blocks}`).join(', ')}; ${memory.functions} functions, ${memory.objects} objects`);
        const owners = Object.entries(memory.byOwner).sort((left, right) => right[1] - left[1]).slice(0, 8);
        console.log(`    largest holders: ${owners.map(([owner, blocks]) => `${owner} ${blocks}`).join(', ')}`);
        rows.push(`| ${board.id} | ${built.bytes} | ${core.bytes} | ${budget} | ${board.storage.bytes} | ${memory.blocks} | ${board.variables} | ${free >= 0 ? ((free / board.variables) * 100).toFixed(0) + ' %' : 'over by ' + -free} |`);
      }
      const modules = built.modules.slice(0, 6).map((module) => `${module.file} ${module.bytes}`).join(', ');
      console.log(`    largest modules (bytes before minifying): ${modules}`);
    }
    console.log('\n| board | bundle bytes in Storage | core alone | code budget | Storage | variable blocks (estimate) | board blocks | free after boot |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
