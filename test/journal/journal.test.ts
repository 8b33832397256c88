/**
 * The flash journal, bundled for a real board (the build and gate of `udt build`) and run on the virtual
 * Espruino board, whose Storage is a port of Espruino's jsflash.c over a NOR flash model with power-cut injection.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import type { JournalEntry, JournalStatistics } from '../../firmware/journal/journal';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';

const entry = path.join(__dirname, 'fixtures', 'journal-entry.ts');
const journalOptions = { segments: 3, segmentBytes: 240 }; // 10 slots per segment: small, so the ring wraps quickly

async function buildJournalFirmware(): Promise<string> {
  const built = await bundle({ board: loadBoard('pico-bc66'), entry, config: { journal: journalOptions } });
  return built.code;
}

class JournalBoard {
  readonly board = new VirtualBoard(loadBoard('pico-bc66'));
  constructor(code: string) {
    this.board.flashFirmware(code);
    this.powerOn();
  }
  powerOn(): void {
    this.board.powerOn();
    this.board.clock.advance(1000);
    assert.match(this.board.consoleOutput(), /journal ready/);
  }
  append(source: number, time: number, values: number[]): number {
    return this.board.evaluate(`journalTest.append(0, ${source}, ${time}, ${JSON.stringify(values)})`) as number;
  }
  pending(limit = 1000): JournalEntry[] {
    return JSON.parse(this.board.evaluate(`journalTest.pending(${limit})`) as string);
  }
  acknowledge(id: number): void {
    this.board.evaluate(`journalTest.acknowledge(${id})`);
  }
  statistics(): JournalStatistics {
    return JSON.parse(this.board.evaluate('journalTest.statistics()') as string);
  }
  reboot(): void {
    this.board.cutPower('test');
    this.board.clock.advance(10);
    this.powerOn();
  }
}

describe('flash journal on the virtual board', function () {
  this.timeout(60000);
  let code: string;
  before(async () => {
    code = await buildJournalFirmware();
  });

  it('keeps entries and ids across reboots and releases what was acknowledged', () => {
    const terminal = new JournalBoard(code);
    const first = terminal.append(1, 1700000000, [230.5, 1.25, 0.98]);
    const second = terminal.append(2, 1700000060, [21.5]);
    assert.equal(second, first + 1);
    terminal.reboot();
    assert.deepEqual(
      terminal.pending().map((item) => [item.id, item.source, item.time, item.values, item.complete]),
      [
        [first, 1, 1700000000, [230.5, 1.25, 0.98], true],
        [second, 2, 1700000060, [21.5], true],
      ],
    );
    terminal.acknowledge(first);
    terminal.reboot();
    assert.deepEqual(terminal.pending().map((item) => item.id), [second]);
    const third = terminal.append(1, 1700000120, [231]);
    assert.equal(third, second + 1, 'ids continue after reboot');
    terminal.acknowledge(third);
    terminal.reboot();
    assert.deepEqual(terminal.pending(), []);
    assert.equal(terminal.append(1, 0, [1]), third + 1, 'ids continue after everything was acknowledged');
    assert.equal(terminal.board.counters.storageErasures, 0);
  });

  it('is bounded: when full it drops the oldest unacknowledged entries and journals how many', () => {
    const terminal = new JournalBoard(code);
    const capacity = terminal.statistics().capacityRecords;
    assert.equal(capacity, 30);
    const ids: number[] = [];
    for (let index = 0; index < 40; index++) ids.push(terminal.append(3, 1700000000 + index, [index]));
    const statistics = terminal.statistics();
    assert.ok(statistics.droppedRecords > 0, 'some entries were dropped');
    const pending = terminal.pending();
    const reportedLoss = pending.filter((item) => item.kind === 2).reduce((sum, item) => sum + item.values[0]!, 0);
    const readings = pending.filter((item) => item.kind === 0).map((item) => item.id);
    // What is left is the newest entries, in order, with no gap among them, and every loss is reported.
    assert.deepEqual(readings, ids.slice(ids.length - readings.length));
    assert.equal(readings.length + reportedLoss, ids.length);
    assert.equal(statistics.droppedRecords, reportedLoss);
    console.log(`      40 entries into a 30-slot journal: ${statistics.droppedRecords} dropped (and reported), ${readings.length} kept`);
  });

  it('survives a power cut at every byte of a write: never erased, every complete entry reads back', () => {
    const terminal = new JournalBoard(code);
    terminal.append(1, 1700000000, [1, 2, 3]);
    let cuts = 0;
    let torn = 0;
    const before = terminal.pending().map((item) => item.id);
    // Each 3-value entry is three 24-byte slot writes (plus, sometimes, a segment header and erasure).
    for (let offset = 0; offset < 3 * 24 + 40; offset++) {
      const ids = terminal.pending().filter((item) => item.complete).map((item) => item.id);
      terminal.board.flash.cutPowerAfterBytes(offset);
      let appended: number | null = null;
      try {
        appended = terminal.append(1, 1700000100 + offset, [offset, offset + 0.5, -offset]);
      } catch {
        // the evaluation died with the power
      }
      if (terminal.board.powerState === 'off') cuts++;
      terminal.board.flash.cancelPowerCut();
      terminal.reboot();
      const after = terminal.pending();
      const completeIds = after.filter((item) => item.complete).map((item) => item.id);
      for (const id of ids) assert.ok(completeIds.includes(id), `entry ${id} survived a cut at byte ${offset}`);
      if (appended !== null) assert.ok(completeIds.includes(appended), `entry ${appended} finished before the cut`);
      const partial = after.filter((item) => !item.complete);
      torn += partial.length;
      for (const item of partial) {
        // A torn entry keeps the values written before the cut, in order.
        assert.deepEqual(item.values, [offset, offset + 0.5, -offset].slice(0, item.values.length), JSON.stringify(after) + " stats " + JSON.stringify(terminal.statistics()));
      }
      // Acknowledge torn entries so each round starts clean.
      if (partial.length > 0) terminal.acknowledge(Math.max(...after.map((item) => item.id)));
      const ordered = after.map((item) => item.id);
      assert.deepEqual(ordered, [...ordered].sort((a, b) => a - b), 'pending is in id order');
    }
    assert.equal(terminal.board.counters.storageErasures, 0, 'Storage was never erased');
    assert.ok(cuts > 60, `power was cut ${cuts} times`);
    assert.ok(before.length === 1);
    console.log(`      ${cuts} power cuts inside journal writes; ${torn} torn entries found and kept as partial; Storage never erased`);
  });
});
