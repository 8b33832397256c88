/** Prometheus metrics of one gateway instance (its own registry, so tests can run several gateways in one process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly uplinksAccepted: Counter;
  readonly uplinksRejected: Counter<'reason'>;
  readonly retransmissions: Counter;
  readonly readingsStored: Counter;
  readonly readingsDuplicate: Counter;
  readonly eventsStored: Counter;
  readonly journalDepth: Gauge;
  readonly publishLatency: Histogram;
  readonly published: Counter;
  readonly mqttConnected: Gauge;
  readonly commitDuration: Histogram;
  readonly fsyncDuration: Histogram;
  readonly commitBatchSize: Histogram;
  readonly downlinks: Counter<'status'>;
  readonly pendingUplinks: Gauge;
  readonly mqttRefused: Gauge;
  /** Read at scrape time. */
  sources = { journalDepth: (): number => 0, pendingUplinks: (): number => 0, mqttRefused: (): number => 0 };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'udt_gateway_process_' });
    this.uplinksAccepted = new Counter({ name: 'udt_gateway_uplinks_accepted_total', help: 'Authentic uplinks stored and acknowledged', registers });
    this.uplinksRejected = new Counter({
      name: 'udt_gateway_uplinks_rejected_total',
      help: 'Datagrams not accepted, by reason (oversized, rate-limited, malformed-coap, unknown-kid, replay, auth-failed, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.retransmissions = new Counter({ name: 'udt_gateway_retransmissions_total', help: 'CoAP retransmissions answered from the response cache', registers });
    this.readingsStored = new Counter({ name: 'udt_gateway_readings_stored_total', help: 'New readings put in the journal', registers });
    this.readingsDuplicate = new Counter({ name: 'udt_gateway_readings_duplicate_total', help: 'Readings dropped because their reading id was already stored', registers });
    this.eventsStored = new Counter({ name: 'udt_gateway_events_stored_total', help: 'Alarm events put in the journal', registers });
    /** A gauge whose value is read from `sources` when Prometheus scrapes. */
    const readAtScrape = (name: string, help: string, source: keyof GatewayMetrics['sources']): Gauge => {
      const sources = (): GatewayMetrics['sources'] => this.sources;
      return new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(sources()[source]());
        },
      });
    };
    this.journalDepth = readAtScrape('udt_gateway_journal_depth', 'MQTT messages stored but not yet acknowledged by the broker', 'journalDepth');
    this.publishLatency = new Histogram({
      name: 'udt_gateway_publish_latency_seconds',
      help: 'From the uplink datagram arriving to the broker acknowledging its MQTT message (PUBACK)',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
      registers,
    });
    this.published = new Counter({ name: 'udt_gateway_mqtt_published_total', help: 'MQTT messages acknowledged by the broker', registers });
    this.mqttConnected = new Gauge({ name: 'udt_gateway_mqtt_connected', help: '1 while connected to the broker', registers });
    this.commitDuration = new Histogram({
      name: 'udt_gateway_commit_duration_seconds',
      help: 'One journal transaction (its fsync follows in the thread pool: udt_gateway_fsync_duration_seconds)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.fsyncDuration = new Histogram({
      name: 'udt_gateway_fsync_duration_seconds',
      help: 'One fdatasync of the journal (WAL) that committed uplinks wait for before their responses',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.commitBatchSize = new Histogram({ name: 'udt_gateway_commit_batch_uplinks', help: 'Uplinks stored per transaction', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers });
    this.downlinks = new Counter({ name: 'udt_gateway_downlinks_total', help: 'Command status changes (queued, sent, done, failed, expired)', labelNames: ['status'], registers });
    this.pendingUplinks = readAtScrape('udt_gateway_pending_uplinks', 'Uplinks waiting for their commit', 'pendingUplinks');
    this.mqttRefused = readAtScrape(
      'udt_gateway_mqtt_refused_messages',
      'Journal messages the broker refused (MQTT 5 reason code), kept and published again until it takes them',
      'mqttRefused',
    );
  }

  /** Value of a counter with labels, for tests and the health report. */
  async counterValue(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    if (!metric) return 0;
    const entry = metric.values.find((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected));
    return entry ? entry.value : 0;
  }
}
