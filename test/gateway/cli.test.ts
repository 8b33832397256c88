import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoapCode } from '../../firmware/protocol/coap';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { startGateway, temporaryDirectory, testImei } from './support/harness';
import { Terminal } from './support/terminal';

const run = promisify(execFile);
const udt = path.resolve(__dirname, '..', '..', 'bin', 'udt.js');

describe('udt gateway provision / list / revoke (the CLI, next to a running gateway)', function () {
  this.timeout(60000);
  let directory: ReturnType<typeof temporaryDirectory>;

  beforeEach(() => {
    directory = temporaryDirectory('udt-cli-');
  });

  afterEach(() => directory.remove());

  it('provisions from a profile, exports the secrets once to a private file, lists, and revokes a device the gateway then refuses', async () => {
    const imei = testImei(21);
    const secretsFile = path.join(directory.path, 'secrets.json');
    const provisioned = await run(process.execPath, [udt, 'gateway', 'provision', '--data-dir', directory.path, '--imei', imei, '--profile', 'eastron-sdm120', '--out', secretsFile]);
    assert.match(provisioned.stderr, /provisioned \(kid 01\).*not shown again/);
    assert.equal(statSync(secretsFile).mode & 0o777, 0o600);
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as DeviceSecrets;
    assert.equal(secrets.format, 'udt-device-secrets/1');
    assert.equal(secrets.channels[0]!.name, 'voltage');
    assert.equal(secrets.channels[0]!.unit, 'V');
    assert.match(secrets.oscore.senderKey, /^[0-9a-f]{32}$/);

    const again = await run(process.execPath, [udt, 'gateway', 'provision', '--data-dir', directory.path, '--imei', imei]).catch((error: { stderr: string; code: number }) => error);
    assert.match((again as { stderr: string }).stderr, /already exists/);
    assert.notEqual((again as { code: number }).code, 0);

    const gateway = await startGateway(directory.path);
    try {
      const terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port, attempts: 1 }).open();
      assert.ok((await terminal.send([{ id: 1, time: Math.floor(Date.now() / 1000), values: [230] }])).ok);
      const listed = await run(process.execPath, [udt, 'gateway', 'list', '--data-dir', directory.path, '--json']);
      const devices = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      assert.equal(devices.length, 1);
      assert.equal(devices[0]!.imei, imei);
      assert.equal(devices[0]!.lastReadingId, 1);
      assert.ok(!listed.stdout.includes(secrets.oscore.masterSecret), 'list shows no secrets');

      await run(process.execPath, [udt, 'gateway', 'revoke', '--data-dir', directory.path, '--imei', imei]);
      // The gateway checks for changes made by other processes every 2 s; do it now (its timer may have been first).
      gateway.registry.refreshIfChangedElsewhere();
      const refused = await terminal.send([{ id: 2, time: Math.floor(Date.now() / 1000), values: [230] }]);
      assert.ok(!refused.ok && refused.code === CoapCode.Unauthorized);
      terminal.close();
    } finally {
      await gateway.stop();
    }
  });

  it('explains bad input', async () => {
    const result = await run(process.execPath, [udt, 'gateway', 'provision', '--data-dir', directory.path, '--imei', '12345']).catch((error: { stderr: string }) => error);
    assert.match((result as { stderr: string }).stderr, /IMEI must be 15 digits/);
    const badQos = await run(process.execPath, [udt, 'gateway', '--data-dir', directory.path, '--mqtt-qos', '0']).catch((error: { stderr: string; code: number }) => error);
    assert.match((badQos as { stderr: string }).stderr, /mqttQos must be 1 or 2/);
    assert.notEqual((badQos as { code: number }).code, 0);
    const badVersion = await run(process.execPath, [udt, 'gateway', '--data-dir', directory.path, '--mqtt-protocol-version', '3']).catch((error: { stderr: string; code: number }) => error);
    assert.match((badVersion as { stderr: string }).stderr, /mqttProtocolVersion must be 4 \(MQTT 3\.1\.1\) or 5/);
    assert.notEqual((badVersion as { code: number }).code, 0);
  });
});
