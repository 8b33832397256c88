/**
 * Load for bench/gateway.ts: many simulated terminals (one UDP socket each) send uplinks at a fixed rate
 * (open loop, datagrams built before the clock starts so the generator is not what limits the rate), and an
 * MQTT subscriber times each reading from its datagram leaving the terminal to its message arriving.
 */
import { createSocket, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import mqtt, { MqttClient } from 'mqtt';

export type RequestBuilder = (deviceIndex: number, messageId: number, readingId: number, timeSeconds: number) => Uint8Array;

export interface StepResult {
  offeredRate: number;
  sent: number;
  delivered: number;
  duplicates: number;
  /** Delivered readings per second, from the first send to the last delivery. */
  achievedRate: number;
  p50Milliseconds: number;
  p99Milliseconds: number;
  maximumMilliseconds: number;
  responses: number;
  /** CPU seconds per wall second of this process (the load generator and subscriber). */
  generatorCpu: number;
  sustained: boolean;
}

export interface LoadOptions {
  deviceCount: number;
  coapPort: number;
  mqttUrl: string;
  buildRequest: RequestBuilder;
}

const TICK_MILLISECONDS = 2;
/** A step counts as sustained when every reading arrived and the 99th percentile stayed below this. */
export const SUSTAINED_P99_LIMIT_MILLISECONDS = 1000;

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export class LoadGenerator {
  private sockets: Socket[] = [];
  private subscriber: MqttClient | null = null;
  private nextReadingId = 1;
  private messageId = 0;
  private stepBase = 0;
  private sendTimes = new Float64Array(0);
  private latencies = new Float64Array(0);
  private received = new Uint8Array(0);
  private delivered = 0;
  private duplicates = 0;
  private lastDeliveryAt = 0;
  private responses = 0;
  private onDelivery: (() => void) | null = null;

  constructor(private readonly options: LoadOptions) {}

  async open(): Promise<void> {
    for (let index = 0; index < this.options.deviceCount; index++) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
      socket.on('message', () => {
        this.responses++;
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      this.sockets.push(socket);
    }
    const subscriber = mqtt.connect(this.options.mqttUrl, { protocolVersion: 4, clientId: `bench-subscriber-${process.pid}`, reconnectPeriod: 200 });
    subscriber.on('message', (_topic, payload) => this.deliver(payload));
    await new Promise<void>((resolve) => subscriber.once('connect', () => resolve()));
    await subscriber.subscribeAsync('udt/+/up', { qos: 1 });
    this.subscriber = subscriber;
  }

  private deliver(payload: Buffer): void {
    const now = performance.now();
    // Only the reading id is needed; a full JSON.parse per message would load the generator for nothing.
    const text = payload.toString('latin1');
    const at = text.indexOf('"readingId":');
    if (at < 0) return;
    const readingId = parseInt(text.slice(at + 12, at + 32), 10);
    const slot = readingId - this.stepBase;
    if (slot < 0 || slot >= this.sendTimes.length) return;
    if (this.received[slot]) {
      this.duplicates++;
      return;
    }
    this.received[slot] = 1;
    this.latencies[this.delivered] = now - this.sendTimes[slot]!;
    this.delivered++;
    this.lastDeliveryAt = now;
    this.onDelivery?.();
  }

  /** Offers `rate` uplinks per second for `seconds`, then waits up to `drainSeconds` for the rest to arrive. */
  async runStep(rate: number, seconds: number, drainSeconds = 3): Promise<StepResult> {
    const count = Math.round(rate * seconds);
    const base = this.nextReadingId;
    this.nextReadingId += count;
    const time = Math.floor(Date.now() / 1000);
    const datagrams: Uint8Array[] = new Array(count);
    for (let index = 0; index < count; index++) {
      this.messageId = (this.messageId + 1) & 0xffff;
      datagrams[index] = this.options.buildRequest(index % this.sockets.length, this.messageId, base + index, time);
    }
    this.stepBase = base;
    this.sendTimes = new Float64Array(count);
    this.latencies = new Float64Array(count);
    this.received = new Uint8Array(count);
    this.delivered = 0;
    this.duplicates = 0;
    this.responses = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
        while (sent < due) {
          const socket = this.sockets[sent % this.sockets.length]!;
          this.sendTimes[sent] = performance.now();
          socket.send(datagrams[sent]!, this.options.coapPort, '127.0.0.1');
          sent++;
        }
        if (sent >= count) resolve();
        else setTimeout(tick, TICK_MILLISECONDS);
      };
      tick();
    });
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(done, drainSeconds * 1000);
      function done(): void {
        clearTimeout(deadline);
        resolve();
      }
      this.onDelivery = () => {
        if (this.delivered >= count) done();
      };
      if (this.delivered >= count) done();
    });
    this.onDelivery = null;
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const sorted = this.latencies.slice(0, this.delivered).sort();
    const p99 = percentile(sorted, 0.99);
    const span = this.delivered > 0 ? (this.lastDeliveryAt - started) / 1000 : wall;
    return {
      offeredRate: rate,
      sent: count,
      delivered: this.delivered,
      duplicates: this.duplicates,
      achievedRate: this.delivered / Math.max(span, seconds),
      p50Milliseconds: percentile(sorted, 0.5),
      p99Milliseconds: p99,
      maximumMilliseconds: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
      responses: this.responses,
      generatorCpu: (cpu.user + cpu.system) / 1e6 / wall,
      sustained: this.delivered === count && p99 < SUSTAINED_P99_LIMIT_MILLISECONDS,
    };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.close();
    await this.subscriber?.endAsync(true);
  }
}
