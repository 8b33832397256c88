/**
 * hal/espruino on the real interpreter: a bundle of hal Storage and Clock code (built by the real bundler for the
 * linux board) runs on Espruino 2v29's Linux build and on the virtual board, and both print the same lines.
 * Skipped when no Espruino binary is found (ESPRUINO_BINARY, default /work/espruino-src/bin/espruino).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';

const binary = process.env.ESPRUINO_BINARY ?? '/work/espruino-src/bin/espruino';

describe('hal/espruino on Espruino 2v29 (Linux build) and on the virtual board', function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(binary)) this.skip();
  });

  it('Storage and Clock give the same results on both', async () => {
    const definition = { ...loadBoard('linux'), storage: { bytes: 262144, pageSize: 1024 } };
    const built = await bundle({ board: definition, entry: path.join(__dirname, 'fixtures', 'hal-on-espruino.ts'), name: 'hal on espruino' });
    const directory = mkdtempSync(path.join(tmpdir(), 'hal-espruino-'));
    try {
      const script = path.join(directory, 'hal.js');
      writeFileSync(script, built.code);
      const real = execFileSync(binary, [script], { cwd: directory, timeout: 30_000, encoding: 'latin1' })
        .split(/\r?\n/)
        .map((line) => line.replace(/^>?\r?(\x1b\[J)?/, ''))
        .filter((line) => /^(read|prealloc|rewrite|missing|huge|name|append|appended|list|used|after|monotonic|timeout)/.test(line));
      const board = new VirtualBoard(definition);
      board.powerOn();
      board.clock.advance(500);
      board.evaluate(built.code);
      board.clock.advance(1000);
      const simulated = board
        .consoleOutput()
        .split(/\r?\n/)
        .map((line) => line.replace(/^>?(\r?\x1b\[J)?/, ''))
        .filter((line) => /^(read|prealloc|rewrite|missing|huge|name|append|appended|list|used|after|monotonic|timeout)/.test(line));
      assert.equal(real.length, 13, real.join('\n'));
      assert.deepEqual(simulated, real);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
