import { strict as assert } from 'node:assert';
import type { Gateway } from '../../gateway/gateway';
import { isValidImei } from '../../gateway/store/registry';
import { Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { Terminal } from './support/terminal';

describe('gateway: authentic uplinks to MQTT (embedded broker)', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let gateway: Gateway;
  let observer: Observer;
  const imei = testImei(1);

  beforeEach(async () => {
    directory = temporaryDirectory();
    gateway = await startGateway(directory.path);
    observer = await Observer.connect(gateway.mqttUrl);
  });

  afterEach(async () => {
    await observer.close();
    await gateway.stop();
    directory.remove();
  });

  function provision(channels = [{ name: 'voltage', unit: 'V' }, { name: 'energy', unit: 'kWh' }]) {
    return gateway.registry.provision({ imei, channels }).secrets;
  }

  it('test IMEIs carry valid check digits', () => {
    assert.ok(isValidImei(testImei(1)) && isValidImei(testImei(987654)));
    const wrongCheckDigit = testImei(1).slice(0, 14) + String((Number(testImei(1)[14]) + 1) % 10);
    assert.ok(!isValidImei(wrongCheckDigit));
  });

  it('publishes each reading on {prefix}/{device}/up with channel names, units, ISO time, and acknowledges the highest reading id', async () => {
    const terminal = await new Terminal(provision(), { port: gateway.addresses.coap.port }).open();
    const time = Date.UTC(2026, 10, 21, 12, 0, 0) / 1000;
    const response = await terminal.send([
      { id: 7, time, values: [230.5, 1234.25] },
      { id: 8, time: time + 60, values: [231, 1234.5, { name: 'signal', value: -97, unit: 'dBm' }, { name: 'battery', value: 3.61, unit: 'V' }] },
    ]);
    assert.ok(response.ok, JSON.stringify(response));
    assert.equal(response.downlink.acknowledgedReadingId, 8);
    assert.ok(response.downlink.time !== null && Math.abs(response.downlink.time - Date.now() / 1000) < 5);
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.filter((message) => message.topic === `udt/${imei}/up`).length === 2, 'two readings');
    const [first, second] = observer.on(`udt/${imei}/up`).map((message) => message.json());
    assert.deepEqual(
      { device: first!.device, readingId: first!.readingId, time: first!.time, values: first!.values },
      { device: imei, readingId: 7, time: '2026-11-21T12:00:00.000Z', values: { voltage: { value: 230.5, unit: 'V' }, energy: { value: 1234.25, unit: 'kWh' } } },
    );
    assert.equal(second!.readingId, 8);
    assert.equal(second!.time, '2026-11-21T12:01:00.000Z');
    assert.deepEqual(second!.values, {
      voltage: { value: 231, unit: 'V' },
      energy: { value: 1234.5, unit: 'kWh' },
      signal: { value: -97, unit: 'dBm' },
      battery: { value: 3.61, unit: 'V' },
    });
    assert.deepEqual(second!.signal, { value: -97, unit: 'dBm' });
    assert.deepEqual(second!.battery, { value: 3.61, unit: 'V' });
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_accepted_total'), 1);
    assert.equal(await gateway.metrics.counterValue('udt_gateway_readings_stored_total'), 2);
    terminal.close();
  });

  it('keeps a retained state twin that a late subscriber receives, and publishes alarms on event/{type}', async () => {
    const terminal = await new Terminal(provision(), { port: gateway.addresses.coap.port }).open();
    const now = Math.floor(Date.now() / 1000);
    const response = await terminal.send([
      { id: 1, time: now, values: [230, 10, { name: 'power_source', stringValue: 'battery' }, { name: 'firmware', stringValue: '1.2.0' }] },
      { id: 2, time: now, values: [{ name: 'event:power_loss', booleanValue: true }] },
    ]);
    assert.ok(response.ok);
    await gateway.whenPublished();
    const late = await Observer.connect(gateway.mqttUrl, `udt/${imei}/state`);
    await late.waitFor((messages) => messages.length === 1, 'the retained state');
    const state = late.messages[0]!;
    assert.equal(state.retain, true);
    const twin = state.json();
    assert.equal(twin.device, imei);
    assert.equal(twin.powerSource, 'battery');
    assert.equal(twin.firmware, '1.2.0');
    assert.equal(twin.lastReadingId, 2);
    assert.ok(Math.abs(Date.parse(String(twin.lastSeen)) - Date.now()) < 5000);
    await late.close();
    await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${imei}/event/power_loss`), 'the event');
    const event = observer.on(`udt/${imei}/event/power_loss`)[0]!.json();
    assert.equal(event.type, 'power_loss');
    assert.equal(event.readingId, 2);
    assert.equal(event.value, true);
    assert.equal(observer.on(`udt/${imei}/up`).length, 1, 'a reading made only of an event is not a reading');
    terminal.close();
  });

  it('drops readings it already stored (batch re-sent after a lost ACK) and still acknowledges them', async () => {
    const terminal = await new Terminal(provision(), { port: gateway.addresses.coap.port }).open();
    const now = Math.floor(Date.now() / 1000);
    assert.ok((await terminal.send([{ id: 1, time: now, values: [1, 2] }, { id: 2, time: now, values: [3, 4] }])).ok);
    // The device did not get the ACK and re-sends the batch with one new reading, under a new sequence number.
    const again = await terminal.send([{ id: 1, time: now, values: [1, 2] }, { id: 2, time: now, values: [3, 4] }, { id: 3, time: now, values: [5, 6] }]);
    assert.ok(again.ok);
    assert.equal(again.downlink.acknowledgedReadingId, 3);
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.filter((message) => message.topic === `udt/${imei}/up`).length >= 3, 'three readings');
    assert.deepEqual(observer.on(`udt/${imei}/up`).map((message) => message.json().readingId), [1, 2, 3]);
    assert.equal(await gateway.metrics.counterValue('udt_gateway_readings_duplicate_total'), 2);
    terminal.close();
  });

  it('answers a retransmitted datagram from its cache, identically, without publishing twice', async () => {
    const terminal = await new Terminal(provision(), { port: gateway.addresses.coap.port }).open();
    const request = terminal.prepare([{ id: 1, time: Math.floor(Date.now() / 1000), values: [1, 2] }]);
    const first = terminal.nextDatagram();
    terminal.sendRaw(request.datagram);
    const firstResponse = await first;
    const second = terminal.nextDatagram();
    terminal.sendRaw(request.datagram);
    const secondResponse = await second;
    assert.deepEqual(secondResponse, firstResponse);
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${imei}/up`), 'the reading');
    assert.equal(await gateway.metrics.counterValue('udt_gateway_readings_stored_total'), 1);
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_accepted_total'), 1);
    assert.equal(await gateway.metrics.counterValue('udt_gateway_retransmissions_total'), 1);
    terminal.close();
  });

  it('replies to the source address of the latest uplink (NAT rebinding)', async () => {
    const terminal = await new Terminal(provision(), { port: gateway.addresses.coap.port }).open();
    const now = Math.floor(Date.now() / 1000);
    assert.ok((await terminal.send([{ id: 1, time: now, values: [1, 2] }])).ok);
    const firstPort = terminal.localPort;
    await terminal.rebind();
    assert.notEqual(terminal.localPort, firstPort);
    const response = await terminal.send([{ id: 2, time: now, values: [1, 2] }]);
    assert.ok(response.ok);
    assert.equal(gateway.registry.get(imei)!.lastPort, terminal.localPort);
    terminal.close();
  });

  it('serves /health and /metrics', async () => {
    const port = gateway.addresses.httpPort!;
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as Record<string, unknown>;
    assert.equal(report.status, 'ok');
    assert.equal((report.mqtt as Record<string, unknown>).connected, true);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of ['udt_gateway_uplinks_accepted_total', 'udt_gateway_uplinks_rejected_total', 'udt_gateway_journal_depth', 'udt_gateway_publish_latency_seconds_bucket']) {
      assert.ok(metrics.includes(name), `metrics expose ${name}`);
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
  });

  it('publishes its own retained online status', async () => {
    await observer.waitFor((messages) => messages.some((message) => message.topic === 'udt/gateway/gw1/status'), 'gateway status');
    const status = observer.on('udt/gateway/gw1/status')[0]!;
    assert.equal(status.json().online, true);
  });
});

describe('gateway: SenML-JSON output (payloadFormat senml)', () => {
  it('publishes each reading as a SenML-JSON pack with base name, base time and the reading id', async () => {
    const directory = temporaryDirectory();
    const gateway = await startGateway(directory.path, { payloadFormat: 'senml' });
    const observer = await Observer.connect(gateway.mqttUrl);
    try {
      const imei = testImei(11);
      const secrets = gateway.registry.provision({ imei, channels: [{ name: 'temperature', unit: 'Cel' }, { name: 'door' }] }).secrets;
      const terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
      const time = 1767225600;
      assert.ok((await terminal.send([{ id: 3, time, values: [21.5, true] }])).ok);
      terminal.close();
      await gateway.whenPublished();
      await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${imei}/up`), 'the pack');
      const pack = JSON.parse(observer.on(`udt/${imei}/up`)[0]!.payload.toString()) as unknown;
      assert.deepEqual(pack, [
        { bn: `urn:dev:imei:${imei}:`, bt: time, rid: 3, n: 'temperature', u: 'Cel', v: 21.5 },
        { n: 'door', vb: true },
      ]);
    } finally {
      await observer.close();
      await gateway.stop();
      directory.remove();
    }
  });
});
