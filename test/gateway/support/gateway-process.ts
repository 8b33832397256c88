/**
 * The gateway as a child process, for tests that kill it. The CLI entry is bundled once per test run with
 * esbuild (which tsx already brings) so each start costs a Node start-up, not a TypeScript compile.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { killWithParent } from '../../support/child-reaper';

const repositoryRoot = path.resolve(__dirname, '..', '..', '..');
let bundled: string | null = null;

export async function gatewayBundle(directory: string): Promise<string> {
  // The directory of an earlier test may be gone (each test removes its own): bundle again then.
  if (bundled && existsSync(bundled)) return bundled;
  const esbuild = require('esbuild') as typeof import('esbuild');
  const outfile = path.join(directory, 'gateway-cli.cjs');
  const build = (entry: string, output: string) =>
    esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: output,
      // Native and dynamically loaded modules are resolved from the repository at run time (NODE_PATH).
      external: ['better-sqlite3', 'thread-stream', 'pino-pretty'],
      logLevel: 'warning',
    });
  await build(path.join(__dirname, 'gateway-cli-entry.ts'), outfile);
  // The gateway's MQTT worker thread runs this file, found beside the bundle (gateway/mqtt/threaded-publisher.ts).
  await build(path.join(repositoryRoot, 'gateway', 'mqtt', 'publisher-worker.ts'), path.join(directory, 'publisher-worker.cjs'));
  bundled = outfile;
  return outfile;
}

export interface GatewayChild {
  process: ChildProcess;
  /** Resolves with the log line of the started gateway; rejects if the process exits first. */
  ready: Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  output: string[];
}

/** Starts `udt gateway <arguments>` from the bundle; logs (JSON lines) are collected. */
export function spawnGateway(bundle: string, gatewayArguments: string[], environment: NodeJS.ProcessEnv = {}): GatewayChild {
  const child = killWithParent(
    spawn(process.execPath, [bundle, 'gateway', '--log-level', 'info', ...gatewayArguments], {
      env: { ...process.env, NODE_PATH: path.join(repositoryRoot, 'node_modules'), ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'gateway started') resolve(entry);
      } catch {
        // not a log line
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
    exited.then((code) => reject(new Error(`gateway exited (${code}) before it started:\n${output.slice(-20).join('\n')}`)));
  });
  ready.catch(() => undefined);
  return { process: child, ready, exited, output };
}
