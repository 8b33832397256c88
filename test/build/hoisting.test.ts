/**
 * Espruino hoists neither `var` nor function declarations (measured on 2v29). The build rewrites every `var` that
 * is not a leading statement of its function (firmware/build/hoist.ts) and the gate checks that nothing depends on
 * hoisting (checkDeclarationsFirst). These tests feed it the shapes terser produces, compare the rewritten program
 * with the original in Node, and, when the binary is here, show the difference and the fix on Espruino 2v29.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkDeclarationsFirst } from '../../firmware/build/gate';
import { hoistBlockVariables } from '../../firmware/build/hoist';
import { bundle } from '../../firmware/build/bundle';
import { loadBoard } from '../../hal/board-loader';

const binary = process.env.ESPRUINO_BINARY ?? '/work/espruino-src/bin/espruino';

// Each line prints one result; in JavaScript every variable below is local to its function.
const program = [
  'var out = [];',
  'function leak() { x = 5; if (false) { var x; } return typeof globalThis.x; }',
  'function late() { y = 2; var y; return [y, typeof globalThis.y].join(); }',
  'function inlined(t) { return (n = t + 1) > 1 ? n : 0; var n; }',
  'function loops() { var s = 0; for (var i = 0; i < 3; i++) { var q = i; s += q; } for (var k in { a: 1 }) s += k; return s; }',
  'function caught() { try { throw 7; } catch (e) { var z = e; } return z; }',
  'out.push(leak(), late(), inlined(4), loops(), caught(), typeof x, typeof y, typeof n);',
  'print(JSON.stringify(out));',
].join('\n');

function runInNode(source: string): string {
  const printed: string[] = [];
  const sandboxGlobal: Record<string, unknown> = {};
  new Function('print', 'globalThis', source.replace(/typeof (x|y|n)\b/g, 'typeof globalThis.$1'))((text: string) => printed.push(text), sandboxGlobal);
  return printed.join('\n');
}

describe('declarations first (Espruino hoists no var and no function)', () => {
  it('the gate finds what depends on hoisting', () => {
    const constructs = (code: string): string[] => checkDeclarationsFirst(code).map((violation) => violation.construct);
    assert.deepEqual(constructs('x=1;var x;'), ['used before its declaration']);
    assert.deepEqual(constructs('function f(){if(a){var q=2}return q}'), ['var in a block']);
    assert.deepEqual(constructs('function f(){g();function g(){}}'), ['used before its declaration']);
    assert.deepEqual(constructs('function f(){if(a){function g(){}}}'), ['function declaration in a block']);
    assert.deepEqual(constructs('function f(t){return(n=t)>0;var n}'), ['used before its declaration']);
    // Fine: declarations first, a parameter assigned, a nested function that names a later variable (it runs later).
    assert.deepEqual(constructs('var a=1;function f(t){var b;t=2;b=t;var g=function(){return c};var c=3;return g()}'), []);
  });

  it('rewrites every late var as an assignment, declared at the top of its function, with the same results in Node', () => {
    const hoisted = hoistBlockVariables(program);
    assert.deepEqual(checkDeclarationsFirst(hoisted), []);
    assert.notDeepEqual(checkDeclarationsFirst(program), []);
    assert.equal(runInNode(hoisted), runInNode(program));
    assert.equal(runInNode(program), '["undefined","2,undefined",5,"3a",7,"undefined","undefined","undefined"]');
    assert.throws(() => hoistBlockVariables('var a = ;'), SyntaxError);
  });

  it('every board bundle passes: the build hoists what terser leaves', async () => {
    const built = await bundle({ board: loadBoard('linux'), config: { pulseInputs: [{ name: 'water', input: 'pulse1', unitPerPulse: 10, unit: 'l' }] } });
    assert.deepEqual(checkDeclarationsFirst(built.code), []);
    const readable = await bundle({ board: loadBoard('linux'), minify: false });
    assert.deepEqual(checkDeclarationsFirst(readable.code), []);
  });

  it('on Espruino 2v29 the program differs from JavaScript, and the rewritten one does not', function () {
    if (!existsSync(binary)) this.skip();
    const directory = mkdtempSync(path.join(tmpdir(), 'hoisting-espruino-'));
    try {
      const run = (source: string): string => {
        writeFileSync(path.join(directory, 'program.js'), source.replace(/globalThis\./g, 'global.').replace(/typeof (x|y|n)\b(?!\))/g, 'typeof global.$1'));
        const output = execFileSync(binary, ['program.js'], { cwd: directory, timeout: 30_000, encoding: 'latin1' });
        return output.split(/\r?\n/).map((line) => line.replace(/^>?\r?(\x1b\[J)?/, '')).find((line) => line.startsWith('['))!;
      };
      assert.notEqual(run(program), runInNode(program), 'Espruino leaks the late variables to the global scope');
      assert.equal(run(hoistBlockVariables(program)), runInNode(program));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
