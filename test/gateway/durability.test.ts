import { strict as assert } from 'node:assert';
import { readUplinkResponse } from '../../firmware/protocol/client';
import { CoapCode, CoapOption, decodeCoap, findOption } from '../../firmware/protocol/coap';
import type { RequestBinding } from '../../firmware/protocol/oscore';
import { buildNonce, decodeOscoreOption, OscoreContext } from '../../firmware/protocol/oscore-context';
import type { Gateway } from '../../gateway/gateway';
import { databaseFile, openDatabase } from '../../gateway/store/database';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { TestBroker } from './support/broker';
import { capturingLogger, eventually, Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { Terminal } from './support/terminal';

function readingIds(observer: Observer, imei: string): number[] {
  return observer.on(`udt/${imei}/up`).map((message) => message.json().readingId as number);
}

/** The AEAD nonce a response was protected with: its own Partial IV's, or the request's (RFC 8613 Section 5.2). */
function responseNonce(datagram: Buffer, binding: RequestBinding, context: OscoreContext): { ownPartialIv: boolean; nonce: Uint8Array } {
  const option = findOption(decodeCoap(new Uint8Array(datagram)).options, CoapOption.Oscore);
  assert.ok(option, 'the response is OSCORE-protected');
  const partialIv = decodeOscoreOption(option.value).partialIv;
  if (partialIv) return { ownPartialIv: true, nonce: buildNonce(context.keys.recipientId, partialIv, context.keys.commonIv) };
  return { ownPartialIv: false, nonce: buildNonce(binding.kid, binding.partialIv, context.keys.commonIv) };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('gateway: durable journal across broker outages and restarts', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let broker: TestBroker;
  let gateway: Gateway | null;
  let observer: Observer | null;
  let terminal: Terminal | null;
  let secrets: DeviceSecrets;
  const imei = testImei(5);
  const now = (): number => Math.floor(Date.now() / 1000);
  const settings = { mqttReconnectMilliseconds: 50, shutdownGraceSeconds: 0.5 };

  beforeEach(async () => {
    directory = temporaryDirectory();
    broker = await TestBroker.start();
    gateway = null;
    observer = null;
    terminal = null;
  });

  afterEach(async () => {
    terminal?.close();
    await observer?.close();
    await gateway?.stop();
    await broker.stop();
    directory.remove();
  });

  async function sendReadings(from: number, to: number): Promise<void> {
    for (let id = from; id <= to; id++) {
      const response = await terminal!.send([{ id, time: now(), values: [id] }]);
      assert.ok(response.ok, `reading ${id}: ${JSON.stringify(response)}`);
      assert.equal(response.downlink.acknowledgedReadingId, id);
    }
  }

  /** A fresh broker on the same port; the gateway is let in only after the observer subscribed, so nothing is missed. */
  async function restartBrokerWithObserver(): Promise<void> {
    broker = await TestBroker.restart(broker, { holdBackPrefix: 'udt-gateway-' });
    await observer?.close();
    observer = await Observer.connect(broker.url);
    broker.admit();
  }

  it('drains everything, in order, once, after the broker was down', async () => {
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, ...settings });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(broker.url);
    await sendReadings(1, 5);
    await gateway.whenPublished();
    await observer.waitFor(() => readingIds(observer!, imei).length === 5, 'readings before the outage');
    const seenBefore = readingIds(observer, imei);

    await broker.stop();
    await eventually(() => !gateway!.health().mqtt || (gateway!.health().mqtt as { connected: boolean }).connected === false, 'the gateway saw the outage');
    assert.equal(gateway.health().status, 'degraded');
    await sendReadings(6, 40);
    assert.ok(gateway.journal.depth >= 35, `journal holds the readings (${gateway.journal.depth})`);

    await restartBrokerWithObserver();
    await gateway.whenPublished();
    await observer!.waitFor(() => readingIds(observer!, imei).length >= 35, 'the drained readings');
    assert.deepEqual(seenBefore, range(1, 5));
    assert.deepEqual(readingIds(observer!, imei), range(6, 40), 'in order, each once');
    // Published rows leave the journal with the next (batched) commit.
    await eventually(() => gateway!.journal.depth === 0, 'the journal is empty');
  });

  it('publishes what it acknowledged before a restart, when the broker comes back (paging the journal through SQLite)', async () => {
    await broker.stop();
    const small = { ...settings, publishBufferRows: 16, publishWindow: 4 };
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, ...small });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    await sendReadings(1, 60);
    const depth = gateway.journal.depth;
    assert.ok(depth >= 60);
    await gateway.stop();
    gateway = null;

    await restartBrokerWithObserver();
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, ...small });
    assert.equal(gateway.journal.depth, depth, 'the journal survived the restart');
    await gateway.whenPublished();
    await observer!.waitFor(() => readingIds(observer!, imei).length >= 60, 'the drained readings');
    assert.deepEqual(readingIds(observer!, imei), range(1, 60));
    // New uplinks after the restart continue the same order, and the reading id watermark survived.
    terminal.close();
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }, terminal.context).open();
    const repeat = await terminal.send([{ id: 60, time: now(), values: [60] }, { id: 61, time: now(), values: [61] }]);
    assert.ok(repeat.ok);
    assert.equal(repeat.downlink.acknowledgedReadingId, 61);
    await gateway.whenPublished();
    await observer!.waitFor(() => readingIds(observer!, imei).length >= 61, 'reading 61');
    assert.deepEqual(readingIds(observer!, imei), range(1, 61));
  });

  it('answers a protected 5.03 with Max-Age and a nonce of its own when the journal cannot be written, and stores the retried readings once it can', async () => {
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, ...settings });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(broker.url);
    await sendReadings(1, 1);
    // Another connection makes every journal insert fail, like a full or failing disk.
    const saboteur = openDatabase(databaseFile(directory.path));
    saboteur.exec("CREATE TRIGGER fail_journal BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    const request = terminal.prepare([{ id: 2, time: now(), values: [2] }]);
    const refusedDatagram = terminal.nextDatagram();
    const refused = await terminal.exchange(request);
    // RFC 8613 Section 8.3: authenticated, so the error is protected; the terminal verified it and reads Max-Age.
    assert.ok(!refused.ok && refused.reason === 'error-response' && refused.code === CoapCode.ServiceUnavailable && refused.maxAge === 10, JSON.stringify(refused));
    const refusedNonce = responseNonce(await refusedDatagram, request.binding, terminal.context);
    assert.ok(refusedNonce.ownPartialIv, 'the 5.03 carries a Partial IV of its own');
    assert.equal(gateway.health().status, 'failing');
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_rejected_total', { reason: 'storage-failed' }), 1);
    saboteur.exec('DROP TRIGGER fail_journal');
    saboteur.close();
    // The request's replay window was never stored, so the very same request is accepted once the journal works
    // (here replayed as is): its 2.04 uses the request's nonce, which the 5.03 did not.
    const replayedDatagram = terminal.nextDatagram();
    terminal.sendRaw(request.datagram);
    const replayedResponse = await replayedDatagram;
    const replayed = readUplinkResponse(terminal.context, request, new Uint8Array(replayedResponse));
    assert.ok(replayed.ok && replayed.downlink.acknowledgedReadingId === 2, JSON.stringify(replayed));
    const replayedNonce = responseNonce(replayedResponse, request.binding, terminal.context);
    assert.ok(!replayedNonce.ownPartialIv);
    assert.notEqual(Buffer.from(replayedNonce.nonce).toString('hex'), Buffer.from(refusedNonce.nonce).toString('hex'), 'two responses, two nonces');
    // The terminal kept reading 2 and sends it again (a new request, a new sequence number).
    const retried = await terminal.send([{ id: 2, time: now(), values: [2] }, { id: 3, time: now(), values: [3] }]);
    assert.ok(retried.ok, JSON.stringify(retried));
    assert.equal(retried.downlink.acknowledgedReadingId, 3);
    await gateway.whenPublished();
    await observer.waitFor(() => readingIds(observer!, imei).length === 3, 'three readings');
    assert.deepEqual(readingIds(observer!, imei), [1, 2, 3]);
    assert.equal(gateway.health().status, 'ok');
  });

  it('answers a protected 5.03 "busy" when too many uplinks wait for their commit, the same to a retransmission', async () => {
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, ...settings, maximumPendingUplinks: 0 });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    const request = terminal.prepare([{ id: 1, time: now(), values: [1] }]);
    const first = terminal.nextDatagram();
    const refused = await terminal.exchange(request);
    assert.ok(!refused.ok && refused.reason === 'error-response' && refused.code === CoapCode.ServiceUnavailable && refused.maxAge === 10, JSON.stringify(refused));
    const firstBytes = await first;
    assert.ok(responseNonce(firstBytes, request.binding, terminal.context).ownPartialIv);
    const again = terminal.nextDatagram();
    terminal.sendRaw(request.datagram);
    assert.deepEqual(await again, firstBytes, 'a retransmission gets the very same response');
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_rejected_total', { reason: 'busy' }), 1);
  });

  it('MQTT 5 toward a broker that speaks only 3.1.1 (Aedes): says what to change, keeps every reading, and publishes them over 3.1.1', async () => {
    const { logger, lines: logLines } = capturingLogger();
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, mqttProtocolVersion: 5, ...settings }, { logger });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    await sendReadings(1, 3);
    await eventually(() => logLines.some((line) => line.msg === 'MQTT error'), 'the refusal is logged');
    const refusal = logLines.find((line) => line.msg === 'MQTT error')!;
    assert.match(String(refusal.error), /protocol version.*set mqttProtocolVersion to 4/i);
    assert.equal(gateway.health().status, 'degraded');
    assert.equal(gateway.journal.depth, 4, 'the three readings and the state twin wait in the journal');
    await gateway.stop();
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, mqttProtocolVersion: 4, ...settings });
    observer = await Observer.connect(broker.url);
    await gateway.whenPublished();
    await observer.waitFor(() => readingIds(observer!, imei).length === 3, 'the readings over MQTT 3.1.1');
    assert.deepEqual(readingIds(observer, imei), [1, 2, 3]);
  });

  it('connects to an external broker with a user name and password', async () => {
    await broker.stop();
    broker = await TestBroker.start({ credentials: { username: 'gateway', password: 's3cret' } });
    gateway = await startGateway(directory.path, { mqttUrl: broker.url, mqttUsername: 'gateway', mqttPassword: 's3cret', ...settings });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
    observer = await Observer.connect(broker.url, 'udt/#', { username: 'gateway', password: 's3cret' });
    await sendReadings(1, 2);
    await gateway.whenPublished();
    await observer.waitFor(() => readingIds(observer!, imei).length === 2, 'readings');
    assert.ok(!JSON.stringify(gateway.health()).includes('s3cret'), 'health does not show the password');
  });
});
