/**
 * Acceptance: records appended to a pre-allocated Storage file while the power is cut at every byte offset of a
 * record write. After each reboot Storage was never erased (Espruino erases all of it when it finds it
 * corrupt at boot, and the model does the same) and every fully written record reads back.
 * Also shown: the hazard that makes pre-allocation necessary (a cut inside a new file's size word).
 */
import assert from 'node:assert/strict';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { buildFixture, consoleLines } from './support';

function recovered(board: VirtualBoard): { records: number; torn: number; last: number } {
  const lines = consoleLines(board.consoleOutput()).filter((line) => line.startsWith('recovered '));
  const match = /^recovered (\d+) torn (\d+) last (\d+)/.exec(lines[lines.length - 1] ?? '');
  assert.ok(match, board.consoleOutput());
  return { records: Number(match![1]), torn: Number(match![2]), last: Number(match![3]) };
}

describe('power cuts during Storage writes', () => {
  for (const id of ['pico-bc66', 'nucleo-l476-bc95', 'rak5010']) {
    it(`${id}: a cut at every byte of a record write loses at most that record and never erases Storage`, async function () {
      this.timeout(120_000);
      const definition = loadBoard(id);
      const code = await buildFixture('journal-firmware.ts', definition);

      // How many bytes does one record write program (data plus the flash-word padding around it), and what
      // does the journal hold once record 4 is complete?
      const probe = new VirtualBoard(definition);
      probe.boot(code);
      probe.clock.advance(3500);
      const before = probe.flash.stats().bytesProgrammed;
      probe.clock.advance(1000);
      const bytesPerRecord = probe.flash.stats().bytesProgrammed - before;
      const completeJournal = probe.storage.read('journal')!;
      assert.ok(bytesPerRecord >= 10, `a record write programs ${bytesPerRecord} bytes`);

      for (let cutAfter = 0; cutAfter <= bytesPerRecord; cutAfter++) {
        const board = new VirtualBoard(definition);
        board.boot(code);
        board.clock.advance(3500); // records 1..3 written at 1.1 s, 2.1 s, 3.1 s
        board.flash.cutPowerAfterBytes(cutAfter);
        board.clock.advance(1000); // record 4: cut after `cutAfter` of its bytes (or complete when cutAfter == all)
        if (board.powerState === 'on') board.cutPower('cut between writes');
        // Record 4 counts as fully written when every byte of it is in flash (the padding of the last flash
        // word may still have been on its way).
        const journal = board.storage.read('journal')!;
        const complete = completeJournal.every((byte, index) => byte === 0xff || journal[index] === byte);
        if (cutAfter === bytesPerRecord) assert.ok(complete);
        board.flash.cancelPowerCut();
        board.powerOn();
        board.clock.advance(500);
        const state = recovered(board);
        assert.equal(board.counters.storageErasures, 0, `cut after ${cutAfter} bytes: Storage was erased`);
        assert.ok(board.storage.find('.bootcde'), 'the firmware is still in Storage');
        assert.equal(state.records, complete ? 4 : 3, `cut after ${cutAfter} of ${bytesPerRecord} bytes`);
        assert.equal(state.last, complete ? 4 : 3);
        // The journal carries on after the torn record.
        board.clock.advance(2000);
        board.cutPower();
        board.powerOn();
        board.clock.advance(500);
        assert.equal(recovered(board).records, state.records + 2, 'appending resumes after a torn record');
      }
    });
  }

  it('the hazard: a cut inside a new header in the last page makes Espruino (and the model) erase all of Storage at boot', () => {
    const board = new VirtualBoard(loadBoard('pico-bc66'));
    board.flashFirmware('print("booted");');
    // Fill the first two 16 KB pages so that the next header lands in the last page.
    board.storage.write('keep', new Uint8Array(33_000).fill(0x42), 0, 0, 0);
    board.powerOn();
    board.clock.advance(500);
    board.flash.cutPowerAfterBytes(2); // the first 2 bytes of the next header's size word
    assert.throws(() => board.evaluate('require("Storage").write("new", "data")'));
    assert.equal(board.powerState, 'off');
    board.flash.cancelPowerCut();
    board.powerOn();
    board.clock.advance(500);
    assert.equal(board.counters.storageErasures, 1);
    assert.match(board.consoleOutput(), /Storage is corrupt\.\r\nErasing Storage Area\.\.\./);
    assert.equal(board.storage.find('keep'), null);
    assert.equal(board.storage.find('.bootcde'), null, 'the firmware is gone too');
  });

  it('the other hazard: a torn header with an empty page after it passes the boot check, and the next new file lands on it broken', () => {
    const board = new VirtualBoard(loadBoard('pico-bc66'));
    board.flashFirmware('print("booted");');
    board.powerOn();
    board.clock.advance(500);
    board.flash.cutPowerAfterBytes(2);
    assert.throws(() => board.evaluate('require("Storage").write("b", "data")'));
    board.flash.cancelPowerCut();
    board.powerOn();
    board.clock.advance(500);
    assert.equal(board.counters.storageErasures, 0);
    assert.equal(board.evaluate('require("Storage").write("c", "0123456789")'), true, 'Storage.write reports success');
    assert.equal(board.evaluate('require("Storage").read("c")'), undefined, 'but the file cannot be read back');
  });

  it('a cut after a whole header keeps Storage valid (the torn file is just short of data)', () => {
    const board = new VirtualBoard(loadBoard('pico-bc66'));
    board.flashFirmware('print("booted");');
    board.powerOn();
    board.clock.advance(500);
    board.flash.cutPowerAfterBytes(32 + 3);
    assert.throws(() => board.evaluate('require("Storage").write("new", "0123456789")'));
    board.flash.cancelPowerCut();
    board.powerOn();
    board.clock.advance(500);
    assert.equal(board.counters.storageErasures, 0);
    const torn = board.storage.read('new')!;
    assert.deepEqual(Array.from(torn.subarray(0, 3)), [0x30, 0x31, 0x32]);
    assert.equal(torn[3], 0xff);
  });
});
