/** `udt sim`: the terminal it builds, and its usage errors. (The interactive loop itself was tried by hand.) */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSimulatedTerminal, runSim, SimUsageError, type SimCommandOptions } from '../../bin/commands/sim';
import { consoleLines } from './support';

const options = (overrides: Partial<SimCommandOptions>): SimCommandOptions => ({ board: 'pico-bc66', speed: '1', bridge: [], ...overrides });

describe('udt sim', function () {
  this.timeout(30_000);

  it('builds the board, its firmware and the optional models, and keeps the flash image in a file', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'udt-sim-'));
    try {
      const flash = path.join(directory, 'pico.flash');
      const firmware = path.join(directory, 'firmware.js');
      writeFileSync(firmware, 'print("udt boot board=pico-bc66 (test firmware)");');
      const board = await createSimulatedTerminal(options({ sensors: true, battery: true, flash, firmware }), () => {});
      assert.deepEqual(board.i2cBus()!.addresses(), [0x45, 0x76]);
      board.powerOn();
      board.clock.advance(1000);
      assert.ok(consoleLines(board.consoleOutput()).some((line) => line.startsWith('udt boot board=pico-bc66')));
      board.evaluate('require("Storage").write("marker", "kept")');
      board.flash.saveToFile(flash);
      const again = await createSimulatedTerminal(options({ flash, firmware }), () => {});
      assert.deepEqual(Array.from(again.storage.read('marker')!), [107, 101, 112, 116]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('rejects an unknown board, a bad speed and a bad bridge', async () => {
    await assert.rejects(createSimulatedTerminal(options({ board: 'nope' }), () => {}), (error: Error) => error instanceof SimUsageError && /known boards/.test(error.message));
    await assert.rejects(runSim(options({ speed: '0' })), SimUsageError);
    await assert.rejects(runSim(options({ bridge: ['Serial2:/dev/null'] })), /Serial<N>=<device path>/);
  });
});
