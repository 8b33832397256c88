/** Helpers for simulator tests: build a test firmware entry with the real bundler, once per entry/board/config. */
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import type { BoardDefinition } from '../../hal/board';

const cache = new Map<string, Promise<string>>();

export function fixture(name: string): string {
  return path.join(__dirname, 'fixtures', name);
}

/** The minified ES5 bundle of a fixture entry for a board (what `udt build` would flash). */
export function buildFixture(name: string, board: BoardDefinition, config?: unknown): Promise<string> {
  const key = `${name}|${board.id}|${JSON.stringify(config ?? null)}`;
  let built = cache.get(key);
  if (!built) {
    built = bundle({ board, entry: fixture(name), config, name: `${name} for ${board.id}` }).then((result) => result.code);
    cache.set(key, built);
  }
  return built;
}

/** Lines printed on the console, without prompts and escape sequences. */
export function consoleLines(output: string): string[] {
  return output
    .replace(/\r\x1b\[J/g, '\n')
    .split(/\r?\n/)
    .map((line) => line.replace(/^>/, ''))
    .filter((line) => line.length > 0);
}
