/**
 * The soak's oracle: an MQTT consumer of everything the gateway publishes for terminals (`udt/+/up` and
 * `udt/+/event/+`, a persistent session so a broker restart does not drop what is queued for it; QoS 2 on a broker
 * that keeps sessions across its restarts, QoS 1 on one that does not), and the judge of what it received against
 * what the models produced:
 *
 * - every reading id a terminal's journal made (1..N, the terminal's ids are contiguous) appears on MQTT; an id
 *   still waiting in the terminal's own journal at the end is reported apart (it is not lost: the terminal keeps
 *   it until the gateway acknowledges it), an id missing otherwise is lost;
 * - each (device, reading id) arrives once. Every extra copy is a duplicate. They are told apart for the report:
 *   copies that differ in any byte (another `receivedAt`, another value: the gateway stored the reading twice), and
 *   byte-identical copies (the same journal row published again), by the fault just before them;
 * - every meter reading carries exactly the four values of one poll of that terminal's meter, polls in reading-id
 *   order, no poll under two ids; and every poll of the meter is delivered unless the power went within seconds
 *   after it (the reading was never committed to flash: the cut tore that very write, see commitWindowMs);
 * - nothing is published for a device or id no terminal produced; no terminal journal dropped readings.
 */
import mqtt, { MqttClient } from 'mqtt';
import { meterPoints, type Poll } from './meter';

export interface ReceivedCopy {
  payload: string;
  /** Wall ms when it arrived. */
  at: number;
  /** The broker sent it again (DUP flag): its own redelivery after a restart. */
  brokerDuplicate: boolean;
}

export interface TerminalTruth {
  imei: string;
  /** Ids 1..lastId exist in the terminal's journal. */
  lastId: number;
  /** How many of the newest ids still wait in the terminal's journal. */
  waiting: number;
  polls: Poll[];
  /** True ms of every power loss. */
  powerLosses: number[];
  /** Polls before this true ms must have been delivered. */
  pollsDueBefore: number;
  /** Network time at true ms 0 (to compare a reading's `time` with its poll's moment). */
  networkEpochMs: number;
}

export interface FaultMoment {
  kind: 'gateway-kill' | 'broker-restart';
  /** Wall ms. */
  at: number;
}

export interface OracleReport {
  produced: number;
  delivered: number;
  lost: number;
  /** Ids still in the terminals' journals at the end (not lost; not yet sent). */
  stillInTerminals: number;
  /** Extra copies that differ from the first (stored twice or changed). */
  duplicated: number;
  /** Extra copies byte-identical to the first, by cause. */
  redelivered: { total: number; afterGatewayKill: number; afterBrokerRestart: number; brokerResend: number; other: number };
  wrongValue: number;
  foreign: number;
  droppedByTerminals: number;
  meter: { polls: number; delivered: number; notCommittedPowerCut: number; longestPollToCutMs: number; lost: number; afterHorizon: number };
  /** A meter reading's `time` minus its poll's true moment, seconds (the terminal's clock error when it sampled). */
  readingTimeErrorSeconds: { minimum: number; maximum: number };
  readings: number;
  events: number;
  /** From the newest status report of each terminal: the firmware's own counts. */
  firmware: { modemRecoveries: number; tornRecords: number; timeCorrections: number; boots: number; reports: number };
  examples: string[];
}

/**
 * A poll followed this soon by a power loss may legitimately never become a reading: the cut tore the journal
 * write that follows the poll (the firmware appends the reading as soon as the meter answered, well within this).
 */
const commitWindowMs = 5000;

interface Message {
  device: string;
  readingId: number;
  time?: string;
  values: Record<string, { value?: unknown }>;
  value?: unknown;
}

export class SoakOracle {
  /** "device/readingId" -> copies in arrival order. */
  private readonly seen = new Map<string, ReceivedCopy[]>();
  private readonly unparseable: string[] = [];
  messages = 0;
  lastMessageAt = 0;

  private constructor(readonly client: MqttClient | null, private readonly qos: 1 | 2 = 2) {
    client?.on('message', (topic, payload, packet) => this.record(topic, payload.toString(), packet.dup === true));
  }

