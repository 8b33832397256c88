/**
 * Acceptance: a firmware that stops kicking the watchdog is reset within its timeout, and the next boot
 * knows it was the watchdog (through the MCU's reset-reason register, as on the real part).
 */
import assert from 'node:assert/strict';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { buildFixture, consoleLines } from './support';

describe('watchdog on the virtual board', () => {
  for (const id of ['pico-bc66', 'rak5010', 'nucleo-l476-bc95']) {
    it(`${id}: a main loop that stops kicking is reset within the 5 s timeout`, async () => {
      const definition = loadBoard(id);
      const code = await buildFixture('watchdog-firmware.ts', definition, { loops: 3 });
      const board = new VirtualBoard(definition);
      const resets: number[] = [];
      board.on('reset', (event: { cause: string; time: number }) => resets.push(event.time));
      board.boot(code);
      board.clock.advance(20_000);
      const lines = consoleLines(board.consoleOutput());
      assert.match(lines[0]!, /^boot reason=power-on/);
      // getTime() starts at 0 at power-on, with the virtual clock: "at=" is the virtual time of the kick.
      const lastKick = Number(/^kick 3 at=(\d+)/.exec(lines.find((line) => line.startsWith('kick 3'))!)![1]);
      assert.ok(board.counters.watchdogResets >= 1);
      assert.ok(resets[0]! > lastKick && resets[0]! <= lastKick + 5000 + 1, `reset at ${resets[0]} ms, last kick at ${lastKick} ms`);
      assert.ok(lines.some((line) => line.startsWith('boot reason=watchdog')), lines.join('\n'));
    });
  }

  it('a firmware stuck in a busy loop is reset by the watchdog (hang detection on)', async () => {
    const definition = loadBoard('pico-bc66');
    const code = await buildFixture('watchdog-firmware.ts', definition, { loops: 2, hang: true });
    const board = new VirtualBoard(definition, { hangTimeoutMs: 1000 });
    board.boot(code);
    board.clock.advance(8_000);
    // Hung 1 s after boot (after two kicks), reset 5 s later; the new boot hangs again the same way.
    assert.ok(board.counters.hangs >= 1);
    assert.equal(board.counters.watchdogResets, 1);
    const lines = consoleLines(board.consoleOutput());
    assert.ok(lines.some((line) => line.startsWith('boot reason=watchdog')), lines.join('\n'));
  });

  it('without a watchdog a hung firmware stays hung until the power is cycled', () => {
    const board = new VirtualBoard(loadBoard('pico-bc66'), { hangTimeoutMs: 1000 });
    board.boot('setTimeout(function () { for (;;) {} }, 10);');
    board.clock.advance(60_000);
    assert.equal(board.counters.hangs, 1);
    assert.equal(board.counters.boots, 1);
    assert.equal(board.currentSession, null);
    board.cutPower();
    board.powerOn();
    board.clock.advance(1000);
    assert.equal(board.counters.boots, 2);
  });

  it('E.enableWatchdog in automatic mode is kicked by the idle loop, and not while a callback hangs', () => {
    // A hang is a callback still running after hangTimeoutMs of real time: 1 s, so that a busy machine never
    // takes an ordinary callback for a hang (30 ms did, under load).
    const board = new VirtualBoard(loadBoard('pico-bc66'), { hangTimeoutMs: 1000 });
    board.boot('E.enableWatchdog(2); setInterval(function () {}, 500); setTimeout(function () { for (;;) {} }, 10000);');
    board.clock.advance(9000);
    assert.equal(board.counters.watchdogResets, 0);
    board.clock.advance(3000);
    assert.equal(board.counters.watchdogResets, 1);
  });
});
