import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkEspruinoCompatibility } from '../../firmware/build/gate';
import { loadBoards } from '../../hal/board-loader';

const udt = path.join(__dirname, '../../bin/udt.js');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [udt, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('udt build', function () {
  this.timeout(120000);
  let out: string;
  before(() => {
    out = mkdtempSync(path.join(os.tmpdir(), 'udt-build-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('--all builds every board whose Storage holds the firmware; each bundle passes the gate, the others fail with the figures', () => {
    const result = run('build', '--all', '--out', out);
    const boards = Object.values(loadBoards());
    const failed = boards.filter((board) => new RegExp(`^${board.id}: build failed`, 'm').test(result.stderr));
    for (const board of boards) {
      if (failed.includes(board)) {
        // The only accepted failure is the honest one: the firmware is larger than the board can hold.
        assert.match(result.stderr, new RegExp(`${board.id}: bundle is \\d+ bytes, over its code budget of ${board.codeBudgetBytes} bytes`));
        console.log(`      ${board.id}: the full firmware does not fit its ${board.codeBudgetBytes}-byte code budget (see the build output)`);
        continue;
      }
      const code = readFileSync(path.join(out, board.id, 'firmware.js'), 'utf8');
      assert.deepEqual(checkEspruinoCompatibility(code), [], board.id);
      const report = JSON.parse(readFileSync(path.join(out, board.id, 'build-report.json'), 'utf8'));
      assert.equal(report.plainBytes, Buffer.byteLength(code));
      // firmware.tok is what is flashed: the same program, pretokenised, and what the budget holds.
      const image = readFileSync(path.join(out, board.id, 'firmware.tok'));
      assert.equal(report.bytes, image.length);
      assert.ok(image.length < code.length && image.some((byte) => byte >= 0x80));
      assert.ok(report.bytes <= board.codeBudgetBytes);
      assert.match(result.stdout, new RegExp(`^${board.id}: .*firmware\\.js  ${report.bytes} bytes .*budget ${board.codeBudgetBytes} bytes`, 'm'));
    }
    assert.equal(result.status, failed.length > 0 ? 1 : 0, result.stderr);
    assert.ok(failed.length < boards.length, 'at least one board builds');
    assert.match(result.stdout, /hal\/espruino\/index\.ts/, 'the report lists what is inside');
  });

  it('fails with the figures when a bundle is over its board budget', () => {
    const boardsFile = path.join(out, 'boards.json');
    const content = JSON.parse(readFileSync(path.join(__dirname, '../../boards.json'), 'utf8'));
    content.boards.linux.codeBudgetBytes = 4096;
    writeFileSync(boardsFile, JSON.stringify(content));
    const result = spawnSync(process.execPath, [udt, 'build', '--board', 'linux', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, UDT_BOARDS_FILE: boardsFile },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /linux: bundle is \d+ bytes, over its code budget of 4096 bytes by \d+ bytes/);
  });

  it('explains bad usage', () => {
    const none = run('build');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /say which board: --board <id> \(one of rak5010, pico-bc66, nucleo-l476-bc95, linux\) or --all/);
    const unknown = run('build', '--board', 'esp32');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown board "esp32"/);
    const badConfig = path.join(out, 'bad.json');
    writeFileSync(badConfig, '{ "modbus": ');
    const config = run('build', '--board', 'linux', '--config', badConfig, '--out', out);
    assert.equal(config.status, 2);
    assert.match(config.stderr, /device configuration .*bad\.json is not valid JSON/);
    const parts = run('build', '--board', 'linux', '--parts', 'relay,valve', '--out', out);
    assert.equal(parts.status, 2);
    assert.match(parts.stderr, /--parts: unknown part "valve"; parts are modbus, pulseCounter, inputMonitor, relay, passthrough/);
  });

  it('builds in only the field parts the configuration uses, and those --parts names', () => {
    const config = path.join(out, 'site.json');
    writeFileSync(config, JSON.stringify({ pulseInputs: [{ name: 'water', input: 'pulse1', unitPerPulse: 10, unit: 'l' }] }));
    const bare = run('build', '--board', 'linux', '--out', out);
    assert.equal(bare.status, 0, bare.stderr);
    assert.doesNotMatch(bare.stdout, /firmware\/(gpio\/pulse-counter|modbus\/master|gpio\/relay)\.ts/);
    const site = run('build', '--board', 'linux', '--config', config, '--parts', 'relay', '--out', out);
    assert.equal(site.status, 0, site.stderr);
    assert.match(site.stdout, /field parts inside: .*pulse counter.*relay/);
    assert.match(site.stdout, /firmware\/gpio\/pulse-counter\.ts/);
    assert.doesNotMatch(site.stdout, /firmware\/modbus\/master\.ts/);
    const bareBytes = Number(/(\d+) bytes in Storage/.exec(bare.stdout)![1]);
    const siteBytes = Number(/(\d+) bytes in Storage/.exec(site.stdout)![1]);
    assert.ok(siteBytes > bareBytes, `${siteBytes} > ${bareBytes}`);
  });
});
