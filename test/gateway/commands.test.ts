import { strict as assert } from 'node:assert';
import { CborMap } from '../../firmware/protocol/cbor';
import type { Gateway } from '../../gateway/gateway';
import { startEmbeddedBroker } from '../../gateway/mqtt/broker';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { Terminal } from './support/terminal';

describe('gateway: downlink commands (MQTT -> queue -> response -> result -> ack)', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let gateway: Gateway;
  let observer: Observer;
  let secrets: DeviceSecrets;
  let terminal: Terminal;
  let clock: number;
  let readingId = 0;
  const imei = testImei(4);
  const ackTopic = (name: string): string => `udt/${imei}/cmd/${name}/ack`;

  async function start(): Promise<void> {
    gateway = await startGateway(directory.path, {}, { now: () => clock });
    await gateway.whenSubscribed();
    observer = await Observer.connect(gateway.mqttUrl);
    terminal = await new Terminal(secrets ?? (secrets = gateway.registry.provision({ imei, channels: [{ name: 'level' }] }).secrets), {
      port: gateway.addresses.coap.port,
    }, terminal?.context).open();
  }

  async function stop(): Promise<void> {
    terminal.close();
    await observer.close();
    await gateway.stop();
  }

  beforeEach(async () => {
    clock = Date.now();
    directory = temporaryDirectory();
    secrets = undefined as unknown as DeviceSecrets;
    terminal = undefined as unknown as Terminal;
    await start();
  });

  afterEach(async () => {
    await stop();
    directory.remove();
  });

  function acks(name: string): Array<Record<string, unknown>> {
    return observer.on(ackTopic(name)).map((message) => message.json());
  }

  async function waitForAck(name: string, status: string): Promise<Record<string, unknown>> {
    await observer.waitFor(() => acks(name).some((ack) => ack.status === status), `${name} ${status}`);
    return acks(name).find((ack) => ack.status === status)!;
  }

  async function command(name: string, body: unknown, retain = false): Promise<void> {
    await observer.client.publishAsync(`udt/${imei}/cmd/${name}`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1, retain });
  }

  function uplink(commandResults: Array<{ commandId: number; status: number; detail?: string }> = []) {
    readingId++;
    return terminal.send([{ id: readingId, time: Math.floor(clock / 1000), values: [readingId] }], commandResults);
  }

  it('queues a command, delivers it in the next response, and reports queued, sent, done', async () => {
    await command('relay', { arguments: { name: 'valve', on: true }, correlation: 'job-17' });
    const queued = await waitForAck('relay', 'queued');
    assert.equal(queued.correlation, 'job-17');
    assert.equal(typeof queued.id, 'number');
    const response = await uplink();
    assert.ok(response.ok);
    assert.equal(response.downlink.commands.length, 1);
    const delivered = response.downlink.commands[0]!;
    assert.equal(delivered.id, queued.id);
    assert.equal(delivered.name, 'relay');
    assert.ok(delivered.arguments instanceof CborMap);
    assert.equal(delivered.arguments.get('name'), 'valve');
    assert.equal(delivered.arguments.get('on'), true);
    await waitForAck('relay', 'sent');
    const finished = await uplink([{ commandId: delivered.id, status: 0 }]);
    assert.ok(finished.ok);
    assert.deepEqual(finished.downlink.acknowledgedCommandResults, [delivered.id]);
    assert.equal(finished.downlink.commands.length, 0, 'a finished command is not sent again');
    const done = await waitForAck('relay', 'done');
    assert.equal(done.correlation, 'job-17');
    assert.deepEqual(acks('relay').map((ack) => ack.status), ['queued', 'sent', 'done']);
  });

  it('re-sends a sent command until the device reports, and reports failures with their code and detail', async () => {
    await command('read', {});
    const queued = await waitForAck('read', 'queued');
    assert.equal((await uplink()).ok, true);
    // The response was lost: the next uplink carries no result, so the command goes out again.
    const again = await uplink();
    assert.ok(again.ok);
    assert.deepEqual(again.downlink.commands.map((entry) => entry.id), [queued.id]);
    await uplink([{ commandId: queued.id as number, status: 4, detail: 'meter busy' }]);
    const failed = await waitForAck('read', 'failed');
    assert.equal(failed.code, 4);
    assert.equal(failed.detail, 'meter busy');
    assert.deepEqual(acks('read').map((ack) => ack.status), ['queued', 'sent', 'failed']);
    // A repeated result (the device did not get our acknowledgement) is acknowledged again but changes nothing.
    const repeated = await uplink([{ commandId: queued.id as number, status: 4, detail: 'meter busy' }]);
    assert.ok(repeated.ok);
    assert.deepEqual(repeated.downlink.acknowledgedCommandResults, [queued.id]);
    await gateway.whenPublished();
    assert.equal(acks('read').length, 3);
  });

  it('expires commands the device never picked up', async () => {
    await command('reboot', { ttl: 60 });
    await waitForAck('reboot', 'queued');
    clock += 61000;
    assert.equal(gateway.expireCommands(), 1);
    await waitForAck('reboot', 'expired');
    const response = await uplink();
    assert.ok(response.ok);
    assert.equal(response.downlink.commands.length, 0);
  });

  it('refuses invalid commands and commands for unknown devices with a failed ack', async () => {
    await command('relay', 'not json');
    const invalid = await waitForAck('relay', 'failed');
    assert.match(String(invalid.error), /not JSON/);
    await command('relay', { argument: 1 });
    await observer.waitFor(() => acks('relay').length === 2, 'second failed ack');
    assert.match(String(acks('relay')[1]!.error), /unknown field argument/);
    await observer.client.publishAsync(`udt/${testImei(99)}/cmd/relay`, '{}', { qos: 1 });
    await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${testImei(99)}/cmd/relay/ack`), 'unknown device ack');
    assert.equal(observer.on(`udt/${testImei(99)}/cmd/relay/ack`)[0]!.json().error, 'unknown device');
    const response = await uplink();
    assert.ok(response.ok);
    assert.equal(response.downlink.commands.length, 0);
  });

  it('refuses at once a command the terminal does not know or could not decode, with the reason, and never sends it', async () => {
    await command('selfdestruct', { correlation: 'job-1' });
    const unknown = await waitForAck('selfdestruct', 'failed');
    assert.deepEqual(
      { id: unknown.id, code: unknown.code, correlation: unknown.correlation },
      { id: null, code: 3, correlation: 'job-1' },
    );
    assert.match(String(unknown.error), /unknown command selfdestruct \(the terminal knows config, relay, read, time, reboot, ping, status\)/);
    await command('relay', { arguments: { output: 1, state: 'on' } });
    const badArguments = await waitForAck('relay', 'failed');
    assert.equal(badArguments.code, 1);
    assert.match(String(badArguments.error), /unknown argument output \(relay takes name, on, pulse\)/);
    await command('config', { arguments: { revision: 2, patch: { note: 'x'.repeat(600) } } });
    const undecodable = await waitForAck('config', 'failed');
    assert.match(String(undecodable.error), /the terminal could not decode the arguments: CBOR string too long/);
    await command('time', { arguments: { time: 1800000000 } });
    await waitForAck('time', 'queued');
    const response = await uplink();
    assert.ok(response.ok);
    assert.deepEqual(response.downlink.commands.map((entry) => entry.name), ['time'], 'only the valid command goes out');
    assert.deepEqual(acks('selfdestruct').map((ack) => ack.status), ['failed']);
  });

  it('ignores retained commands delivered on subscribe (they would be queued again on every reconnect)', async () => {
    await stop();
    const broker = await startEmbeddedBroker('127.0.0.1', 0);
    try {
      const publisher = await Observer.connect(broker.url, 'nothing');
      await publisher.client.publishAsync(`udt/${imei}/cmd/relay`, '{}', { qos: 1, retain: true });
      await publisher.close();
      gateway = await startGateway(directory.path, { mqttUrl: broker.url }, { now: () => clock });
      await gateway.whenSubscribed();
      observer = await Observer.connect(gateway.mqttUrl);
      terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }, terminal.context).open();
      await command('ping', {});
      await waitForAck('ping', 'queued');
      await gateway.whenPublished();
      assert.equal(acks('relay').length, 0);
      const response = await uplink();
      assert.ok(response.ok);
      assert.deepEqual(response.downlink.commands.map((entry) => entry.name), ['ping']);
      await stop();
    } finally {
      await broker.close();
    }
    await start();
  });

  it('keeps queued commands across a gateway restart', async () => {
    await command('config', { arguments: { revision: 2, patch: { sensors: [{ name: 'climate', part: 'SHT3x', interval: 900000 }] } } });
    const queued = await waitForAck('config', 'queued');
    await stop();
    await start();
    const response = await uplink();
    assert.ok(response.ok);
    assert.deepEqual(response.downlink.commands.map((entry) => entry.id), [queued.id]);
    const delivered = response.downlink.commands[0]!.arguments as CborMap;
    assert.equal(delivered.get('revision'), 2);
    assert.ok(delivered.get('patch') instanceof CborMap);
  });

  it('fits commands into the response budget, oldest first', async () => {
    for (let index = 0; index < 5; index++) await command('config', { arguments: { revision: 2 + index, patch: { note: 'y'.repeat(200) } } });
    await observer.waitFor(() => acks('config').filter((ack) => ack.status === 'queued').length === 5, 'five queued');
    const response = await uplink();
    assert.ok(response.ok);
    const ids = acks('config').map((ack) => ack.id as number);
    assert.deepEqual(response.downlink.commands.map((entry) => entry.id), ids.slice(0, 2), '512-byte budget: two 200-byte commands');
  });
});
