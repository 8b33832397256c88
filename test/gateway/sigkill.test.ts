/**
 * Acceptance: the gateway killed with SIGKILL at random moments while retrying terminals send; afterwards every
 * reading the gateway acknowledged has been published, and none twice: the broker (Mosquitto) outlives the
 * gateway, as a production broker does, and the subscriber stays connected, so any copy would be the gateway's.
 * Without a mosquitto binary the broker is Aedes, which loses QoS 2 messages (gateway.ts), so the gateway runs at
 * QoS 1 and only "none lost" is checked. Rounds: UDT_SIGKILL_ROUNDS (default 100, about half a minute);
 * fewer for a quick run: `UDT_SIGKILL_ROUNDS=10 npx mocha test/gateway/sigkill.test.ts`). With Mosquitto the same
 * again over MQTT 5 (`mqttProtocolVersion: 5`, sessions that never expire, the window from the broker's Receive
 * Maximum): UDT_SIGKILL_ROUNDS_MQTT5 rounds (default 30).
 */
import { strict as assert } from 'node:assert';
import { DeviceRegistry } from '../../gateway/store/registry';
import { databaseFile, openDatabase } from '../../gateway/store/database';
import type { Reading } from '../../firmware/protocol/uplink';
import { TestBroker } from './support/broker';
import { findExecutable, freeTcpPort, Mosquitto } from './support/mosquitto';
import { gatewayBundle, GatewayChild, spawnGateway } from './support/gateway-process';
import { Observer, temporaryDirectory, testImei } from './support/harness';
import { ExchangeTimeout, Terminal } from './support/terminal';
import type { DeviceSecrets } from '../../gateway/store/registry';

const mosquittoBinary = findExecutable('mosquitto');

function pause(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Sends readings until the gateway says it stored them; a new reading every exchange; never gives up. */
class RetryingDevice {
  private pending: Reading[] = [];
  private nextId = 1;
  private running = true;
  readonly acknowledged = new Set<number>();
  private loop: Promise<void> | null = null;

  constructor(readonly imei: string, private readonly terminal: Terminal) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pending.push({ id: this.nextId, time: Math.floor(Date.now() / 1000), values: [this.nextId] });
      this.nextId++;
      let result;
      try {
        result = await this.terminal.send(this.pending.slice(0, 8));
      } catch (error) {
        if (error instanceof ExchangeTimeout) continue;
        throw error;
      }
      const stored = result.ok ? result.downlink.acknowledgedReadingId : null;
      if (stored === null) {
        // Replay refusal after a restart, or 5.03: try again with a fresh request.
        await pause(20);
        continue;
      }
      for (const reading of this.pending) if (reading.id <= stored) this.acknowledged.add(reading.id);
      this.pending = this.pending.filter((reading) => reading.id > stored);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.terminal.close();
  }
}

killTest(Number(process.env.UDT_SIGKILL_ROUNDS ?? 100), 4);
if (mosquittoBinary) killTest(Number(process.env.UDT_SIGKILL_ROUNDS_MQTT5 ?? 30), 5);

