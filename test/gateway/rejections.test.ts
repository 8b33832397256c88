import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CoapCode, CoapTypes, decodeCoap, encodeCoap } from '../../firmware/protocol/coap';
import type { Gateway } from '../../gateway/gateway';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { deviceContext, Terminal } from './support/terminal';

/** Rejections are counted synchronously on arrival; a valid exchange afterwards proves the earlier datagrams were handled. */
async function rejected(gateway: Gateway, reason: string): Promise<number> {
  return gateway.metrics.counterValue('udt_gateway_uplinks_rejected_total', { reason });
}

describe('gateway: hostile datagrams are rejected, counted by reason, never published', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let gateway: Gateway;
  let observer: Observer;
  let secrets: DeviceSecrets;
  let terminal: Terminal;
  const imei = testImei(2);
  const now = (): number => Math.floor(Date.now() / 1000);

  async function start(overrides = {}): Promise<void> {
    gateway = await startGateway(directory.path, overrides);
    observer = await Observer.connect(gateway.mqttUrl);
  }

  beforeEach(async () => {
    directory = temporaryDirectory();
    await start({ maximumDatagramBytes: 600 });
    secrets = gateway.registry.provision({ imei, channels: [{ name: 'flow', unit: 'm3' }] }).secrets;
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }).open();
  });

  afterEach(async () => {
    terminal.close();
    await observer.close();
    await gateway.stop();
    directory.remove();
  });

  /** After the hostile traffic, one good reading; everything published must be exactly that reading. */
  async function assertOnlyGoodReadingPublished(readingId: number): Promise<void> {
    const response = await terminal.send([{ id: readingId, time: now(), values: [1] }]);
    assert.ok(response.ok, JSON.stringify(response));
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.some((message) => message.topic === `udt/${imei}/up`), 'the good reading');
    assert.deepEqual(
      observer.messages.filter((message) => message.topic.endsWith('/up')).map((message) => message.json().readingId),
      [readingId],
    );
  }

  it('forged: a flipped ciphertext bit, a wrong key, and a spoofed kid fail authentication (4.00, unprotected)', async () => {
    const good = terminal.prepare([{ id: 1, time: now(), values: [1] }]);
    const tampered = good.datagram.slice();
    tampered[tampered.length - 3]! ^= 0x01;
    const answer = terminal.nextDatagram();
    terminal.sendRaw(tampered);
    const reply = decodeCoap(new Uint8Array(await answer));
    assert.equal(reply.code, CoapCode.BadRequest);
    assert.equal(reply.type, CoapTypes.Acknowledgement);
    const wrongKey: DeviceSecrets = { ...secrets, oscore: { ...secrets.oscore, senderKey: '00'.repeat(16) } };
    const impostor = await new Terminal(wrongKey, { port: gateway.addresses.coap.port, attempts: 1 }).open();
    const impostorResult = await impostor.send([{ id: 1, time: now(), values: [666] }]);
    assert.equal(impostorResult.ok, false);
    impostor.close();
    assert.equal(await rejected(gateway, 'auth-failed'), 2);
    await assertOnlyGoodReadingPublished(2);
  });

  it('replayed: the same sequence number under a new message id is refused (4.01), also after a gateway restart', async () => {
    const original = terminal.prepare([{ id: 1, time: now(), values: [1] }]);
    const first = await terminal.exchange(original);
    assert.ok(first.ok);
    const replay = decodeCoap(original.datagram);
    replay.messageId = (replay.messageId + 1) & 0xffff;
    const replayed = encodeCoap(replay);
    let answer = terminal.nextDatagram();
    terminal.sendRaw(replayed);
    assert.equal(decodeCoap(new Uint8Array(await answer)).code, CoapCode.Unauthorized);
    assert.equal(await rejected(gateway, 'replay'), 1);
    // The replay window is stored with the readings: a restart must not reopen it.
    terminal.close();
    await observer.close();
    await gateway.stop();
    await start();
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }, terminal.context).open();
    answer = terminal.nextDatagram();
    terminal.sendRaw(original.datagram);
    assert.equal(decodeCoap(new Uint8Array(await answer)).code, CoapCode.Unauthorized);
    assert.equal(await rejected(gateway, 'replay'), 1);
    await assertOnlyGoodReadingPublished(2);
  });

  it('truncated: every prefix of an authentic datagram is refused', async () => {
    const good = terminal.prepare([{ id: 1, time: now(), values: [1] }]);
    for (let length = 0; length < good.datagram.length; length++) terminal.sendRaw(good.datagram.slice(0, length));
    await assertOnlyGoodReadingPublished(2);
    let total = 0;
    for (const reason of ['malformed-coap', 'auth-failed', 'malformed-oscore-option', 'missing-partial-iv', 'missing-kid', 'not-oscore', 'unknown-kid', 'ping', 'not-request', 'bad-outer-code']) {
      total += await rejected(gateway, reason);
    }
    assert.equal(total, good.datagram.length, 'every truncated datagram was counted under some reason');
    assert.equal(await gateway.metrics.counterValue('udt_gateway_uplinks_accepted_total'), 1);
  });

  it('unknown device: a kid never provisioned, and a revoked device, get 4.01 and nothing is stored', async () => {
    const stranger: DeviceSecrets = { ...secrets, oscore: { ...secrets.oscore, senderId: '7f7f', kid: '7f7f' } };
    const strangerTerminal = await new Terminal(stranger, { port: gateway.addresses.coap.port, attempts: 1 }).open();
    const strangerResult = await strangerTerminal.send([{ id: 1, time: now(), values: [1] }]);
    assert.ok(!strangerResult.ok && strangerResult.reason === 'security-error' && strangerResult.code === CoapCode.Unauthorized);
    strangerTerminal.close();
    assert.equal(await rejected(gateway, 'unknown-kid'), 1);

    const otherImei = testImei(3);
    const other = gateway.registry.provision({ imei: otherImei, channels: [{ name: 'flow' }] }).secrets;
    gateway.registry.revoke(otherImei);
    const revokedTerminal = await new Terminal(other, { port: gateway.addresses.coap.port, attempts: 1 }).open();
    const revokedResult = await revokedTerminal.send([{ id: 1, time: now(), values: [1] }]);
    assert.ok(!revokedResult.ok && revokedResult.code === CoapCode.Unauthorized);
    revokedTerminal.close();
    assert.equal(await rejected(gateway, 'unknown-kid'), 2);
    await assertOnlyGoodReadingPublished(1);
  });

  it('oversized: datagrams above the limit are dropped unread', async () => {
    const big = terminal.prepare([{ id: 1, time: now(), values: [{ name: 'note', stringValue: 'x'.repeat(700) }] }]);
    assert.ok(big.datagram.length > 600);
    terminal.sendRaw(big.datagram);
    await assertOnlyGoodReadingPublished(2);
    assert.equal(await rejected(gateway, 'oversized'), 1);
  });

  it('unauthenticated plain CoAP is refused outside development mode', async () => {
    const plain = encodeCoap({ type: CoapTypes.Confirmable, code: CoapCode.Post, messageId: 1, token: new Uint8Array(0), options: [], payload: new Uint8Array([0x80]) });
    const answer = terminal.nextDatagram();
    terminal.sendRaw(plain);
    assert.equal(decodeCoap(new Uint8Array(await answer)).code, CoapCode.Unauthorized);
    assert.equal(await rejected(gateway, 'not-oscore'), 1);
    await assertOnlyGoodReadingPublished(1);
  });

  it('authentic but malformed payloads get a protected 4.00 and are not stored', async () => {
    // More unnamed values than the device has channels: the gateway cannot name them.
    const result = await terminal.send([{ id: 1, time: now(), values: [1, 2, 3] }]);
    assert.ok(!result.ok && result.reason === 'error-response' && result.code === CoapCode.BadRequest, JSON.stringify(result));
    assert.equal(await rejected(gateway, 'malformed-payload'), 1);
    await assertOnlyGoodReadingPublished(2);
  });

  it('never crashes or publishes on random datagrams, or on random mutations of an authentic one', async () => {
    const good = terminal.prepare([{ id: 1, time: now(), values: [1] }]);
    const samples = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.tuple(fc.nat(good.datagram.length - 1), fc.integer({ min: 1, max: 255 })).map(([index, mask]) => {
          const mutated = good.datagram.slice();
          mutated[index]! ^= mask;
          return mutated;
        }),
      ),
      { numRuns: 300, seed: 8 },
    );
    for (const sample of samples) terminal.sendRaw(sample);
    const response = await terminal.send([{ id: 2, time: now(), values: [1] }]);
    assert.ok(response.ok);
    await gateway.whenPublished();
    await observer.waitFor((messages) => messages.some((message) => message.topic.endsWith('/up') && message.json().readingId === 2), 'the good reading');
    // The CoAP type and message id are outside OSCORE's protection (RFC 8613 Section 4.1), so a mutation there
    // is still the device's authentic reading 1: it may be stored, but once, and nothing else may appear.
    const published = observer.messages.filter((message) => message.topic.endsWith('/up')).map((message) => message.json().readingId);
    assert.ok(published.join() === '1,2' || published.join() === '2', `published ${published.join()}`);
    assert.equal(await rejected(gateway, 'internal-error'), 0);
  });

  it('limits the datagram rate per source', async () => {
    terminal.close();
    await observer.close();
    await gateway.stop();
    await start({ rateLimitPerSecond: 1, rateLimitBurst: 3 });
    terminal = await new Terminal(secrets, { port: gateway.addresses.coap.port }, deviceContext(secrets, 100)).open();
    for (let index = 0; index < 10; index++) terminal.sendRaw(new Uint8Array([0x40, 0, 0, index]));
    const other = await new Terminal(secrets, { port: gateway.addresses.coap.port }, deviceContext(secrets, 200)).open();
    const response = await other.send([{ id: 5, time: now(), values: [1] }]);
    assert.ok(response.ok, 'another source is not limited');
    other.close();
    assert.equal(await rejected(gateway, 'rate-limited'), 7);
  });
});