  /** An oracle fed by `record` only (tests of the judging). */
  static detached(): SoakOracle {
    return new SoakOracle(null);
  }

  record(topic: string, text: string, brokerDuplicate: boolean, at = Date.now()): void {
    this.messages++;
    this.lastMessageAt = at;
    try {
      const message = JSON.parse(text) as Message;
      if (typeof message.device !== 'string' || typeof message.readingId !== 'number') throw new Error('no device or readingId');
      const key = `${message.device}/${message.readingId}`;
      const copies = this.seen.get(key) ?? [];
      copies.push({ payload: text, at, brokerDuplicate });
      this.seen.set(key, copies);
    } catch {
      this.unparseable.push(`${topic}: ${text.slice(0, 80)}`);
    }
  }

  /**
   * `qos` 2 needs a broker that keeps sessions across its restarts: a QoS 2 message handed to the oracle but not
   * yet released (PUBREL) would die with a broker that forgets them (Aedes in memory).
   */
  static async connect(url: string, clientId: string, qos: 1 | 2): Promise<SoakOracle> {
    const client = mqtt.connect(url, { protocolVersion: 4, clean: false, clientId, reconnectPeriod: 100, connectTimeout: 5000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const oracle = new SoakOracle(client, qos);
    await oracle.subscribe();
    return oracle;
  }

  subscribe(): Promise<unknown> {
    return this.client!.subscribeAsync(['udt/+/up', 'udt/+/event/+'], { qos: this.qos });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Resolves at the next (re)connection. */
  nextConnection(): Promise<void> {
    return new Promise((resolve) => this.client!.once('connect', () => resolve()));
  }

  evaluate(terminals: TerminalTruth[], faults: FaultMoment[]): OracleReport {
    const report: OracleReport = {
      produced: 0, delivered: 0, lost: 0, stillInTerminals: 0, duplicated: 0,
      redelivered: { total: 0, afterGatewayKill: 0, afterBrokerRestart: 0, brokerResend: 0, other: 0 },
      wrongValue: 0, foreign: this.unparseable.length, droppedByTerminals: 0,
      meter: { polls: 0, delivered: 0, notCommittedPowerCut: 0, longestPollToCutMs: 0, lost: 0, afterHorizon: 0 },
      readingTimeErrorSeconds: { minimum: Number.POSITIVE_INFINITY, maximum: Number.NEGATIVE_INFINITY },
      readings: 0, events: 0, firmware: { modemRecoveries: 0, tornRecords: 0, timeCorrections: 0, boots: 0, reports: 0 },
      examples: this.unparseable.slice(0, 3).map((text) => `unparseable ${text}`),
    };
    const example = (text: string): void => {
      if (report.examples.length < 20) report.examples.push(text);
    };
    const ordered = [...faults].sort((left, right) => left.at - right.at);
    const causeOf = (copy: ReceivedCopy): keyof OracleReport['redelivered'] => {
      if (copy.brokerDuplicate) return 'brokerResend';
      let latest: FaultMoment | null = null;
      for (const fault of ordered) if (fault.at <= copy.at) latest = fault;
      if (!latest || copy.at - latest.at > 60_000) return 'other';
      return latest.kind === 'gateway-kill' ? 'afterGatewayKill' : 'afterBrokerRestart';
    };
    const known = new Map(terminals.map((terminal) => [terminal.imei, terminal]));
    for (const [key, copies] of this.seen) {
      const [device, idText] = key.split('/');
      const terminal = known.get(device!);
      const id = Number(idText);
      if (!terminal || !Number.isInteger(id) || id < 1 || id > terminal.lastId) {
        report.foreign++;
        example(`foreign ${key}`);
      }
      for (const copy of copies.slice(1)) {
        if (copy.payload === copies[0]!.payload) {
          report.redelivered.total++;
          report.redelivered[causeOf(copy)]++;
        } else {
          report.duplicated++;
          example(`duplicated ${key}: ${copies[0]!.payload} / ${copy.payload}`);
        }
      }
    }
    for (const terminal of terminals) this.judgeTerminal(terminal, report, example);
    if (!Number.isFinite(report.readingTimeErrorSeconds.minimum)) report.readingTimeErrorSeconds = { minimum: 0, maximum: 0 };
    return report;
  }

  private judgeTerminal(terminal: TerminalTruth, report: OracleReport, example: (text: string) => void): void {
    const pollByEnergy = new Map<number, Poll>();
    for (const poll of terminal.polls) pollByEnergy.set(poll.values.import_energy, poll);
    const pollUsedBy = new Map<number, number>();
    let lastPollIndex = -1;
    let newestStatus: Record<string, { value?: unknown }> | null = null;
    const acknowledgedUpTo = terminal.lastId - terminal.waiting;
    for (let id = 1; id <= terminal.lastId; id++) {
      const copies = this.seen.get(`${terminal.imei}/${id}`);
      report.produced++;
      if (!copies) {
        if (id > acknowledgedUpTo) report.stillInTerminals++;
        else {
          report.lost++;
          example(`lost ${terminal.imei}/${id}`);
        }
        continue;
      }
      report.delivered++;
      const message = JSON.parse(copies[0]!.payload) as Message;
      if (!message.values) {
        report.events++;
        if (/readings_dropped/.test(JSON.stringify(message))) {
          report.droppedByTerminals += typeof message.value === 'number' ? message.value : 1;
          example(`terminal journal dropped readings: ${copies[0]!.payload}`);
        }
        continue;
      }
      report.readings++;
      const values = message.values;
      if (values.boot_count !== undefined) newestStatus = values;
      const energy = values['meter.import_energy']?.value;
      if (energy === undefined) continue;
      const poll = typeof energy === 'number' ? pollByEnergy.get(energy) : undefined;
      const wrong = (why: string): void => {
        report.wrongValue++;
        example(`wrong value ${terminal.imei}/${id}: ${why}: ${copies[0]!.payload}`);
      };
      if (!poll) {
        wrong('no poll of this meter served this energy');
        continue;
      }
      const mismatched = meterPoints.filter((point) => values[`meter.${point}`]?.value !== poll.values[point]);
      if (mismatched.length > 0) wrong(`poll ${poll.index} served ${JSON.stringify(poll.values)}, differs in ${mismatched.join(', ')}`);
      else if (poll.index <= lastPollIndex) wrong(`poll ${poll.index} after poll ${lastPollIndex}`);
      const timeError = (Date.parse(message.time ?? '') - (terminal.networkEpochMs + poll.at)) / 1000;
      if (Number.isFinite(timeError)) {
        const range = report.readingTimeErrorSeconds;
        range.minimum = Math.min(range.minimum, timeError);
        range.maximum = Math.max(range.maximum, timeError);
      }
      const earlier = pollUsedBy.get(poll.index);
      if (earlier !== undefined) {
        report.duplicated++;
        example(`poll ${poll.index} of ${terminal.imei} under reading ids ${earlier} and ${id}`);
      } else pollUsedBy.set(poll.index, id);
      lastPollIndex = Math.max(lastPollIndex, poll.index);
    }
    for (const poll of terminal.polls) {
      report.meter.polls++;
      if (pollUsedBy.has(poll.index)) {
        report.meter.delivered++;
        continue;
      }
      const cut = terminal.powerLosses.find((at) => at >= poll.at && at - poll.at <= commitWindowMs);
      if (cut !== undefined) {
        report.meter.notCommittedPowerCut++;
        report.meter.longestPollToCutMs = Math.max(report.meter.longestPollToCutMs, cut - poll.at);
      }
      else if (poll.at >= terminal.pollsDueBefore) report.meter.afterHorizon++;
      else {
        report.meter.lost++;
        example(`meter poll ${poll.index} of ${terminal.imei} at ${(poll.at / 3_600_000).toFixed(3)} h never delivered: ${JSON.stringify(poll.values)}`);
      }
    }
    if (newestStatus) {
      const number = (name: string): number => (typeof newestStatus![name]?.value === 'number' ? (newestStatus![name]!.value as number) : 0);
      report.firmware.reports++;
      report.firmware.modemRecoveries += number('modem_recoveries');
      report.firmware.tornRecords += number('torn_records');
      report.firmware.timeCorrections += number('time_corrections');
      report.firmware.boots += number('boot_count');
    }
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
