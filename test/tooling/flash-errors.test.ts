/**
 * udt flash's clear errors: a wrong port, nothing answering, a board of another model, a bundle that does not
 * fit, a verification failure (a line that corrupts a byte), and bad inputs caught before the board is touched.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadBoard } from '../../hal/board-loader';
import { runFlash, type FlashCommandOptions } from '../../bin/commands/flash';
import { ConsoleError, ConsoleLink } from '../../bin/tooling/console-link';
import { checkDeviceConfig, ToolInputError } from '../../bin/tooling/device-files';
import { FlashError, flashTerminal } from '../../bin/tooling/flasher';
import { temporaryDirectory } from '../gateway/support/harness';
import { ConsoleBench, siteConfig } from './support';

const quiet = (): void => {};

function flashOptions(overrides: Partial<FlashCommandOptions>): FlashCommandOptions {
  return { board: 'nucleo-l476-bc95', port: 'tcp://127.0.0.1:1', revision: '1', baud: '115200', wait: true, ...overrides };
}

/** A TCP proxy in front of a console that changes one base64 character of the `corruptLine`-th Storage.write line. */
async function corruptingProxy(target: number, corruptLine: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    let writes = 0;
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        let line = pending.slice(0, newline + 1);
        pending = pending.slice(newline + 1);
        if (line.includes('.write(".bootcde",atob("') && ++writes === corruptLine) {
          const at = line.indexOf('atob("') + 6 + 100;
          line = line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
        }
        upstream.write(Buffer.from(line, 'latin1'));
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('udt flash: clear errors', function () {
  this.timeout(120000);
  const benches: ConsoleBench[] = [];
  const directory = temporaryDirectory('udt-flash-errors-');
  after(async () => {
    for (const bench of benches) await bench.stop();
    directory.remove();
  });

  it('names the port that cannot be opened: no such device, nothing listening, not a tcp:// address', async () => {
    await assert.rejects(ConsoleLink.open('/dev/udt-no-such-port'), (error: unknown) => error instanceof ConsoleError && error.problem === 'port' && /\/dev\/udt-no-such-port: no such port/.test(error.message));
    await assert.rejects(ConsoleLink.open('tcp://127.0.0.1:1'), (error: unknown) => error instanceof ConsoleError && error.problem === 'port' && /nothing is listening there/.test(error.message));
    await assert.rejects(ConsoleLink.open('tcp://nowhere'), (error: unknown) => error instanceof ConsoleError && /not a TCP console address/.test(error.message));
  });

  it('says so when nothing answers on the port', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const link = await ConsoleLink.open(`tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
    try {
      await assert.rejects(link.handshake(300, 2), (error: unknown) => error instanceof ConsoleError && error.problem === 'no-answer' && /no Espruino board answers/.test(error.message));
    } finally {
      await link.close();
      silent.close();
    }
  });

  it('refuses a board of another model before writing anything', async () => {
    const bench = await ConsoleBench.start({ boardId: 'linux' });
    benches.push(bench);
    const link = await ConsoleLink.open(bench.tcp.url);
    try {
      await assert.rejects(
        flashTerminal(link, { board: loadBoard('nucleo-l476-bc95'), firmware: 'print("x")', files: [], progress: quiet }),
        (error: unknown) => error instanceof FlashError && error.problem === 'board-mismatch' && /is a LINUX .* but --board nucleo-l476-bc95 is a NUCLEOL476RG/.test(error.message),
      );
      assert.deepEqual(bench.board.storage.list(null, 0, 0), []);
    } finally {
      await link.close();
    }
  });

  it('refuses firmware that does not fit the board, before erasing anything', async () => {
    const bench = await ConsoleBench.start({ boardId: 'pico-bc66' });
    benches.push(bench);
    bench.board.storage.write('keep', new Uint8Array([109, 101]), 0, 0, 0);
    const link = await ConsoleLink.open(bench.tcp.url);
    try {
      await assert.rejects(
        flashTerminal(link, { board: loadBoard('pico-bc66'), firmware: 'x'.repeat(60000), files: [], progress: quiet }),
        (error: unknown) => error instanceof FlashError && error.problem === 'too-big' && /need \d+ bytes of Storage, the board has \d+ bytes .* nothing was written/.test(error.message),
      );
      assert.deepEqual(bench.board.storage.list(null, 0, 0), ['keep']);
    } finally {
      await link.close();
    }
    // The same board from the command line: the full firmware is over the Pico's code budget at build time.
    await assert.rejects(runFlash(flashOptions({ board: 'pico-bc66', port: bench.tcp.url }), quiet), (error: unknown) => error instanceof FlashError && error.problem === 'too-big' && /over its code budget/.test(error.message));
  });

  it('detects a byte changed on the way by reading every file back (CRC-32)', async () => {
    const bench = await ConsoleBench.start({ boardId: 'linux' });
    benches.push(bench);
    const proxy = await corruptingProxy(bench.tcp.port, 3);
    const link = await ConsoleLink.open(proxy.url);
    try {
      const firmware = 'print("udt boot board=linux test");' + '/*' + 'abcdefghij'.repeat(400) + '*/';
      await assert.rejects(
        flashTerminal(link, { board: loadBoard('linux'), firmware, files: [], progress: quiet, bootWaitMs: 0 }),
        (error: unknown) => error instanceof FlashError && error.problem === 'verification' && /verification failed for \.bootcde .* CRC-32 0x[0-9a-f]{8}, the board holds \d+ bytes with CRC-32 0x[0-9a-f]{8}; flash again/.test(error.message),
      );
    } finally {
      await link.close();
      await proxy.close();
    }
    // Over a clean line the same firmware verifies, boots, and says so (once the console is free again).
    while (bench.tcp.clients() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const clean = await ConsoleLink.open(bench.tcp.url);
    try {
      const report = await flashTerminal(clean, { board: loadBoard('linux'), firmware: 'print("udt boot board=linux test");', files: [], progress: quiet, bootWaitMs: 10000 });
      assert.equal(report.bootLine, 'udt boot board=linux test');
    } finally {
      await clean.close();
    }
  });

  it('checks its inputs before touching the board: keys, revision, secrets of another device, the configuration', async () => {
    const imei = '356938035643809';
    await assert.rejects(runFlash(flashOptions({ device: imei }), quiet), (error: unknown) => error instanceof ToolInputError && /no keys for device 356938035643809: give --secrets/.test(error.message));
    await assert.rejects(runFlash(flashOptions({ revision: '0' }), quiet), /--revision must be an integer/);
    await assert.rejects(runFlash(flashOptions({ parts: 'relay,pump' }), quiet), (error: unknown) => error instanceof ToolInputError && /--parts: unknown part "pump"/.test(error.message));
    await assert.rejects(runFlash(flashOptions({ device: '12345' }), quiet), /IMEI \(15 digits\)/);
    const secrets = path.join(directory.path, 'other.json');
    writeFileSync(secrets, JSON.stringify({ format: 'udt-device-secrets/1', imei: '490154203237518', oscore: { algorithm: 10 } }));
    await assert.rejects(runFlash(flashOptions({ device: imei, secrets }), quiet), /holds the secrets of device 490154203237518, not of --device 356938035643809/);
    await assert.rejects(runFlash(flashOptions({ device: imei, secrets: path.join(directory.path, 'missing.json') }), quiet), /cannot read the device secrets .*ENOENT/);
    const board = loadBoard('nucleo-l476-bc95');
    assert.throws(() => checkDeviceConfig({ ...siteConfig, terminal: undefined }, board), /\/terminal\/gateway is required/);
    assert.throws(() => checkDeviceConfig({ ...siteConfig, pulseInputs: [{ name: 'water', input: 'pulse9', unitPerPulse: 1 }] }, board), (error: unknown) => error instanceof ToolInputError && /pulse9/.test(error.message));
    assert.throws(
      () => checkDeviceConfig({ ...siteConfig, modbus: { ...siteConfig.modbus, devices: [{ ...siteConfig.modbus.devices[0], points: ['no_such_point'] }] } }, board),
      /\/modbus\/devices\/0\/points: profile eastron-sdm630 has no point no_such_point/,
    );
  });
});
