/**
 * The gateway against Mosquitto (an external broker we did not write). Runs when a `mosquitto` binary is
 * installed (CI: .ci/run installs it from Debian); otherwise each test is skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import type { Gateway } from '../../gateway/gateway';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { capturingLogger, eventually, Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { findExecutable, freeTcpPort, makeTestCertificates, Mosquitto } from './support/mosquitto';
import { Terminal } from './support/terminal';

const mosquittoBinary = findExecutable('mosquitto');

describe('gateway with Mosquitto as the external broker', function () {
  this.timeout(30000);
  let directory: ReturnType<typeof temporaryDirectory>;
  let mosquitto: Mosquitto | null;
  let gateway: Gateway | null;
  let observer: Observer | null;
  let terminal: Terminal | null;
  let secrets: DeviceSecrets;
  const imei = testImei(7);
  const now = (): number => Math.floor(Date.now() / 1000);

  before(function () {
    if (!mosquittoBinary) {
      process.stdout.write('      skipped: no mosquitto binary on PATH or in /usr/sbin (apt-get install mosquitto)\n');
      this.skip();
    }
  });

  beforeEach(() => {
    directory = temporaryDirectory('udt-mosquitto-');
    mosquitto = null;
    gateway = null;
    observer = null;
    terminal = null;
  });

  afterEach(async () => {
    terminal?.close();
    await observer?.close();
    await gateway?.stop();
    await mosquitto?.stop();
    directory.remove();
  });

  async function setUp(mqttUrl: string, extra: Record<string, unknown> = {}, observerOptions = {}): Promise<void> {
    gateway = await startGateway(directory.path, { mqttUrl, mqttQos: 2, mqttReconnectMilliseconds: 100, shutdownGraceSeconds: 0.5, ...extra });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'temperature', unit: 'Cel' }, { name: 'humidity', unit: '%RH' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(mqttUrl, 'udt/#', observerOptions);
  }

  function readingIds(): number[] {
    return observer!.on(`udt/${imei}/up`).map((message) => message.json().readingId as number);
  }

  it('publishes readings with the right topics and payloads, and a retained state twin', async () => {
    const port = await freeTcpPort();
    mosquitto = Mosquitto.start(mosquittoBinary!, { port, directory: directory.path });
    await setUp(`mqtt://127.0.0.1:${port}`);
    const time = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
    const response = await terminal!.send([{ id: 11, time, values: [21.5, 40, { name: 'battery', value: 87, unit: '%' }] }]);
    assert.ok(response.ok);
    await gateway!.whenPublished();
    await observer!.waitFor(() => readingIds().length === 1, 'the reading');
    const reading = observer!.on(`udt/${imei}/up`)[0]!.json();
    assert.equal(reading.device, imei);
    assert.equal(reading.readingId, 11);
    assert.equal(reading.time, '2026-01-02T03:04:05.000Z');
    assert.deepEqual(reading.values, { temperature: { value: 21.5, unit: 'Cel' }, humidity: { value: 40, unit: '%RH' }, battery: { value: 87, unit: '%' } });
    const late = await Observer.connect(`mqtt://127.0.0.1:${port}`, `udt/${imei}/state`);
    await late.waitFor((messages) => messages.length >= 1, 'retained state');
    assert.equal(late.messages[0]!.retain, true);
    assert.deepEqual(
      { ...late.messages[0]!.json(), lastSeen: undefined },
      { device: imei, battery: { value: 87, unit: '%' }, lastReadingId: 11, lastSeen: undefined },
    );
    await late.close();
  });

  for (const mqttThread of [true, false]) {
    it(`drains in order, once, after Mosquitto was down (QoS 2, more than its 20 in flight; MQTT in ${mqttThread ? 'a worker' : 'the gateway'} thread)`, async () => {
      const port = await freeTcpPort();
      const brokerOptions = { port, directory: directory.path, persistent: true };
      mosquitto = Mosquitto.start(mosquittoBinary!, brokerOptions);
      await setUp(`mqtt://127.0.0.1:${port}`, { mqttThread });
      // A persistent session: what the gateway drains while the observer is reconnecting waits for it at the broker.
      await observer!.close();
      observer = await Observer.connect(`mqtt://127.0.0.1:${port}`, 'udt/+/up', { clientId: 'drain-observer', clean: false });
      for (let id = 1; id <= 3; id++) assert.ok((await terminal!.send([{ id, time: now(), values: [id, 50] }])).ok);
      await gateway!.whenPublished();
      await observer.waitFor(() => readingIds().length === 3, 'the first readings');
      await observer.close(true);
      await mosquitto.stop();
      for (let id = 4; id <= 30; id++) assert.ok((await terminal!.send([{ id, time: now(), values: [id, 50] }])).ok);
      assert.ok(gateway!.journal.depth >= 27);
      mosquitto = Mosquitto.start(mosquittoBinary!, brokerOptions);
      await gateway!.whenPublished();
      observer = await Observer.connect(`mqtt://127.0.0.1:${port}`, 'udt/+/up', { clientId: 'drain-observer', clean: false });
      await observer.waitFor(() => readingIds().length >= 27, 'the drained readings');
      assert.deepEqual(readingIds(), Array.from({ length: 27 }, (_, index) => index + 4));
    });
  }

  it("MQTT 5: keeps to the broker's Receive Maximum (Mosquitto's max_inflight_messages 5) and drains in order, once, after Mosquitto was down (QoS 2)", async () => {
    const port = await freeTcpPort();
    const brokerOptions = { port, directory: directory.path, persistent: true, settings: ['max_inflight_messages 5'] };
    mosquitto = Mosquitto.start(mosquittoBinary!, brokerOptions);
    const { logger, lines: logLines } = capturingLogger();
    gateway = await startGateway(directory.path, { mqttUrl: `mqtt://127.0.0.1:${port}`, mqttQos: 2, mqttProtocolVersion: 5, mqttReconnectMilliseconds: 100, shutdownGraceSeconds: 0.5 }, { logger });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'temperature', unit: 'Cel' }, { name: 'humidity', unit: '%RH' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(`mqtt://127.0.0.1:${port}`, 'udt/+/up', { clientId: 'drain-observer-5', clean: false });
    assert.ok((await terminal.send([{ id: 1, time: now(), values: [1, 50] }])).ok);
    await gateway.whenPublished();
    await observer.waitFor(() => readingIds().length === 1, 'the first reading');
    await observer.close(true);
    await mosquitto.stop();
    for (let id = 2; id <= 30; id++) assert.ok((await terminal.send([{ id, time: now(), values: [id, 50] }])).ok);
    assert.ok(gateway.journal.depth >= 29);
    mosquitto = Mosquitto.start(mosquittoBinary!, brokerOptions);
    await gateway.whenPublished();
    observer = await Observer.connect(`mqtt://127.0.0.1:${port}`, 'udt/+/up', { clientId: 'drain-observer-5', clean: false });
    await observer.waitFor(() => readingIds().length >= 29, 'the drained readings');
    assert.deepEqual(readingIds(), Array.from({ length: 29 }, (_, index) => index + 2));
    const connected = logLines.filter((line) => line.msg === 'connected to the MQTT broker');
    assert.ok(connected.length >= 2, 'connected before and after the outage');
    for (const line of connected) assert.deepEqual([line.protocolVersion, line.receiveMaximum, line.inFlight], [5, 5, 5]);
    // Beyond the Receive Maximum Mosquitto would refuse messages (PUBREC 0x97): none was refused.
    assert.deepEqual(logLines.filter((line) => String(line.msg).includes('refused')), []);
  });

  it('MQTT 5: a message the broker refuses (an ACL denies the topic) stays in the journal and is published once the ACL allows it', async () => {
    const port = await freeTcpPort();
    // Anonymous clients: the gateway may publish its status and read commands, not readings or the state twin.
    const denying = 'topic readwrite udt/gateway/#\ntopic read udt/#\n';
    mosquitto = Mosquitto.start(mosquittoBinary!, { port, directory: directory.path, acl: denying });
    const { logger, lines: logLines } = capturingLogger();
    gateway = await startGateway(directory.path, { mqttUrl: `mqtt://127.0.0.1:${port}`, mqttQos: 2, mqttProtocolVersion: 5, mqttReconnectMilliseconds: 100, shutdownGraceSeconds: 0.5 }, { logger });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'temperature', unit: 'Cel' }, { name: 'humidity', unit: '%RH' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(`mqtt://127.0.0.1:${port}`, 'udt/+/up');
    for (let id = 1; id <= 3; id++) assert.ok((await terminal.send([{ id, time: now(), values: [id, 50] }])).ok);
    const refusal = (): Record<string, unknown> | undefined => logLines.find((line) => String(line.msg).startsWith('the broker refused a message'));
    await eventually(() => refusal() !== undefined, 'the refusal is logged', 10000);
    assert.equal(refusal()?.reasonCode, 0x87, 'refused as not authorized');
    assert.equal(readingIds().length, 0);
    assert.ok(gateway.journal.depth >= 3, 'the readings stay in the journal');
    // Connected, yet nothing flows: /health says degraded and counts the refused messages, as does /metrics.
    const refusedNow = (): number => (gateway!.health().mqtt as { refused: number }).refused;
    await eventually(() => refusedNow() >= 4, 'four refused messages are counted', 5000);
    assert.equal(refusedNow(), 4, 'three readings and the state twin');
    assert.equal(gateway.health().status, 'degraded');
    assert.match(await gateway.metrics.registry.metrics(), /^udt_gateway_mqtt_refused_messages 4$/m);
    // Over MQTT 3.1.1 Mosquitto would have answered a plain PUBREC and dropped them (nothing to tell the client with).
    mosquitto.replaceAcl('topic readwrite udt/#\n');
    await observer.waitFor(() => readingIds().length >= 3, 'the readings once the ACL allows them', 10000);
    await gateway.whenPublished();
    assert.deepEqual([...readingIds()].sort(), [1, 2, 3]);
    await eventually(() => refusedNow() === 0, 'no refused message is left', 5000);
    assert.equal(refusedNow(), 0);
    assert.equal(gateway.health().status, 'ok');
    // Retried every 100 ms here; logged at most every 10 s (a second line only if this test ran that long).
    const errorLines = logLines.filter((line) => String(line.msg).startsWith('the broker refused a message')).length;
    assert.ok(errorLines >= 1 && errorLines <= 2, `${errorLines} error lines, not one per retry`);
  });

  it('logs in with a user name and password over TLS (mqtts://, --mqtt-ca)', async function () {
    const certificates = makeTestCertificates(directory.path);
    if (!certificates) {
      process.stdout.write('      skipped: no openssl command to make test certificates\n');
      this.skip();
    }
    const port = await freeTcpPort();
    mosquitto = Mosquitto.start(mosquittoBinary!, { port, directory: directory.path, users: { gateway: 'pa55word' }, tls: certificates });
    const url = `mqtts://localhost:${port}`;
    await setUp(url, { mqttUsername: 'gateway', mqttPassword: 'pa55word', mqttCaFile: certificates.caFile }, {
      username: 'gateway',
      password: 'pa55word',
      ca: readFileSync(certificates.caFile),
    });
    assert.ok((await terminal!.send([{ id: 1, time: now(), values: [20, 50] }])).ok);
    await gateway!.whenPublished();
    await observer!.waitFor(() => readingIds().length === 1, 'the reading over TLS');
  });
});
