/** An in-process gateway on ephemeral ports with its database in a temp directory, and an MQTT observer. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import pino from 'pino';
import { DEFAULT_CONFIG, GatewayConfig } from '../../../gateway/config';
import { Gateway, GatewayOptions } from '../../../gateway/gateway';
import { imeiFor } from '../../../simulator/fleet/imei';

export function temporaryDirectory(prefix = 'udt-gateway-'): { path: string; remove(): void } {
  const directory = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { path: directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

/** Waits (by polling, not for timing assertions) until `condition` holds. */
export async function eventually(condition: () => boolean, what: string, timeoutMilliseconds = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A logger at info level that keeps every line it writes, parsed, for a test to look at. */
export function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

export function testConfig(dataDirectory: string, overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    ...DEFAULT_CONFIG,
    dataDirectory,
    coapHost: '127.0.0.1',
    coapPort: 0,
    brokerPort: 0,
    httpPort: 0,
    logLevel: 'silent',
    rateLimitPerSecond: 0,
    shutdownGraceSeconds: 2,
    // The tests' brokers are Aedes, which loses QoS 2 messages (gateway.ts, connectPublisher); QoS 2 is tested
    // against Mosquitto (mosquitto.test.ts, sigkill.test.ts) and in the soak.
    mqttQos: 1,
    ...overrides,
  };
}

export async function startGateway(dataDirectory: string, overrides: Partial<GatewayConfig> = {}, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? pino({ level: process.env.UDT_TEST_LOG ?? 'silent' });
  return Gateway.start(testConfig(dataDirectory, overrides), { ...options, logger });
}

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  json(): Record<string, unknown>;
}

/** Subscribes to everything under the prefix and records what arrives, in order. */
export class Observer {
  readonly messages: ReceivedMessage[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, retain: packet.retain, json: () => JSON.parse(payload.toString()) as Record<string, unknown> });
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  static async connect(url: string, topics: string | string[] = 'udt/#', options: mqtt.IClientOptions = {}): Promise<Observer> {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 200, ...options });
    const observer = new Observer(client);
    // Connection errors are retried (a broker may still be starting); only a lasting failure fails the test.
    let lastError: Error | null = null;
    client.on('error', (error) => {
      lastError = error;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.end(true);
        reject(new Error(`cannot connect to ${url}: ${lastError?.message ?? 'timeout'}`));
      }, 10000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.subscribeAsync(topics, { qos: 1 });
    return observer;
  }

  on(topic: string): ReceivedMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  /** Resolves once `predicate` holds over the messages received so far (checked on every arrival). */
  waitFor(predicate: (messages: ReceivedMessage[]) => boolean, what = 'messages', timeoutMilliseconds = 15000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`)), timeoutMilliseconds);
      const check = (): void => {
        if (predicate(this.messages)) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** `graceful`: let outstanding acknowledgements go out first (matters for persistent sessions). */
  async close(graceful = false): Promise<void> {
    await this.client.endAsync(!graceful);
  }
}

/** IMEIs with valid check digits for tests (the fleet's IMEI scheme). */
export function testImei(index: number): string {
  return imeiFor(index);
}
