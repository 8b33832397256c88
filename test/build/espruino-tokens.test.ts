/**
 * The pretokenised image (firmware/build/espruino-tokens.ts): Espruino's token bytes, the spacing and
 * regular-expression rules of its lexer, the round trip the build checks, and the same output from the plain
 * program, from the image on the virtual board and (when the binary is here) from the image in Storage on
 * Espruino 2v29's Linux build.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { detokenise, isPretokenised, pretokenise, PretokeniseError } from '../../firmware/build/espruino-tokens';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';

const binary = process.env.ESPRUINO_BINARY ?? '/work/espruino-src/bin/espruino';
const coverage = readFileSync(path.join(__dirname, 'fixtures', 'token-coverage.js'), 'utf8');

function runInNode(source: string): string {
  const printed: string[] = [];
  new Function('print', source)((text: string) => printed.push(text));
  return printed.join('\n');
}

function bytes(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}

describe('Espruino pretokenised form', () => {
  it('stores reserved words and operators as one byte each, with Espruino byte values (jslex.h)', () => {
    assert.deepEqual(bytes(pretokenise('function f(a){return a===this}')), [170, 0x66, 0x28, 0x61, 0x29, 0x7b, 171, 0x61, 139, 175, 0x7d]);
    assert.deepEqual(bytes(pretokenise('a>>>=b;a!==b||c&&d')), [0x61, 149, 0x62, 0x3b, 0x61, 141, 0x62, 160, 0x63, 158, 0x64]);
    assert.deepEqual(bytes(pretokenise('x instanceof y;typeof z;void 0')), [0x78, 186, 0x79, 0x3b, 191, 0x7a, 0x3b, 192, 211]);
  });

  it('stores strings as length-prefixed raw bytes and small integers in one to three bytes', () => {
    assert.deepEqual(bytes(pretokenise('"ab"')), [209, 2, 0x61, 0x62]);
    assert.deepEqual(bytes(pretokenise("''")), [0x27, 0x27], 'an empty string stays as it is (Espruino does the same)');
    const long = 'x'.repeat(300);
    assert.deepEqual(bytes(pretokenise(`"${long}"`)).slice(0, 3), [210, 300 & 255, 300 >> 8]);
    assert.deepEqual(bytes(pretokenise('0;5;200;32767;32768;1.5')), [211, 0x3b, 212, 5, 0x3b, 213, 200, 0, 0x3b, 213, 255, 127, 0x3b, ...bytes('32768'), 0x3b, ...bytes('1.5')]);
    assert.equal(pretokenise('"\\u20ac"'), '"\\u20ac"', 'a character Espruino cannot hold in a raw string stays escaped');
  });

  it('keeps a space only where two tokens would run together', () => {
    assert.equal(pretokenise('var a = b - -c'), '\xaca=b- -c');
    assert.equal(pretokenise('a + +b'), 'a+ +b');
    assert.equal(pretokenise('x = y in z'), 'x=y\xb9z');
    assert.equal(pretokenise('a = 12.5 + b2'), 'a=12.5+b2');
  });

  it('refuses source that Espruino would read differently (a division after `this`, a regex after `)`)', () => {
    assert.throws(() => pretokenise('var h = this/2'), (error: unknown) => error instanceof PretokeniseError && /as the start of a regular expression/.test(error.message));
    assert.doesNotThrow(() => pretokenise('var h = this.x/2, r = /a+/.test(s)'));
  });

  it('reads back as the same program and refuses bytes that are no token', () => {
    const image = pretokenise(coverage);
    assert.ok(isPretokenised(image) && !isPretokenised(coverage));
    assert.ok(image.length < coverage.length * 0.85, `${image.length} of ${coverage.length} bytes`);
    assert.equal(runInNode(detokenise(image)), runInNode(coverage));
    assert.throws(() => detokenise('a=\xc8'), /byte 200 at offset 2 is not an Espruino token/);
    assert.throws(() => detokenise('a=\xd1\x09ab'), /runs past the end/);
    // Bytes from 128 up inside a plain string or comment are text, not tokens.
    assert.equal(runInNode(detokenise('print("\xb0C".length) // \xaa')), '2');
  });

  it('the image runs on the virtual board as the plain program runs in Node', () => {
    const board = new VirtualBoard(loadBoard('linux'));
    board.boot(pretokenise(coverage));
    board.clock.advance(2000);
    const line = board.consoleOutput().split(/\r?\n/).map((text) => text.replace(/^>/, '')).find((text) => text.startsWith('['));
    assert.equal(line, runInNode(coverage));
  });

  it('the image in Storage runs on Espruino 2v29 (Linux build) as the plain program runs in Node', function () {
    if (!existsSync(binary)) this.skip();
    const directory = mkdtempSync(path.join(tmpdir(), 'tokens-espruino-'));
    try {
      writeFileSync(path.join(directory, 'image.tok'), Buffer.from(pretokenise(coverage), 'latin1'));
      // Boot code is read from Storage as Espruino reads it on a board (the Linux build's command-line loader stops at a NUL byte).
      writeFileSync(path.join(directory, 'loader.js'), 'require("Storage").write(".bootcde", require("fs").readFileSync("image.tok"));load();\n');
      const output = execFileSync(binary, ['loader.js'], { cwd: directory, timeout: 30_000, encoding: 'latin1' });
      const line = output.split(/\r?\n/).map((text) => text.replace(/^>?\r?(\x1b\[J)?/, '')).find((text) => text.startsWith('['));
      assert.equal(line, runInNode(coverage));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
