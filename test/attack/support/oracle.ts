/**
 * The oracle: subscribed to every reading the gateway publishes (`udt/+/up`, QoS 1), it checks them against
 * what the genuine terminals produced: every (device, reading id) exactly once with the value the terminal
 * produced, and nothing else. A copy with the same `receivedAt` is the same journal row published again after a
 * SIGKILL (MQTT at-least-once); a copy with another `receivedAt` means the gateway stored the reading twice.
 */
import mqtt, { MqttClient } from 'mqtt';

interface Publication {
  value: unknown;
  receivedAt: string;
}

export interface OracleReport {
  produced: number;
  delivered: number;
  lost: number;
  /** Extra copies of delivered readings, of which: */
  duplicated: number;
  /** ...the same journal row published again (at-least-once after a kill); */
  republished: number;
  /** ...the reading stored twice (a replay or a dedup failure). */
  storedTwice: number;
  wrongValue: number;
  /** Published readings no genuine terminal produced (forgeries that got through). */
  foreign: number;
  examples: string[];
}

export class ReadingOracle {
  private readonly seen = new Map<string, Publication[]>();
  messages = 0;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (_topic, payload) => {
      this.messages++;
      try {
        const reading = JSON.parse(payload.toString()) as { device: string; readingId: number; receivedAt: string; values: Record<string, { value?: unknown }> };
        const key = `${reading.device}/${reading.readingId}`;
        const first = Object.values(reading.values)[0];
        const list = this.seen.get(key) ?? [];
        list.push({ value: first?.value, receivedAt: reading.receivedAt });
        this.seen.set(key, list);
      } catch {
        this.seen.set(`unparseable/${this.messages}`, [{ value: payload.toString(), receivedAt: '' }]);
      }
    });
  }

  static async connect(url: string): Promise<ReadingOracle> {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 200, clientId: `attack-oracle-${process.pid}` });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('udt/+/up', { qos: 1 });
    return new ReadingOracle(client);
  }

  has(device: string, readingId: number): boolean {
    return this.seen.has(`${device}/${readingId}`);
  }

  /** `produced`: device IMEI -> (reading id -> value). */
  evaluate(produced: Map<string, Map<number, number>>): OracleReport {
    const report: OracleReport = { produced: 0, delivered: 0, lost: 0, duplicated: 0, republished: 0, storedTwice: 0, wrongValue: 0, foreign: 0, examples: [] };
    const example = (text: string): void => {
      if (report.examples.length < 10) report.examples.push(text);
    };
    for (const [device, readings] of produced) {
      for (const [readingId, value] of readings) {
        report.produced++;
        const copies = this.seen.get(`${device}/${readingId}`);
        if (!copies) {
          report.lost++;
          example(`lost ${device}/${readingId}`);
          continue;
        }
        report.delivered++;
        report.duplicated += copies.length - 1;
        const times = new Set(copies.map((copy) => copy.receivedAt));
        report.storedTwice += times.size - 1;
        report.republished += copies.length - times.size;
        if (copies.some((copy) => copy.value !== value)) {
          report.wrongValue++;
          example(`wrong value ${device}/${readingId}: ${JSON.stringify(copies.map((copy) => copy.value))}, produced ${value}`);
        }
      }
    }
    for (const [key] of this.seen) {
      const [device, id] = key.split('/');
      if (!produced.get(device!)?.has(Number(id))) {
        report.foreign++;
        example(`foreign ${key}`);
      }
    }
    return report;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
