import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { CborMap } from '../../firmware/protocol/cbor';
import { cborToJson, jsonToCbor, parseCommandRequest } from '../../gateway/commands';
import { loadConfig, environmentName, describeConfig } from '../../gateway/config';
import { GatewayError } from '../../gateway/errors';
import { SourceRateLimiter } from '../../gateway/coap/rate-limit';
import { ResponseCache } from '../../gateway/coap/response-cache';
import { TopicScheme } from '../../gateway/mqtt/topics';
import { GroupCommitter } from '../../gateway/store/committer';
import { databaseFile, openDatabase } from '../../gateway/store/database';
import { Journal } from '../../gateway/store/journal';
import { DeviceRegistry, kidFromNumber } from '../../gateway/store/registry';
import { IsoTimeText, isoTime, mapUplink, readingSenml, UplinkMappingError } from '../../gateway/uplink-mapping';
import { temporaryDirectory, testImei } from './support/harness';

describe('gateway parts', () => {
  describe('configuration', () => {
    it('takes defaults, then the file, then the environment, then the command line', () => {
      const directory = temporaryDirectory();
      try {
        const file = path.join(directory.path, 'gateway.json');
        writeFileSync(file, JSON.stringify({ coapPort: 6000, topicPrefix: 'site/a', dataDirectory: 'state', brokerPort: 1999 }));
        const config = loadConfig({
          file,
          environment: { [environmentName('coapPort')]: '6001', UDT_GATEWAY_INSECURE_PLAIN_COAP: 'true', UDT_GATEWAY_BROKER_PORT: '2000' },
          overrides: { coapPort: '6002' },
        });
        assert.equal(config.coapPort, 6002);
        assert.equal(config.brokerPort, 2000);
        assert.equal(config.insecurePlainCoap, true);
        assert.equal(config.topicPrefix, 'site/a');
        assert.equal(config.dataDirectory, path.join(directory.path, 'state'), 'relative to the config file');
        assert.equal(config.httpPort, 9464);
      } finally {
        directory.remove();
      }
    });

    it('names what is wrong', () => {
      const problem = (sources: Parameters<typeof loadConfig>[0]): string => {
        try {
          loadConfig(sources);
        } catch (error) {
          assert.ok(error instanceof GatewayError && error.code === 'config');
          return error.message;
        }
        return assert.fail('accepted');
      };
      assert.match(problem({ overrides: { coapPort: 'many' } }), /coapPort must be a number/);
      assert.match(problem({ overrides: { coapPort: 70000 } }), /coapPort must be a port number/);
      assert.match(problem({ overrides: { payloadFormat: 'xml' } }), /payloadFormat/);
      assert.match(problem({ overrides: { topicPrefix: 'udt/#' } }), /topicPrefix/);
      assert.match(problem({ environment: { UDT_GATEWAY_INSECURE_PLAIN_COAP: 'maybe' } }), /true or false/);
      assert.match(problem({ file: '/nonexistent/gateway.json' }), /cannot read config file/);
      assert.match(problem({ overrides: { colour: 'blue' } as never }), /unknown setting colour/);
    });

    it('masks secrets when described', () => {
      const described = describeConfig(loadConfig({ overrides: { mqttUrl: 'mqtt://user:pw@host:1883', mqttPassword: 'pw' } }));
      assert.ok(!JSON.stringify(described).includes('pw@') && described.mqttPassword === '***');
    });
  });

  describe('topics', () => {
    const topics = new TopicScheme('udt');
    it('builds the scheme and parses command topics only', () => {
      assert.equal(topics.readings('1'), 'udt/1/up');
      assert.equal(topics.commandAck('1', 'relay'), 'udt/1/cmd/relay/ack');
      assert.equal(topics.gatewayStatus('gw1'), 'udt/gateway/gw1/status');
      assert.deepEqual(topics.parseCommand('udt/123/cmd/relay'), { device: '123', name: 'relay' });
      assert.equal(topics.parseCommand('udt/123/cmd/relay/ack'), null);
      assert.equal(topics.parseCommand('udt/123/up'), null);
      assert.equal(topics.parseCommand('other/123/cmd/relay'), null);
      assert.deepEqual(new TopicScheme('a/b').parseCommand('a/b/9/cmd/x'), { device: '9', name: 'x' });
    });
  });

  describe('rate limiter', () => {
    it('refills at the configured rate and forgets the least recently seen sources beyond its bound', () => {
      let now = 0;
      const limiter = new SourceRateLimiter(2, 4, 3, () => now);
      const allowed = (source: string, count: number): number => Array.from({ length: count }, () => limiter.allow(source)).filter(Boolean).length;
      assert.equal(allowed('a', 10), 4);
      now += 1000;
      assert.equal(allowed('a', 10), 2);
      allowed('b', 1);
      allowed('c', 1);
      allowed('d', 1);
      assert.equal(limiter.trackedSources, 3);
      assert.equal(allowed('a', 10), 4, '"a" was forgotten, so it starts with a full bucket');
    });
  });

  describe('response cache', () => {
    it('remembers the latest source while pending, resends after, and expires', () => {
      let now = 0;
      const cache = new ResponseCache(10, 1000, () => now);
      assert.equal(cache.lookup('k', { address: 'a', port: 1 }), undefined);
      const pending = cache.begin('k');
      assert.deepEqual(cache.lookup('k', { address: 'b', port: 2 }), { response: null });
      assert.deepEqual(cache.finish(pending, Buffer.from('r')), { address: 'b', port: 2 });
      assert.deepEqual(cache.lookup('k', { address: 'c', port: 3 }), { response: Buffer.from('r') });
      now += 1001;
      assert.equal(cache.lookup('k', { address: 'c', port: 3 }), undefined);
    });

    it('stays within its bound', () => {
      const cache = new ResponseCache(5, 1000);
      for (let index = 0; index < 50; index++) cache.finish(cache.begin(String(index)), Buffer.from('x'));
      assert.ok(cache.size <= 5);
    });

    it('forgets an abandoned datagram, and an entry made again under its key outlives the old one\'s place in the order', () => {
      let now = 0;
      const cache = new ResponseCache(3, 1000, () => now);
      const first = cache.begin('k');
      cache.abandon(first);
      assert.equal(cache.lookup('k', { address: 'a', port: 1 }), undefined);
      assert.equal(cache.finish(first, Buffer.from('late')), null);
      const second = cache.begin('k');
      cache.finish(second, Buffer.from('r'));
      // Two more: the bound (3) evicts from the front, where the abandoned entry's place is skipped.
      cache.finish(cache.begin('a'), Buffer.from('a'));
      cache.finish(cache.begin('b'), Buffer.from('b'));
      assert.deepEqual(cache.lookup('k', { address: 'a', port: 1 }), { response: Buffer.from('r') });
      cache.finish(cache.begin('c'), Buffer.from('c'));
      assert.equal(cache.lookup('k', { address: 'a', port: 1 }), undefined, 'the oldest live entry goes first');
      assert.equal(cache.size, 3);
      // A pending entry that got stuck past its lifetime is evicted; its late answer is not stored.
      const stuck = cache.begin('s');
      now += 1001;
      cache.begin('t');
      assert.equal(cache.finish(stuck, Buffer.from('x')), null);
      assert.equal(cache.lookup('s', { address: 'a', port: 1 }), undefined);
    });
  });

  describe('command payloads', () => {
    it('accepts arguments, ttl and correlation and refuses anything else', () => {
      assert.deepEqual(parseCommandRequest(Buffer.from('')), { ok: true, request: {} });
      assert.ok(parseCommandRequest(Buffer.from('{"arguments":{"a":[1,2]},"ttl":60,"correlation":"x"}')).ok);
      assert.ok(!parseCommandRequest(Buffer.from('[1]')).ok);
      assert.ok(!parseCommandRequest(Buffer.from('{"ttl":-1}')).ok);
      assert.ok(!parseCommandRequest(Buffer.from('{"correlation":5}')).ok);
    });

    it('converts JSON to CBOR values and back', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
          const normalised = JSON.parse(JSON.stringify(value)) as unknown;
          assert.deepEqual(cborToJson(jsonToCbor(normalised)), normalised);
        }),
        { numRuns: 200 },
      );
      assert.ok(jsonToCbor({ a: 1 }) instanceof CborMap);
      // A "__proto__" key (JSON.parse makes it an own key) stays a key, and sets no prototype.
      const hostile = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as unknown;
      const back = cborToJson(jsonToCbor(hostile)) as Record<string, unknown>;
      assert.deepEqual(back, hostile);
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      assert.equal((back as { polluted?: boolean }).polluted, undefined);
    });
  });

  describe('uplink mapping', () => {
    const channels = [{ name: 'voltage', unit: 'V' }, { name: 'state' }];
    it('names compact records from the channel list, skips stored reading ids, and splits events and state', () => {
      const mapped = mapUplink(
        [
          { baseReadingId: 4, baseTime: 1_800_000_000, value: 1 },
          { baseReadingId: 5, value: 230 },
          { booleanValue: true },
          { name: 'event:tamper', booleanValue: true },
          { name: 'signal', value: -90, unit: 'dBm' },
        ],
        channels,
        4,
        2_000_000,
      );
      assert.equal(mapped.duplicates, 1);
      assert.equal(mapped.highestReadingId, 5);
      assert.deepEqual(mapped.readings, [
        { readingId: 5, time: 1_800_000_000, values: [{ name: 'voltage', value: 230, unit: 'V' }, { name: 'state', booleanValue: true }, { name: 'signal', value: -90, unit: 'dBm' }] },
      ]);
      assert.deepEqual(mapped.events, [{ readingId: 5, time: 1_800_000_000, type: 'tamper', value: { booleanValue: true } }]);
      assert.deepEqual(mapped.state, { signal: { value: -90, unit: 'dBm' } });
      assert.equal(JSON.parse(readingSenml('1', mapped.readings[0]!))[0].bn, 'urn:dev:imei:1:');
    });

    it('resolves times below 2^28 relative to the arrival time (RFC 8428 Section 4.5.3)', () => {
      const mapped = mapUplink([{ baseReadingId: 1, baseTime: -30, value: 1 }], channels, -1, 2_000_000_000);
      assert.equal(mapped.readings[0]!.time, 2_000_000 - 30);
    });

    it('writes times as toISOString does, over the whole Date range, in runs within a second and across seconds', () => {
      const text = new IsoTimeText();
      const outcome = (write: () => string): string => {
        try {
          return write();
        } catch (error) {
          return (error as Error).name;
        }
      };
      const time = fc.oneof(
        fc.integer({ min: -8.64e15, max: 8.64e15 }),
        fc.integer({ min: 253402300790000, max: 253402300810000 }),
        fc.integer({ min: -2000, max: 2000 }),
        fc.double({ min: -1e13, max: 1e13, noNaN: true }),
      );
      fc.assert(
        fc.property(time, fc.array(fc.integer({ min: 0, max: 1500 }), { maxLength: 8 }), (start, steps) => {
          let milliseconds = start;
          for (const step of [0, ...steps]) {
            milliseconds += step;
            if (outcome(() => text.of(milliseconds)) !== outcome(() => new Date(milliseconds).toISOString())) return false;
          }
          return true;
        }),
        { numRuns: 2000 },
      );
      assert.throws(() => text.of(NaN), RangeError);
      assert.equal(isoTime(1_800_000_000.1234), '2027-01-15T08:00:00.123Z');
      assert.equal(isoTime(Infinity), '1970-01-01T00:00:00.000Z');
      assert.equal(isoTime(9e12), '1970-01-01T00:00:00.000Z');
    });

    it('refuses packs it cannot resolve', () => {
      assert.throws(() => mapUplink([{ value: 1 }], channels, -1, 0), UplinkMappingError);
      assert.throws(() => mapUplink([{ baseReadingId: 1, value: 1 }, { value: 2 }, { value: 3 }], channels, -1, 0), UplinkMappingError);
    });
  });

  describe('registry', () => {
    it('assigns kids from a counter and never reuses them; refuses duplicates and bad IMEIs', () => {
      assert.deepEqual([...kidFromNumber(1)], [1]);
      assert.deepEqual([...kidFromNumber(256)], [1, 0]);
      const directory = temporaryDirectory();
      const database = openDatabase(databaseFile(directory.path));
      try {
        const registry = new DeviceRegistry(database);
        const first = registry.provision({ imei: testImei(1) }).secrets;
        registry.revoke(testImei(1));
        assert.throws(() => registry.provision({ imei: testImei(1) }), /already exists/);
        const second = registry.provision({ imei: testImei(2) }).secrets;
        assert.notEqual(second.oscore.kid, first.oscore.kid);
        assert.throws(() => registry.provision({ imei: '12345' }), /15 digits/);
        assert.throws(() => registry.provision({ imei: testImei(3).slice(0, 14) + '0' === testImei(3) ? testImei(3).slice(0, 14) + '1' : testImei(3).slice(0, 14) + '0' }), /check digit/);
        assert.equal(registry.list().length, 2);
        assert.equal(registry.activeByImei(testImei(1)), null, 'a revoked device has no active context');
      } finally {
        database.close();
        directory.remove();
      }
    });
  });

  describe('group commit', () => {
    it('settles a committed batch only after the WAL was fdatasynced, off the event loop', async () => {
      const directory = temporaryDirectory();
      const file = databaseFile(directory.path);
      const database = openDatabase(file, { synchronous: 'NORMAL' });
      try {
        const journal = new Journal(database);
        const committer = new GroupCommitter(database, journal, { batchLimit: 100, maximumPending: 100, walFile: `${file}-wal` });
        const settled: string[] = [];
        for (const name of ['a', 'b']) {
          committer.stage({
            write: () => void journal.append([{ topic: name, payload: Buffer.from(name), retain: false, receivedAt: 0 }]),
            settle: (error) => settled.push(`${name}:${error ? error.message : 'ok'}`),
          });
        }
        committer.flush();
        assert.equal(journal.depth, 2, 'committed');
        assert.deepEqual(settled, [], 'not settled before the fsync');
        await committer.whenSettled();
        assert.deepEqual(settled, ['a:ok', 'b:ok']);
        committer.close();
        committer.releaseWal();
      } finally {
        database.close();
        directory.remove();
      }
    });

    it('fails every staged write of a batch, and those staged after it, when the transaction fails', () => {
      const directory = temporaryDirectory();
      const database = openDatabase(databaseFile(directory.path));
      try {
        const journal = new Journal(database);
        const committer = new GroupCommitter(database, journal, { batchLimit: 2, maximumPending: 10, walFile: null });
        const outcomes: Array<string> = [];
        const append = (name: string, fail = false) => ({
          write: () => {
            journal.append([{ topic: name, payload: Buffer.from(name), retain: false, receivedAt: 0 }]);
            if (fail) throw new Error('disk full');
          },
          settle: (error: Error | null) => outcomes.push(`${name}:${error ? error.message : 'ok'}`),
        });
        committer.stage(append('a'));
        committer.stage(append('b', true));
        committer.stage(append('c'));
        committer.flush();
        assert.deepEqual(outcomes, ['a:disk full', 'b:disk full', 'c:disk full']);
        assert.equal(journal.depth, 0, 'nothing was stored');
        committer.stage(append('d'));
        committer.flush();
        assert.equal(journal.depth, 1);
        committer.close();
      } finally {
        database.close();
        directory.remove();
      }
    });
  });
});
