import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { packRows, ThreadedPublisher, unpackRows } from '../../gateway/mqtt/threaded-publisher';
import type { JournalRow } from '../../gateway/store/journal';
import { Observer, startGateway, temporaryDirectory, testImei } from './support/harness';
import { Terminal } from './support/terminal';

describe('gateway: journal rows handed to the MQTT worker thread', () => {
  it('pack into one buffer of their own and unpack unchanged (topics in any script, empty payloads, retain flags)', () => {
    const row = fc.record({
      sequence: fc.integer({ min: 1, max: 2 ** 52 }),
      topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      retain: fc.boolean(),
      receivedAt: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), (rows: JournalRow[]) => {
        const packed = packRows(rows);
        assert.equal(packed.buffer.byteLength > 0, true);
        const unpacked = unpackRows(structuredClone(packed, { transfer: [packed.buffer] }));
        assert.deepEqual(
          unpacked.map((item) => ({ ...item, payload: Buffer.from(item.payload) })),
          rows.map((item) => ({ ...item, payload: Buffer.from(item.payload) })),
        );
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it('never sends a pooled Buffer (a post would copy its whole 8 KB pool)', () => {
    const pooled = Buffer.from('{"readingId":1}');
    const packed = packRows([{ sequence: 1, topic: 'udt/1/up', payload: pooled, retain: false, receivedAt: 0 }]);
    assert.equal(packed.buffer.byteLength, 25 + 'udt/1/up'.length + pooled.length);
  });
});

describe('gateway: its MQTT worker thread failing', () => {
  it('restarts it and publishes everything acknowledged, before and after, at least once', async () => {
    const directory = temporaryDirectory();
    const gateway = await startGateway(directory.path, { mqttReconnectMilliseconds: 50 });
    const imei = testImei(31);
    const terminal = await new Terminal(gateway.registry.provision({ imei, channels: [{ name: 'count' }] }).secrets, { port: gateway.addresses.coap.port }).open();
    let observer = await Observer.connect(gateway.mqttUrl);
    try {
      const now = Math.floor(Date.now() / 1000);
      for (let id = 1; id <= 3; id++) assert.ok((await terminal.send([{ id, time: now, values: [id] }])).ok);
      const publisher = (gateway as unknown as { publisher: unknown }).publisher;
      assert.ok(publisher instanceof ThreadedPublisher, 'the default runs MQTT in a worker thread');
      await publisher.workerForTests.terminate();
      // Uplinks go on being stored and acknowledged while the MQTT side is down.
      for (let id = 4; id <= 6; id++) assert.ok((await terminal.send([{ id, time: now, values: [id] }])).ok);
      await gateway.whenPublished();
      // The embedded broker went down with the thread and is back on the same port: a new subscriber sees what is published from now on.
      await observer.close();
      observer = await Observer.connect(gateway.mqttUrl);
      for (let id = 7; id <= 8; id++) assert.ok((await terminal.send([{ id, time: now, values: [id] }])).ok);
      await gateway.whenPublished();
      await observer.waitFor((messages) => messages.filter((message) => message.topic === `udt/${imei}/up`).length >= 2, 'readings 7 and 8');
      const seen = new Set(observer.on(`udt/${imei}/up`).map((message) => message.json().readingId as number));
      assert.ok(seen.has(7) && seen.has(8), JSON.stringify([...seen]));
      // Acknowledged rows leave the journal with a following commit.
      for (let attempt = 0; attempt < 200 && gateway.journal.depth > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(gateway.journal.depth, 0, 'every row was acknowledged by the broker and removed');
      assert.equal((gateway.health().mqtt as { connected: boolean }).connected, true);
    } finally {
      terminal.close();
      await observer.close();
      await gateway.stop();
      directory.remove();
    }
  });
});
