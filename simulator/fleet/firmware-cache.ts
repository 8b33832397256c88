/**
 * Firmware bundles for fleets and `udt start`, built once per board and configuration and kept in
 * .udt/cache/firmware/ under a hash of everything that goes into them (the firmware and hal sources, the board
 * entry, the configuration, the property names the build keeps), so a second run starts in a second instead of rebuilding.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BoardDefinition } from '../../hal/board';
import { projectRoot } from '../../hal/board-loader';
import { bundle } from '../../firmware/build/bundle';
import { reservedPropertyNames } from '../../firmware/build/property-names';

let sourceHash: string | null = null;

function hashSources(): string {
  if (sourceHash) return sourceHash;
  const hash = createHash('sha256');
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory).sort()) {
      const file = path.join(directory, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (/\.(ts|json)$/.test(entry)) hash.update(path.relative(projectRoot, file)).update(readFileSync(file));
    }
  };
  walk(path.join(projectRoot, 'firmware'));
  walk(path.join(projectRoot, 'hal'));
  hash.update(readFileSync(path.join(projectRoot, 'package.json')));
  // The names the build keeps unshortened depend on the tools' sources too (firmware/build/property-names.ts).
  hash.update(reservedPropertyNames().join(','));
  sourceHash = hash.digest('hex');
  return sourceHash;
}

export interface CachedFirmware {
  code: string;
  /** True when it came from the cache. */
  cached: boolean;
  file: string;
}

export async function firmwareFor(board: BoardDefinition, config: unknown, cacheDirectory = path.join(projectRoot, '.udt', 'cache', 'firmware')): Promise<CachedFirmware> {
  const key = createHash('sha256').update(hashSources()).update(JSON.stringify(board)).update(JSON.stringify(config ?? null)).digest('hex').slice(0, 24);
  const file = path.join(cacheDirectory, `${board.id}-${key}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'latin1'), cached: true, file };
  // The pretokenised image, as `udt flash` writes it to Storage.
  const code = (await bundle({ board, config })).image;
  mkdirSync(cacheDirectory, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, code, 'latin1');
  renameSync(temporary, file);
  return { code, cached: false, file };
}
