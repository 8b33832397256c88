/**
 * Uplinks: journal entries out, the gateway's acknowledgement and downlink in.
 *
 * One exchange = a confirmable OSCORE-protected POST with as many of the oldest unacknowledged entries as fit
 * `maximumPayloadBytes`, plus the command results not yet acknowledged. It is retransmitted (the same bytes, so
 * the gateway answers from its cache) after ACK_TIMEOUT, doubling, up to MAX_RETRANSMIT times (RFC 7252 4.2,
 * with timing for NB-IoT: a round trip can take seconds and a sleeping module needs ~10 s to wake). Entries are
 * deleted only up to the reading id the gateway acknowledges. While entries or results remain, the next
 * exchange follows at once (up to `maximumExchangesPerWake`); then the modem may go to PSM.
 *
 * After a failed exchange nothing is lost: the entries stay in the journal and the next attempt waits
 * (exponential back-off, 1 min doubling to 30 min, jittered; a 5.03 says how long). Alarms do not wait for the
 * back-off. Modem failures (AT timeouts, no registration) go up the recovery ladder (ModemSupervisor); an
 * exchange that gets no answer does not, but every fourth one in a row starts with a functional reset
 * (registration can be lost without the module noticing).
 */
import type { Clock } from '../../hal/interfaces';
import type { Journal } from '../journal/journal';
import type { Modem } from '../modem/modem';
import type { ModemSupervisor } from '../modem/recovery';
import { buildUplinkRequest, readUplinkResponse, type UplinkRequest, type UplinkResponseResult } from '../protocol/client';
import type { OscoreContext } from '../protocol/oscore-context';
import { encodeUplink, type CommandResult, type DownlinkMessage, type Reading } from '../protocol/uplink';
import { entryToReading, EventCode, type NamingContext } from './entries';
import type { TimeKeeper } from './time-keeper';

export const ACK_TIMEOUT_MILLISECONDS = 6000;
export const ACK_RANDOM_FACTOR = 1.5;
export const MAX_RETRANSMIT = 3;
const maximumExchangesPerWake = 40;
const maximumEntriesPerExchange = 24;
const maximumResultsPerExchange = 8;
const backoffBaseMilliseconds = 60000;
const backoffLimitMilliseconds = 1800000;
/** Modem PSM: how long to stay awake for the "entered PSM" report before allowing deep sleep anyway. */
const psmWaitMilliseconds = 40000;
const coapBadRequest = 0x80;
const coapServiceUnavailable = 0xa3;

export interface SessionDependencies {
  clock: Clock;
  journal: Journal;
  time: TimeKeeper;
  modem: Modem;
  supervisor: ModemSupervisor;
  context: OscoreContext;
  /** Naming of entries under the active configuration. */
  naming(): NamingContext;
  /** Reading ids at or above this were journaled since boot. */
  bootFirstId: number;
  maximumPayloadBytes(): number;
  hold(holder: string): void;
  release(holder: string): void;
  /** A verified downlink (commands, configuration); called after the acknowledgement was applied. */
  downlink(message: DownlinkMessage): void;
  /** An event to journal (uplink rejected). */
  event(code: number, values: number[]): void;
  /** The modem is awake after a successful exchange: a chance to read the signal. */
  awake(): Promise<void>;
  log(text: string): void;
}

export interface SessionStatistics {
  /** Send cycles: the modem woken, everything waiting sent (one or more exchanges), back to PSM. */
  cycles: number;
  exchanges: number;
  failures: number;
  consecutiveFailures: number;
  retransmissions: number;
  readingsSent: number;
  lastSuccess: number;
  lastError: string;
}

type ExchangeOutcome = 'ok' | 'idle' | 'failed';

export class UplinkSession {
  /** The attempt (0 = the first datagram) whose answer arrived, for the last exchange. */
  private answeredAttempt = 0;
  readonly statistics: SessionStatistics = { cycles: 0, exchanges: 0, failures: 0, consecutiveFailures: 0, retransmissions: 0, readingsSent: 0, lastSuccess: -1, lastError: '' };
  private results: CommandResult[] = [];
  private running = false;
  private again = false;
  private backoffUntil = 0;
  private messageId = Math.floor(Math.random() * 65536);
  private waiting: { request: UplinkRequest; finish: (result: UplinkResponseResult | null) => void } | null = null;
  private stopped = false;
  /** Clock time the running send cycle started, or -1 (the main loop watches it for a hang). */
  startedAt = -1;

