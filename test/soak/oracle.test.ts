/**
 * The soak's judges, on hand-made inputs: the oracle must see every kind of failure it reports (a lost id, a
 * reading stored twice, a changed value, a poll out of order or under two ids, a poll never journaled, foreign
 * and unparseable messages), must not count an identical redelivery as a duplicate, and must excuse only a poll
 * whose journal write a power cut tore. The drifting clock must map a board's time onto the shared clock.
 */
import { strict as assert } from 'node:assert';
import { VirtualClock } from '../../simulator/clock';
import { DriftingClock } from '../../bench/soak/drifting-clock';
import type { Poll } from '../../bench/soak/meter';
import { SoakOracle, type TerminalTruth } from '../../bench/soak/oracle';

const device = '350000009000007';

function poll(index: number, at: number, energy: number): Poll {
  return { index, at, values: { voltage_l1: 230.5, current_l1: 4.75, power_l1: 1094.875, import_energy: energy } };
}

function reading(id: number, energy: number, receivedAt = '2026-08-01T00:00:00.000Z', voltage = 230.5): string {
  return JSON.stringify({
    device, readingId: id, time: '2026-08-01T00:00:00.000Z', receivedAt,
    values: { 'meter.voltage_l1': { value: voltage, unit: 'V' }, 'meter.current_l1': { value: 4.75 }, 'meter.power_l1': { value: 1094.875 }, 'meter.import_energy': { value: energy } },
  });
}

function truth(polls: Poll[], lastId: number, extra: Partial<TerminalTruth> = {}): TerminalTruth {
  return { imei: device, lastId, waiting: 0, polls, powerLosses: [], pollsDueBefore: Number.POSITIVE_INFINITY, networkEpochMs: Date.parse('2026-08-01T00:00:00Z'), ...extra };
}

describe('soak oracle', () => {
  const polls = [poll(0, 1000, 10.5), poll(1, 901000, 11.25), poll(2, 1801000, 12)];

  it('passes a clean delivery and counts identical redeliveries apart, by cause', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 10.5), false, 1000);
    oracle.record(`udt/${device}/up`, reading(2, 11.25), false, 2000);
    oracle.record(`udt/${device}/up`, reading(2, 11.25), false, 5000);
    oracle.record(`udt/${device}/up`, reading(3, 12), false, 6000);
    oracle.record(`udt/${device}/up`, reading(3, 12), true, 6500);
    const report = oracle.evaluate([truth(polls, 3)], [{ kind: 'gateway-kill', at: 4000 }]);
    assert.deepEqual([report.produced, report.delivered, report.lost, report.duplicated, report.wrongValue, report.foreign], [3, 3, 0, 0, 0, 0]);
    assert.deepEqual(report.redelivered, { total: 2, afterGatewayKill: 1, afterBrokerRestart: 0, brokerResend: 1, other: 0 });
    assert.deepEqual(report.meter, { polls: 3, delivered: 3, notCommittedPowerCut: 0, longestPollToCutMs: 0, lost: 0, afterHorizon: 0 });
    // Every reading here says 00:00:00; the polls were at 1 s, 901 s and 1801 s.
    assert.deepEqual(report.readingTimeErrorSeconds, { minimum: -1801, maximum: -1 });
  });

  it('reports a lost id, but not one still waiting in the terminal', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 10.5), false);
    oracle.record(`udt/${device}/up`, reading(3, 12), false);
    const report = oracle.evaluate([truth(polls, 4, { waiting: 1 })], []);
    assert.equal(report.lost, 1);
    assert.equal(report.stillInTerminals, 1);
    assert.match(report.examples.join('\n'), new RegExp(`lost ${device}/2`));
    assert.equal(report.meter.lost, 1, 'poll 1 was never delivered');
  });

  it('reports a reading stored twice (another receivedAt) as duplicated', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 10.5), false);
    oracle.record(`udt/${device}/up`, reading(1, 10.5, '2026-08-01T00:00:09.000Z'), false);
    const report = oracle.evaluate([truth(polls.slice(0, 1), 1)], []);
    assert.equal(report.duplicated, 1);
    assert.equal(report.redelivered.total, 0);
  });

  it('reports a changed value, a value no poll served, a poll out of order and a poll under two ids', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 11.25), false);
    oracle.record(`udt/${device}/up`, reading(2, 10.5), false);
    oracle.record(`udt/${device}/up`, reading(3, 11.25), false);
    oracle.record(`udt/${device}/up`, reading(4, 12, undefined, 231), false);
    oracle.record(`udt/${device}/up`, reading(5, 99), false);
    const report = oracle.evaluate([truth(polls, 5)], []);
    assert.equal(report.wrongValue, 4, report.examples.join('\n'));
    assert.equal(report.duplicated, 1, 'poll 1 under ids 1 and 3');
  });

  it('excuses only a poll whose journal write a power cut tore', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 10.5), false);
    const report = oracle.evaluate([truth(polls, 1, { powerLosses: [901400, 1801000 + 60_000] })], []);
    assert.equal(report.meter.notCommittedPowerCut, 1);
    assert.equal(report.meter.longestPollToCutMs, 400);
    assert.equal(report.meter.lost, 1, 'a cut a minute after poll 2 does not excuse it');
  });

  it('reports foreign and unparseable messages, and readings a full terminal journal dropped', () => {
    const oracle = SoakOracle.detached();
    oracle.record(`udt/${device}/up`, reading(1, 10.5), false);
    oracle.record(`udt/${device}/event/readings_dropped`, JSON.stringify({ device, type: 'readings_dropped', readingId: 2, value: 7 }), false);
    oracle.record(`udt/${device}/up`, reading(9, 12), false);
    oracle.record('udt/350000009000015/up', JSON.stringify({ device: '350000009000015', readingId: 1, values: {} }), false);
    oracle.record(`udt/${device}/up`, 'not json', false);
    oracle.record(`udt/${device}/up`, '{"readingId":"1"}', false);
    const report = oracle.evaluate([truth(polls.slice(0, 1), 2)], []);
    assert.equal(report.foreign, 4);
    assert.equal(report.droppedByTerminals, 7);
    assert.equal(report.events, 1);
  });
});

describe('drifting clock', () => {
  it('runs a board 250 ppm fast or slow against the shared clock, events in true order', () => {
    const base = new VirtualClock();
    const fast = new DriftingClock(base, 250);
    const slow = new DriftingClock(base, -250);
    const order: string[] = [];
    fast.schedule(900_000, () => order.push(`fast@${base.now().toFixed(1)}`));
    slow.schedule(900_000, () => order.push(`slow@${base.now().toFixed(1)}`));
    base.schedule(900_000, () => order.push('true@900000.0'));
    base.runUntil(1_000_000);
    assert.deepEqual(order, ['fast@899775.1', 'true@900000.0', 'slow@900225.1']);
    assert.ok(Math.abs(fast.now() - 1_000_250) < 1e-6 && Math.abs(slow.now() - 999_750) < 1e-6, `${fast.now()} ${slow.now()}`);
    const at = fast.now() + 1000;
    let seenAt = 0;
    fast.scheduleAt(at, () => (seenAt = fast.now()));
    base.runUntil(2_000_000);
    assert.ok(Math.abs(seenAt - at) < 1e-6, `${seenAt} vs ${at}`);
    assert.throws(() => new DriftingClock(base, Number.NaN), /finite/);
  });
});
