/**
 * A soak (or test) stopped from outside takes its gateway and broker with it (test/support/child-reaper.ts):
 * a real parent process with a real child, stopped by a real signal.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const reaper = path.resolve(__dirname, '..', 'support', 'child-reaper.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pid` is gone (polled: it is not our child, so there is no exit event to wait for). */
async function gone(pid: number, attempts = 200): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

describe('soak: child processes die with the run that started them', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`kills the children when the parent is stopped with ${signal}`, async () => {
      const script = `
        const { spawn } = require('node:child_process');
        const { killWithParent } = require(${JSON.stringify(reaper)});
        const child = killWithParent(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
        console.log(child.pid);
        setInterval(() => {}, 1000);
      `;
      const parent = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const childPid = await new Promise<number>((resolve) => createInterface({ input: parent.stdout! }).once('line', (line) => resolve(Number(line))));
      assert.ok(alive(childPid), 'the child runs');
      const exited = new Promise<number | null>((resolve) => parent.once('exit', (code) => resolve(code)));
      parent.kill(signal);
      assert.equal(await exited, signal === 'SIGTERM' ? 143 : 130);
      assert.ok(await gone(childPid), 'the child is gone with its parent');
    });
  }
});
