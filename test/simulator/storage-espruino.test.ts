/**
 * Differential test of the Storage model against the real interpreter: the same scripts run on Espruino 2v29's
 * Linux build (a file-backed flash of 256 KB in 1 KB pages, NOR write semantics) and on the virtual board with
 * that geometry; the flash images must be byte-identical and the printed lines equal. Skipped when no Espruino
 * binary is found (set ESPRUINO_BINARY, default /work/espruino-src/bin/espruino).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { consoleLines, fixture } from './support';

const binary = process.env.ESPRUINO_BINARY ?? '/work/espruino-src/bin/espruino';
const linuxGeometry = { bytes: 262144, pageSize: 1024 };

function runEspruino(directory: string, script: string): string[] {
  const output = execFileSync(binary, [script], { cwd: directory, timeout: 60_000, encoding: 'latin1' });
  // Drop the banner and prompts: keep the lines the script printed.
  return output
    .split(/\r?\n/)
    .map((line) => line.replace(/^>(\x1b\[J)?/, ''))
    .filter((line) => line.length > 0 && !/^( ____|\|  __|\|____|\s+\|_\||\s+2v\d\d|Espruino is Open|only by sales|http:\/\/espruino)/.test(line));
}

function runModel(image: Uint8Array | null, script: string): { flash: Uint8Array; lines: string[] } {
  const board = new VirtualBoard({ ...loadBoard('linux'), storage: linuxGeometry });
  if (image) board.flash.bytes.set(image);
  board.powerOn();
  board.clock.advance(500);
  const before = board.consoleOutput().length;
  board.evaluate(readFileSync(script, 'latin1'));
  board.clock.advance(2000);
  return { flash: board.flash.bytes, lines: consoleLines(board.consoleOutput().slice(before)) };
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) return `0x${index.toString(16)}: espruino ${a[index]} model ${b[index]}`;
  }
  return 'none';
}

describe('Storage model vs Espruino 2v29 (Linux build)', function () {
  this.timeout(120_000);
  let directory = '';

  before(function () {
    if (!existsSync(binary)) this.skip();
  });
  beforeEach(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'espruino-storage-'));
  });
  afterEach(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  for (const script of ['basic.js', 'compaction.js', 'storagefile.js']) {
    it(`${script}: identical flash image and output`, () => {
      const file = fixture(path.join('storage', script));
      const espruinoLines = runEspruino(directory, file);
      const espruinoFlash = readFileSync(path.join(directory, 'espruino.flash'));
      const model = runModel(null, file);
      assert.equal(firstDifference(espruinoFlash, model.flash), 'none');
      assert.deepEqual(model.lines, espruinoLines);
    });
  }

  it('a header torn by a power cut: the same silent damage to the next new file', () => {
    runEspruino(directory, fixture('storage/torn-setup.js'));
    const imageFile = path.join(directory, 'espruino.flash');
    const image = readFileSync(imageFile);
    // Two bytes of the next file's size word made it to flash before the power went.
    image[40] = 0x04;
    image[41] = 0x00;
    writeFileSync(imageFile, image);
    const espruinoLines = runEspruino(directory, fixture('storage/torn-after.js'));
    const model = runModel(image, fixture('storage/torn-after.js'));
    assert.equal(firstDifference(readFileSync(imageFile), model.flash), 'none');
    assert.deepEqual(model.lines, espruinoLines);
  });
});