  constructor(private readonly deps: SessionDependencies) {
    deps.modem.onDatagram((data) => {
      const waiting = this.waiting;
      if (!waiting) return;
      const result = readUplinkResponse(deps.context, waiting.request, data);
      // Another exchange's answer, or something that does not verify: keep waiting for ours.
      if (!result.ok && (result.reason === 'unrelated' || result.reason === 'auth-failed' || result.reason === 'malformed-coap')) return;
      waiting.finish(result);
    });
  }

  /** Results of executed commands, repeated in uplinks until the gateway lists them. */
  addResult(result: CommandResult): void {
    for (let index = 0; index < this.results.length; index++) if (this.results[index].commandId === result.commandId) return;
    this.results.push(result);
  }

  pendingResults(): number {
    return this.results.length;
  }

  /** Send what is waiting. `urgent` (alarms, commands) ignores the back-off of earlier failures. */
  request(urgent: boolean): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!urgent && this.deps.clock.now() < this.backoffUntil) return;
    this.running = true;
    this.again = false;
    this.startedAt = this.deps.clock.now();
    this.statistics.cycles++;
    this.deps.hold('uplink');
    this.cycle(0);
  }

  /** Stop sending (battery exhausted, configuration replaced); an exchange under way still finishes. */
  stop(): void {
    this.stopped = true;
  }

  busy(): boolean {
    return this.running;
  }

  private cycle(done: number): void {
    this.exchange().then(
      (outcome) => {
        const more = this.deps.journal.statistics().depth > 0 || this.results.length > 0;
        if (outcome === 'ok' && more && done + 1 < maximumExchangesPerWake && !this.stopped) {
          this.cycle(done + 1);
          return;
        }
        this.finish(outcome === 'failed');
      },
      (error) => {
        this.deps.log('uplink error ' + String(error));
        this.fail(String(error));
        this.finish(true);
      },
    );
  }

  private finish(failed: boolean): void {
    const modem = this.deps.modem;
    const rerun = this.again && !this.stopped;
    this.again = false;
    if (rerun && !failed) {
      this.cycle(0);
      return;
    }
    const release = (): void => {
      this.running = false;
      this.startedAt = -1;
      this.deps.release('uplink');
    };
    // Stay awake until the module reports PSM (its URC would be lost in deep sleep), but not forever.
    let deadline = 0;
    const waitForPsm = (): void => {
      if (modem.sleeping() || this.deps.clock.now() >= deadline) release();
      else this.deps.clock.setTimeout(waitForPsm, 1000);
    };
    const afterwards = failed ? Promise.resolve() : this.deps.awake().then(undefined, () => undefined);
    afterwards
      .then(() => {
        deadline = this.deps.clock.now() + psmWaitMilliseconds;
        return modem.sleep();
      })
      .then(waitForPsm, release);
  }

  private fail(reason: string, retryAfterMilliseconds?: number): void {
    const statistics = this.statistics;
    statistics.failures++;
    statistics.consecutiveFailures++;
    statistics.lastError = reason;
    let wait = retryAfterMilliseconds;
    if (wait === undefined) {
      wait = backoffBaseMilliseconds;
      for (let step = 1; step < statistics.consecutiveFailures && wait < backoffLimitMilliseconds; step++) wait *= 2;
      if (wait > backoffLimitMilliseconds) wait = backoffLimitMilliseconds;
      wait = wait * (1 + Math.random() * 0.25);
    }
    this.backoffUntil = this.deps.clock.now() + wait;
  }

  /** The next batch: oldest entries first, as many as fit the payload budget (at least one). */
  private batch(): { readings: Reading[]; lastId: number } {
    const deps = this.deps;
    const entries = deps.journal.pending(maximumEntriesPerExchange);
    const naming = deps.naming();
    const readings: Reading[] = [];
    let size = 8;
    let lastId = 0;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index];
      const reading = entryToReading(entry, deps.time.resolve(entry.time, entry.flags, entry.id >= deps.bootFirstId), naming);
      const bytes = encodeUplink({ readings: [reading], commandResults: [] }).length;
      if (readings.length > 0 && size + bytes > deps.maximumPayloadBytes()) break;
      readings.push(reading);
      size += bytes;
      lastId = entry.id;
    }
    return { readings, lastId };
  }

  private exchange(): Promise<ExchangeOutcome> {
    const deps = this.deps;
    if (deps.journal.statistics().depth === 0 && this.results.length === 0) return Promise.resolve<ExchangeOutcome>('idle');
    const failures = this.statistics.consecutiveFailures;
    const prepare = failures > 0 && failures % 4 === 0 ? deps.supervisor.run('functional reset', () => deps.modem.functionalReset()) : Promise.resolve();
    return prepare
      .then(() => {
        // Readings taken before the time was known are sent with absolute times once the network gave it.
        if (deps.time.known()) return undefined;
        return deps.supervisor.run('network time', () => deps.modem.networkTime()).then(
          (epoch) => {
            if (epoch !== null) deps.time.learn('network', epoch / 1000);
          },
          () => undefined,
        );
      })
      .then(() => {
        const batch = this.batch();
        const results = this.results.slice(0, maximumResultsPerExchange);
        if (batch.readings.length === 0 && results.length === 0) return 'idle';
        this.messageId = (this.messageId + 1) & 0xffff;
        const request = buildUplinkRequest(deps.context, this.messageId, { readings: batch.readings, commandResults: results });
        this.statistics.exchanges++;
        return this.transmit(request, 0).then((result) => this.handle(result, batch.lastId, batch.readings.length));
      });
  }

  /** Send and wait; retransmit the same datagram after a doubling timeout. Resolves null when no answer came. */
  private transmit(request: UplinkRequest, attempt: number): Promise<UplinkResponseResult | null> {
    const deps = this.deps;
    if (attempt > 0) this.statistics.retransmissions++;
    const timeout = ACK_TIMEOUT_MILLISECONDS * (1 + Math.random() * (ACK_RANDOM_FACTOR - 1)) * (1 << attempt);
    return deps.supervisor
      .run('uplink', () => deps.modem.sendDatagram(request.datagram, { releaseAfter: 'reply' }))
      .then(() => this.waitForResponse(request, timeout))
      .then((result) => {
        if (result) this.answeredAttempt = attempt;
        if (result || attempt >= MAX_RETRANSMIT) return result;
        return this.transmit(request, attempt + 1);
      });
  }

  private waitForResponse(request: UplinkRequest, timeout: number): Promise<UplinkResponseResult | null> {
    return new Promise<UplinkResponseResult | null>((resolve) => {
      let timer: number | null = null;
      const finish = (result: UplinkResponseResult | null): void => {
        if (this.waiting !== entry) return;
        this.waiting = null;
        if (timer !== null) this.deps.clock.clearTimeout(timer);
        resolve(result);
      };
      const entry = { request: request, finish: finish };
      this.waiting = entry;
      timer = this.deps.clock.setTimeout(() => {
        timer = null;
        finish(null);
      }, timeout);
    });
  }

  private handle(result: UplinkResponseResult | null, lastId: number, readingCount: number): ExchangeOutcome {
    const deps = this.deps;
    if (!result) {
      this.fail('no response after ' + (MAX_RETRANSMIT + 1) + ' transmissions');
      return 'failed';
    }
    if (!result.ok) {
      if (result.reason === 'error-response' && result.code === coapBadRequest && readingCount > 0) {
        // The gateway will never take this batch (it does not decode or map): give it up visibly instead of
        // blocking every later reading behind it.
        deps.journal.acknowledge(lastId);
        deps.event(EventCode.UplinkRejected, [readingCount]);
        deps.log('uplink rejected ' + result.detail);
        this.statistics.lastError = result.detail;
        return 'ok';
      }
      const retry = result.code === coapServiceUnavailable && result.maxAge !== undefined ? result.maxAge * 1000 : undefined;
      this.fail(result.reason + ' ' + result.detail, retry);
      return 'failed';
    }
    const downlink = result.downlink;
    if (downlink.acknowledgedReadingId !== null && lastId > 0) {
      deps.journal.acknowledge(downlink.acknowledgedReadingId < lastId ? downlink.acknowledgedReadingId : lastId);
    }
    // After a retransmission the answer may come from the gateway's cache of the first one, with the time of that
    // first answer (seconds to minutes old): only a first-attempt answer sets the clock.
    if (downlink.time !== null && this.answeredAttempt === 0) deps.time.learn('gateway', downlink.time + 0.5);
    const acknowledged = downlink.acknowledgedCommandResults;
    this.results = this.results.filter((pending) => acknowledged.indexOf(pending.commandId) < 0);
    this.statistics.readingsSent += readingCount;
    this.statistics.consecutiveFailures = 0;
    this.statistics.lastSuccess = deps.clock.now();
    this.backoffUntil = 0;
    deps.downlink(downlink);
    return 'ok';
  }
}
