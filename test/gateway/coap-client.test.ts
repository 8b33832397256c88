/**
 * A standard CoAP client this project did not write (libcoap's coap-client, Debian package libcoap3-bin)
 * against the gateway's plain-CoAP development mode. Skipped with the reason printed when it is not installed.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeDownlink, encodeUplink } from '../../firmware/protocol/uplink';
import type { Gateway } from '../../gateway/gateway';
import { Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { findExecutable } from './support/mosquitto';

const run = promisify(execFile);
const coapClient = ['coap-client', 'coap-client-notls', 'coap-client-openssl', 'coap-client-gnutls']
  .map((name) => findExecutable(name, ['/usr/bin']))
  .find((found) => found !== null);

describe('gateway plain-CoAP development mode with libcoap coap-client', function () {
  this.timeout(30000);
  let directory: ReturnType<typeof temporaryDirectory>;
  let gateway: Gateway;
  let observer: Observer;
  const imei = testImei(8);

  before(function () {
    if (!coapClient) {
      process.stdout.write('      skipped: no coap-client on PATH (apt-get install libcoap3-bin)\n');
      this.skip();
    }
  });

  beforeEach(async () => {
    directory = temporaryDirectory('udt-coap-client-');
    gateway = await startGateway(directory.path, { insecurePlainCoap: true });
    gateway.registry.provision({ imei, channels: [{ name: 'flow', unit: 'm3/h' }, { name: 'volume', unit: 'm3' }] });
    observer = await Observer.connect(gateway.mqttUrl);
  });

  afterEach(async () => {
    await observer.close();
    await gateway.stop();
    directory.remove();
  });

  const base = (): string => `coap://127.0.0.1:${gateway.addresses.coap.port}`;

  it('POST /up?imei=... with a SenML-CBOR uplink gets 2.04 with the CBOR downlink, and the reading is published', async () => {
    const payloadFile = path.join(directory.path, 'uplink.cbor');
    const responseFile = path.join(directory.path, 'response.cbor');
    const time = Math.floor(Date.now() / 1000);
    writeFileSync(payloadFile, encodeUplink({ readings: [{ id: 41, time, values: [1.5, 1234.125] }, { id: 42, time, values: [1.25, 1234.25] }], commandResults: [] }));
    await run(coapClient!, ['-m', 'post', '-t', '112', '-f', payloadFile, '-o', responseFile, '-B', '5', `${base()}/up?imei=${imei}`]);
    const downlink = decodeDownlink(new Uint8Array(readFileSync(responseFile)));
    assert.equal(downlink.acknowledgedReadingId, 42);
    assert.ok(downlink.time !== null && Math.abs(downlink.time - time) < 5);
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.filter((message) => message.topic === `udt/${imei}/up`).length === 2, 'the readings');
    const readings = observer.on(`udt/${imei}/up`).map((message) => message.json());
    assert.deepEqual(readings.map((reading) => reading.readingId), [41, 42]);
    assert.deepEqual(readings[1]!.values, { flow: { value: 1.25, unit: 'm3/h' }, volume: { value: 1234.25, unit: 'm3' } });
  });

  it('GET /.well-known/core lists the uplink resource (RFC 6690)', async () => {
    const { stdout } = await run(coapClient!, ['-m', 'get', '-B', '5', `${base()}/.well-known/core`]);
    assert.match(stdout, /<\/up>;rt="udt.uplink";ct=112/);
  });

  it('answers an unknown device with 4.04 and a non-CBOR content format with 4.15', async () => {
    const payloadFile = path.join(directory.path, 'uplink.cbor');
    writeFileSync(payloadFile, encodeUplink({ readings: [{ id: 1, time: 0, values: [1, 2] }], commandResults: [] }));
    const unknown = await run(coapClient!, ['-m', 'post', '-t', '112', '-f', payloadFile, '-B', '5', `${base()}/up?imei=${testImei(9)}`]);
    assert.match(unknown.stdout + unknown.stderr, /4\.04/);
    const wrongFormat = await run(coapClient!, ['-m', 'post', '-t', '50', '-f', payloadFile, '-B', '5', `${base()}/up?imei=${imei}`]);
    assert.match(wrongFormat.stdout + wrongFormat.stderr, /4\.15/);
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_rejected_total', { reason: 'unknown-device' }), 1);
  });
});