function killTest(rounds: number, protocolVersion: 4 | 5): void {
  describe(`gateway: SIGKILL at random moments (${rounds} rounds${protocolVersion === 5 ? ', MQTT 5' : ''}) loses no acknowledged reading`, function () {
    this.timeout(Math.max(120000, rounds * 3000));
    let directory: ReturnType<typeof temporaryDirectory>;
    let broker: { url: string; stop(): Promise<void> };
    const qos = mosquittoBinary ? 2 : 1;
    let observer: Observer;
    let child: GatewayChild | null = null;

    before(async () => {
      directory = temporaryDirectory('udt-sigkill-');
      if (mosquittoBinary) {
        const port = await freeTcpPort();
        const mosquitto = Mosquitto.start(mosquittoBinary, { port, directory: directory.path });
        broker = { url: `mqtt://127.0.0.1:${port}`, stop: () => mosquitto.stop() };
      } else {
        broker = await TestBroker.start();
      }
      observer = await Observer.connect(broker.url, 'udt/+/up');
    });

    after(async () => {
      if (child && child.process.exitCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
      await observer.close();
      await broker.stop();
      directory.remove();
    });

    it('publishes every acknowledged reading after the kills', async () => {
      const bundle = await gatewayBundle(directory.path);
      const dataDirectory = `${directory.path}/data`;
      const database = openDatabase(databaseFile(dataDirectory));
      const registry = new DeviceRegistry(database);
      const devices: Array<{ imei: string; secrets: DeviceSecrets }> = [];
      for (let index = 0; index < 3; index++) {
        const imei = testImei(100 + index);
        devices.push({ imei, secrets: registry.provision({ imei, channels: [{ name: 'count' }] }).secrets });
      }
      database.close();

      const port = await freeUdpPort();
      const gatewayArguments = ['--data-dir', dataDirectory, '--coap-host', '127.0.0.1', '--coap-port', String(port), '--mqtt', broker.url, '--http-port', '-1'];
      const environment = {
        UDT_GATEWAY_MQTT_RECONNECT_MILLISECONDS: '50',
        UDT_GATEWAY_RATE_LIMIT_PER_SECOND: '0',
        UDT_GATEWAY_MQTT_QOS: String(qos),
        UDT_GATEWAY_MQTT_PROTOCOL_VERSION: String(protocolVersion),
      };
      const senders = await Promise.all(
        devices.map(async (device) => new RetryingDevice(device.imei, await new Terminal(device.secrets, { port, retransmitMilliseconds: 150, attempts: 3 }).open())),
      );
      for (const sender of senders) sender.start();

      let killedBeforeReady = 0;
      for (let round = 0; round < rounds; round++) {
        child = spawnGateway(bundle, gatewayArguments, environment);
        if (Math.random() < 0.25) {
          await pause(Math.random() * 250);
          killedBeforeReady++;
        } else {
          const spawnedAt = Date.now();
          await child.ready;
          if (process.env.UDT_SIGKILL_TRACE) process.stdout.write(`round ${round}: ready after ${Date.now() - spawnedAt} ms\n`);
          await pause(Math.random() * 400);
        }
        child.process.kill('SIGKILL');
        await child.exited;
      }

      child = spawnGateway(bundle, gatewayArguments, environment);
      const started = await child.ready;
      // The start line tells operators how it publishes: QoS 2 over MQTT 3.1.1 keeps within Mosquitto's default
      // in-flight limit; over MQTT 5 the broker's Receive Maximum sets it on connecting.
      assert.deepEqual([started.mqttQos, started.mqttProtocolVersion, started.mqttInFlight], [qos, protocolVersion, qos === 2 && protocolVersion === 4 ? 20 : 4096]);
      await pause(1000);
      for (const sender of senders) await sender.stop();
      const expected = senders.flatMap((sender) => [...sender.acknowledged].map((id) => `${sender.imei}/${id}`));
      const published = new Set<string>();
      let counted = 0;
      const collect = (): Set<string> => {
        for (; counted < observer.messages.length; counted++) {
          const reading = observer.messages[counted]!.json();
          published.add(`${reading.device}/${reading.readingId}`);
        }
        return published;
      };
      await observer.waitFor(() => expected.every((key) => collect().has(key)), 'every acknowledged reading', 60000).catch(() => undefined);
      const lost = expected.filter((key) => !collect().has(key));
      const duplicates = observer.messages.length - collect().size;
      child.process.kill('SIGTERM');
      assert.equal(await child.exited, 0, 'graceful shutdown on SIGTERM');
      process.stdout.write(
        `      ${rounds} SIGKILLs (${killedBeforeReady} during start-up), ${mosquittoBinary ? 'Mosquitto' : 'Aedes'}, QoS ${qos}, MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: ${expected.length} readings acknowledged, ` +
          `${published.size} distinct published, ${lost.length} lost, ${duplicates} published twice\n`,
      );
      assert.ok(expected.length >= rounds, `the terminals made progress (${expected.length} acknowledged)`);
      assert.deepEqual(lost, [], 'no acknowledged reading is lost');
      if (qos === 2) assert.equal(duplicates, 0, 'no reading is published twice (QoS 2, packet ids from the journal, releases on disk)');
    });
  });
}

async function freeUdpPort(): Promise<number> {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
