/**
 * Acceptance: every board's built bundle boots in the virtual board; code that leans on what Espruino lacks
 * fails there as it would on the board.
 */
import assert from 'node:assert/strict';
import { BudgetExceededError, bundle } from '../../firmware/build/bundle';
import { loadBoard, loadBoards } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { consoleLines } from './support';

describe('firmware bundles on the virtual board', () => {
  for (const definition of Object.values(loadBoards())) {
    it(`boots the ${definition.id} bundle (udt build) and prints its boot line`, async function () {
      // The same build as `udt build` (which fails when the bundle is over the board's code budget).
      let built;
      try {
        built = await bundle({ board: definition });
      } catch (error) {
        // A firmware larger than the board's Storage can hold cannot boot there: say so, as pending, with the figures.
        if (!(error instanceof BudgetExceededError)) throw error;
        console.log(`      ${definition.id}: not booted: ${error.message}`);
        this.skip();
      }
      const board = new VirtualBoard(definition);
      // The pretokenised image, byte for byte what `udt flash` writes to Storage.
      board.boot(built.image);
      board.clock.advance(2000);
      const lines = consoleLines(board.consoleOutput());
      const boot = lines.find((line) => line.startsWith('udt boot'));
      assert.ok(boot, `no boot line in ${JSON.stringify(board.consoleOutput())}`);
      assert.match(boot!, new RegExp(`^udt boot board=${definition.id} version=\\S+ reset=${definition.espruinoBoard === 'LINUX' ? 'unknown' : 'power-on'}`));
      assert.ok(!lines.some((line) => line.startsWith('Uncaught')), board.consoleOutput());
      assert.equal(board.counters.storageErasures, 0);
      // The bundle is stored as Espruino stores boot code, and runs again after a reset.
      assert.equal(board.storage.find('.bootcde')?.header.size, built.image.length);
      assert.ok(built.image.length < built.plainBytes * 0.9, `pretokenised ${built.image.length} of ${built.plainBytes} bytes`);
      board.reset('software');
      board.clock.advance(1000);
      const reboots = consoleLines(board.consoleOutput()).filter((line) => line.startsWith('udt boot'));
      assert.equal(reboots.length, 2);
      if (definition.espruinoBoard !== 'LINUX') assert.match(reboots[1]!, /reset=software/);
    });
  }

  describe('what Espruino lacks fails in the simulator too', () => {
    const run = (code: string): string[] => {
      const board = new VirtualBoard(loadBoard('pico-bc66'));
      board.boot(code);
      board.clock.advance(500);
      return consoleLines(board.consoleOutput());
    };

    it('a bundle using Map stops with a ReferenceError (the same code runs in Node)', () => {
      const code = 'var seen = new Map(); seen.set("a", 1); print("map ok " + seen.get("a"));';
      assert.doesNotThrow(() => new Function('print', code)(() => {}));
      const lines = run(code);
      assert.ok(lines.some((line) => /^Uncaught ReferenceError: Map is not defined/.test(line)), lines.join('\n'));
      assert.ok(!lines.some((line) => line.startsWith('map ok')));
    });

    it('a bundle using destructuring is refused (Espruino has none)', () => {
      const lines = run('var point = { x: 1, y: 2 };\nvar { x, y } = point;\nprint("sum " + (x + y));');
      assert.ok(lines.some((line) => /^Uncaught SyntaxError: destructuring is not supported/.test(line)), lines.join('\n'));
      assert.ok(lines.some((line) => /boot|\.bootcde:2:/.test(line)));
      assert.ok(!lines.some((line) => line.startsWith('sum')));
    });

    it('other absent built-ins are absent and Math.pow is imprecise', () => {
      const lines = run(
        'print([typeof Set, typeof Symbol, typeof Array.from, typeof Object.freeze, typeof Array.prototype.map, typeof [].map].join(","));' +
          'print(Math.pow(2, 32) === 4294967296 ? "exact" : "imprecise");',
      );
      assert.ok(lines.includes('undefined,undefined,undefined,undefined,undefined,function'), lines.join('\n'));
      assert.ok(lines.includes('imprecise'));
      for (const [code, construct] of [
        ['var x = [1, 2]; var y = [].concat(...x);', 'spread'],
        ['function f(a = 1) { return a; }', 'default parameter'],
        ['var o = { a: { b: 1 } }; print(o?.a);', 'optional chaining'],
        ['outer: for (;;) { break outer; }', 'labeled statement'],
        ['async function f() {}', 'async function'],
        ['print(2 ** 8);', '\\*\\* operator'],
      ]) {
        const refused = run(code!);
        assert.ok(refused.some((line) => new RegExp(`^Uncaught SyntaxError: ${construct} is not supported`).test(line)), `${code}: ${refused.join('|')}`);
      }
    });

    it('keeps what Espruino has: arrow functions, classes, template literals, let/const, Promises', () => {
      const lines = run('class A { get v() { return 2; } } const f = (a) => a * new A().v; let s = `v=${f(21)}`; Promise.resolve(s).then(print);');
      assert.ok(lines.includes('v=42'), lines.join('\n'));
    });
  });
});
