/**
 * Acceptance (issue 9): provision a device with `udt gateway provision`, flash a blank virtual board with
 * `udt flash` over its console port (tcp://, as a board behind a serial-to-TCP adapter or `udt sim --tcp`),
 * and see the terminal boot from Storage, attach through its modem model and deliver readings through the real
 * gateway to MQTT. Then `udt diag` and `udt config set` against the same running terminal.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/mqtt/broker';
import type { Gateway } from '../../gateway/gateway';
import { ConsoleLink } from '../../bin/tooling/console-link';
import { collectDiagnostics, formatDiagnostics } from '../../bin/commands/diag';
import { Observer, startGateway, temporaryDirectory, testImei } from '../gateway/support/harness';
import { ConsoleBench, networkEpochMs, runCli, siteConfig } from './support';

describe('udt flash end to end: provision, flash over the console port, readings on MQTT', function () {
  this.timeout(240000);
  const directory = temporaryDirectory('udt-flash-e2e-');
  const imei = testImei(4242);
  let broker: EmbeddedBroker;
  let observer: Observer;
  let gateway: Gateway;
  let bench: ConsoleBench | null = null;

  after(async () => {
    await bench?.stop();
    await observer?.close();
    await gateway?.stop();
    await broker?.close();
    directory.remove();
  });

  it('a provisioned device flashed with udt flash boots from Storage, attaches and reports through the gateway', async () => {
    const secretsFile = path.join(directory.path, 'secrets.json');
    const configFile = path.join(directory.path, 'site.json');
    writeFileSync(configFile, JSON.stringify(siteConfig));
    // The data directory through the environment: `udt gateway provision --data-dir` is taken by the parent
    // `gateway` command and ignored (reported to the gateway's owner).
    const provision = await runCli(['gateway', 'provision', '--imei', imei, '--profile', 'eastron-sdm630', '--out', secretsFile], { UDT_GATEWAY_DATA_DIRECTORY: directory.path });
    assert.equal(provision.code, 0, provision.stderr);

    broker = await startEmbeddedBroker('127.0.0.1', 0);
    observer = await Observer.connect(broker.url, `udt/${imei}/#`);
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, httpPort: -1, sqliteSynchronous: 'NORMAL' }, { now: () => networkEpochMs + (bench ? bench.board.clock.now() : 0) });
    bench = await ConsoleBench.start({ gatewayPort: gateway.addresses.coap.port, imei, speed: 20 });
    assert.equal(bench.board.storage.find('.bootcde'), null, 'the board starts blank');

    const flash = await runCli(['flash', '--board', 'nucleo-l476-bc95', '--port', bench.tcp.url, '--device', imei, '--secrets', secretsFile, '--config', configFile]);
    assert.equal(flash.code, 0, flash.stdout + flash.stderr);
    for (const file of ['.bootcde', 'mp.eastron-sdm630', 'udt.keys', 'cfg0']) assert.match(flash.stdout, new RegExp(`${file.replace('.', '\\.')} +\\d+ bytes +CRC-32 0x[0-9a-f]{8} .* verified`));
    assert.match(flash.stdout, /boot: udt boot board=nucleo-l476-bc95 version=\S+ reset=software boot=1 config=1/);
    assert.ok(bench.board.storage.find('.bootcde'), 'firmware in Storage');

    // The boot status report, then a meter reading at the first quarter hour.
    await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${imei}/up` && 'boot_count' in (message.json().values as object)), 'the boot status report', 60000);
    bench.speed = 200;
    await observer.waitFor(
      (messages) => messages.some((message) => message.topic === `udt/${imei}/up` && 'meter.voltage_l1' in (message.json().values as object)),
      'a meter reading',
      90000,
    );
    const reading = observer.messages.find((message) => message.topic === `udt/${imei}/up` && 'meter.voltage_l1' in (message.json().values as object))!.json();
    const values = reading.values as Record<string, { value: number }>;
    assert.equal(values['meter.voltage_l1']!.value, 231.25);
    assert.equal(values['meter.import_energy']!.value, 777.5);
    assert.ok(observer.messages.some((message) => message.topic === `udt/${imei}/state`), 'the retained state twin');
  });

  it('udt diag reads the modem identity and signal, scans RS485 and I2C and reports power and the journal', async () => {
    assert.ok(bench, 'the flashed terminal of the first test');
    bench.speed = 20;
    const link = await ConsoleLink.open(bench.tcp.url);
    try {
      const report = await collectDiagnostics(link, [1, 2, 3], 60000);
      const text = formatDiagnostics(report);
      assert.equal(report.board.board, 'NUCLEOL476RG');
      assert.equal((report.modem as { identity: { imei: string } }).identity.imei, imei, text);
      assert.deepEqual((report.rs485 as { present: number[] }).present, [1], text);
      assert.ok((report.i2c as { addresses: string[] }).addresses.includes('0x76'), text);
      assert.match(text, /^firmware {3}udt \S+ for nucleo-l476-bc95, boot 1, configuration revision 1/m);
      assert.match(text, /^signal {5}RSSI -?\d+ dBm/m);
    } finally {
      await link.close();
    }
  });

  it('udt config get/set change the running terminal (validated here and on the board), and refuse a bad value', async () => {
    assert.ok(bench);
    const set = await runCli(['config', 'set', '--port', bench.tcp.url, 'terminal.statusInterval=7200000']);
    assert.equal(set.code, 0, set.stdout + set.stderr);
    assert.match(set.stdout, /configuration revision 2 stored and applied/);
    const get = await runCli(['config', 'get', '--port', bench.tcp.url, 'terminal.statusInterval']);
    assert.equal(get.stdout.trim(), '7200000');
    const refused = await runCli(['config', 'set', '--port', bench.tcp.url, 'terminal.sendInterval=5']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /\/terminal\/sendInterval: must be 10000\.\.604800000 ms/);
    assert.equal(bench.board.evaluate('udt.configRevision()'), 2, 'the refused change never reached the board');
  });
});
