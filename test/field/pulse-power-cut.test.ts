/**
 * Acceptance: 10,000 bouncing pulses with 20 power cuts at random (seeded) moments, counted by the firmware
 * bundle on the virtual board, whose Storage is Espruino's flash file system over a NOR flash model with
 * power-cut injection. Three kinds of cut: at a random time, in the middle of a flash write (a torn record),
 * and announced by the AC-sense input a few ms before (the counter flushes). The count after the last reboot
 * must match what the meter sent, within the documented bound: `saveEvery` pulses per unannounced cut.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { BouncingPulseSource, seededRandom } from './support/pulse-source';

const entry = path.join(__dirname, 'fixtures', 'field-entry.ts');
const definition = loadBoard('pico-bc66');
const pulsePin = definition.digitalInputs.find((input) => input.name === 'pulse1')!.pin;
const acPin = definition.acSense!.pin;

describe('pulse counter through power cuts in the firmware bundle on the virtual board', function () {
  this.timeout(300_000);

  it('10,000 bouncing pulses, 20 power cuts: the count stays within the documented bound', async () => {
    const saveEvery = 10;
    /** A pulse whose contact is still bouncing, or whose event the interpreter has not run yet, when the power goes. */
    const inFlight = 1;
    const config = {
      version: 1,
      pulseInputs: [{ name: 'water', input: 'pulse1', edge: 'falling', debounce: 10, saveEvery, saveInterval: 30_000, unitPerPulse: 10, unit: 'L' }],
    };
    const built = await bundle({ board: definition, entry, config, budgetBytes: 60_000 });
    const board = new VirtualBoard(definition);
    board.gpio.drive(acPin, true);
    board.flashFirmware(built.code);
    let readyCount = 0;
    let counting = false;
    const bootAndWait = (): void => {
      const before = (board.consoleOutput().match(/field ready/g) ?? []).length;
      board.powerOn();
      board.clock.advance(300);
      readyCount = (board.consoleOutput().match(/field ready/g) ?? []).length;
      assert.equal(readyCount, before + 1, 'firmware came up');
      counting = true;
    };
    const source = new BouncingPulseSource(board, pulsePin, { period: 100, lowTime: 40, bounces: 3, bounceSpacing: 0.4 }, () => counting);
    bootAndWait();

    const totalPulses = 10_000;
    const random = seededRandom(20260521);
    const cutTimes = Array.from({ length: 20 }, () => 2_000 + random() * (totalPulses * 100 - 4_000)).sort((a, b) => a - b);
    const kinds = cutTimes.map((_, index) => (['timed', 'torn-write', 'announced'] as const)[index % 3]);
    const losses: Array<{ kind: string; at: number; lost: number }> = [];

    const countNow = (): number => (JSON.parse(board.evaluate('fieldTest.counts()') as string) as { water: number }).water;
    source.run(totalPulses);
    const start = board.clock.now();
    for (let index = 0; index < cutTimes.length; index++) {
      const kind = kinds[index]!;
      board.clock.runUntil(start + cutTimes[index]!);
      if (kind === 'torn-write') {
        // Cut inside the next flash write, at a random byte of it.
        board.flash.cutPowerAfterBytes(Math.floor(random() * 12));
        const deadline = board.clock.now() + 5_000;
        while (board.powerState === 'on' && board.clock.now() < deadline) board.clock.advance(5);
        assert.equal(board.powerState, 'off', 'the armed cut fired during a save');
      } else if (kind === 'announced') {
        board.gpio.drive(acPin, false);
        board.clock.advance(20);
      }
      const cutAt = board.clock.now();
      if (board.powerState === 'on') board.cutPower(kind);
      counting = false;
      // Pulses whose fall settled (bounce + debounce) before the cut were seen by the firmware.
      const seen = source.pulseStarts.filter((time) => time + source.settleTime() + 10 < cutAt).length;
      board.clock.advance(50);
      board.gpio.drive(acPin, true);
      bootAndWait();
      const restored = countNow();
      const lostSoFar = seen - restored;
      losses.push({ kind, at: Math.round(cutAt), lost: lostSoFar - losses.reduce((sum, loss) => sum + loss.lost, 0) });
    }
    while (source.isRunning()) board.clock.advance(1_000);
    board.clock.advance(1_000);
    const delivered = source.pulseStarts.length;
    // The last reboot: an orderly one (the application flushes before a planned reboot).
    board.evaluate('fieldTest.flush()');
    board.cutPower('final');
    board.clock.advance(50);
    bootAndWait();
    const final = countNow();
    const totalLost = delivered - final;
    const worst = Math.max(...losses.map((loss) => loss.lost));
    const byKind = (kind: string) => losses.filter((loss) => loss.kind === kind).map((loss) => loss.lost);
    console.log(`      pulses sent ${delivered}, count after last reboot ${final}, lost ${totalLost} over ${losses.length} cuts`);
    console.log(`      lost per cut: timed [${byKind('timed').join(', ')}], torn write [${byKind('torn-write').join(', ')}], announced [${byKind('announced').join(', ')}]`);
    const bound = (kind: string): number => (kind === 'announced' ? 0 : saveEvery) + inFlight;
    const totalBound = losses.reduce((sum, loss) => sum + bound(loss.kind), 0);
    console.log(`      bound: ${saveEvery} + ${inFlight} per unannounced cut, 0 + ${inFlight} per announced cut (${totalBound} for these cuts); worst cut lost ${worst}`);
    console.log(`      flash: ${JSON.stringify(board.flash.stats())}, storage erasures ${board.counters.storageErasures}`);
    assert.equal(delivered, totalPulses);
    for (const loss of losses) {
      assert.ok(loss.lost >= 0, `a cut never adds pulses (${JSON.stringify(loss)})`);
      assert.ok(loss.lost <= bound(loss.kind), `within the bound: ${JSON.stringify(loss)}`);
    }
    assert.ok(totalLost <= totalBound);
    assert.equal(board.counters.storageErasures, 0, 'Espruino never found Storage corrupt');
  });
});
