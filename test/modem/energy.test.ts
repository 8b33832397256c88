/**
 * The current model and the PSM reporting day: charge integrates exactly over state changes, a battery-side
 * listener sees every change, and the per-day figures order as physics says they must (PSM floor, fewer
 * reports cost less, release assistance and good coverage cost less).
 */
import { strict as assert } from 'node:assert';
import { VirtualClock } from '../../simulator/clock';
import { CurrentModel, currentProfiles } from '../../simulator/radio/current-model';
import { reportingDay } from '../support/modem-scenarios';

describe('modem current model', () => {
  it('integrates charge over states and tells listeners every change', () => {
    const clock = new VirtualClock();
    const model = new CurrentModel(clock, currentProfiles.BC66);
    const seen: number[] = [];
    model.onChange((milliamps) => seen.push(milliamps));
    model.setState('active');
    clock.advance(3600000); // 1 h at 5 mA
    model.setState('transmitting', 1);
    clock.advance(36000); // 10 s at 210 mA
    model.setState('psm');
    clock.advance(3600000); // 1 h at 3.5 uA
    const expected = 5 + (210 * 36) / 3600 + 0.0035;
    assert.ok(Math.abs(model.chargeDrawnMilliampHours() - expected) < 1e-9, String(model.chargeDrawnMilliampHours()));
    assert.deepEqual(seen, [5, 210, 0.0035]);
    assert.equal(model.durations().transmitting, 36000);
  });
});

describe('PSM reporting energy (short simulated spans)', function () {
  this.timeout(60000);

  it('every report is acknowledged and the modem sleeps in PSM between reports', async () => {
    const result = await reportingDay({ model: 'BC66', intervalMinutes: 60, hours: 4 });
    assert.equal(result.acknowledged, result.reports + 1);
    assert.equal(result.psmEntries, result.reports);
    assert.ok(result.timeInState.psm > 0.99 * 4 * 3600000 - 4 * 60000);
  });

  it('orders the figures: 15 min > 60 min; no RAI > RAI; ECL2 > ECL0; BG96 (2 s restart per wake) > BC66', async () => {
    const bc66Hourly = await reportingDay({ model: 'BC66', intervalMinutes: 60, hours: 4 });
    const bc66Quarter = await reportingDay({ model: 'BC66', intervalMinutes: 15, hours: 4 });
    const noRai = await reportingDay({ model: 'BC66', intervalMinutes: 60, hours: 4, releaseAssistance: false });
    const deep = await reportingDay({ model: 'BC66', intervalMinutes: 60, hours: 4, radio: { coverageClass: 2 } });
    const bg96 = await reportingDay({ model: 'BG96', intervalMinutes: 60, hours: 4 });
    assert.ok(bc66Quarter.milliampHoursPerDay > 3 * bc66Hourly.milliampHoursPerDay);
    assert.ok(noRai.perReportMilliampHours > 4 * bc66Hourly.perReportMilliampHours, 'the 20 s inactivity tail dominates');
    assert.ok(deep.perReportMilliampHours > 5 * bc66Hourly.perReportMilliampHours);
    assert.ok(bg96.perReportMilliampHours > bc66Hourly.perReportMilliampHours);
    // Floor: a day in PSM alone is 24 h x 3.5 uA = 0.084 mAh for the BC66.
    assert.ok(bc66Hourly.milliampHoursPerDay > 0.084);
  });
});
