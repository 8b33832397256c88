/**
 * The fleet's gateway (and its MQTT observer) in a worker thread, so on a two-core machine the gateway, the
 * broker and the MQTT traffic run beside the simulation instead of taking turns with it.
 *
 * Virtual time crosses over in SharedArrayBuffers. Before a modem model's datagram leaves, its shard writes its
 * virtual time under the datagram's source port (virtual time stands still until the reply is back); while the
 * gateway handles a datagram its clock reads the time noted for the datagram's source port, so each uplink
 * arrives at the virtual time of its own terminal even when shards on other threads are a few seconds apart.
 * Outside a datagram (timers) the gateway's clock reads the latest time any shard wrote. Delivered reading ids
 * come back in batches.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import pino from 'pino';
import { Gateway } from '../../gateway/gateway';
import type { GatewayConfig } from '../../gateway/config';

export interface GatewayWorkerData {
  config: GatewayConfig;
  epochMs: number;
  /** Float64Array over this: [0] = virtual ms (the latest any shard wrote). */
  time: SharedArrayBuffer;
  /** Float64Array(65536) over this: virtual ms at which the last datagram from each local UDP port was sent (NaN: none). */
  sendTimes: SharedArrayBuffer;
  devices: Array<{ imei: string; profile: string | null }>;
}

export type FromWorker =
  | { type: 'ready'; mqttUrl: string; coapPort: number; secrets: unknown[] }
  | { type: 'deliveries'; items: Array<{ topic: string; payload: string }> }
  | { type: 'published'; id: number }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

export type ToWorker = { type: 'when-published'; id: number } | { type: 'stop' };

async function main(): Promise<void> {
  const data = workerData as GatewayWorkerData;
  const port = parentPort!;
  const virtual = new Float64Array(data.time);
  const sendTimes = new Float64Array(data.sendTimes);
  let datagramTime = Number.NaN;
  // The gateway handles a datagram synchronously in its socket's 'message' listener (reading its clock there):
  // the one dgram socket of this thread is the gateway's, so note the sender's time around that dispatch.
  const emit = dgram.Socket.prototype.emit as (this: dgram.Socket, event: string | symbol, ...args: unknown[]) => boolean;
  dgram.Socket.prototype.emit = function (this: dgram.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'message') return emit.call(this, event, ...args);
    const remote = args[1] as dgram.RemoteInfo | undefined;
    datagramTime = remote ? sendTimes[remote.port]! : Number.NaN;
    try {
      return emit.call(this, event, ...args);
    } finally {
      datagramTime = Number.NaN;
    }
  } as typeof dgram.Socket.prototype.emit;
  const now = (): number => data.epochMs + (Number.isNaN(datagramTime) ? virtual[0]! : datagramTime);
  const gateway = await Gateway.start(data.config, { logger: pino({ level: data.config.logLevel }), now });
  const secrets = data.devices.map((device) => gateway.registry.provision({ imei: device.imei, profile: device.profile, channels: [] }).secrets);
  const observer = mqtt.connect(gateway.mqttUrl, { protocolVersion: 4, reconnectPeriod: 200, clientId: `udt-fleet-observer-${process.pid}` });
  let batch: Array<{ topic: string; payload: string }> = [];
  let flushTimer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    flushTimer = null;
    if (batch.length === 0) return;
    port.postMessage({ type: 'deliveries', items: batch } satisfies FromWorker);
    batch = [];
  };
  observer.on('message', (topic, payload) => {
    batch.push({ topic, payload: payload.toString() });
    if (batch.length >= 500) flush();
    else flushTimer ??= setTimeout(flush, 20);
  });
  await new Promise<void>((resolve) => observer.once('connect', () => resolve()));
  await observer.subscribeAsync(['udt/+/up', 'udt/+/event/#'], { qos: 1 });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'when-published') {
      void gateway.whenPublished().then(() => {
        // The observer's last messages may still be on their way from the broker.
        setTimeout(() => {
          flush();
          port.postMessage({ type: 'published', id: message.id } satisfies FromWorker);
        }, 200);
      });
    } else if (message.type === 'stop') {
      void (async () => {
        flush();
        await observer.endAsync(true);
        await gateway.stop();
        port.postMessage({ type: 'stopped' } satisfies FromWorker);
        port.close();
      })();
    }
  });
  port.postMessage({ type: 'ready', mqttUrl: gateway.mqttUrl, coapPort: gateway.addresses.coap.port, secrets } satisfies FromWorker);
}

main().catch((error: Error) => parentPort?.postMessage({ type: 'failed', message: error.message } satisfies FromWorker));
