/**
 * Power (issue 7): on AC loss the terminal switches to its battery policy and reports the event within a
 * minute; the battery model, drained by everything the board and its models draw, gives the projected days
 * at the battery policy (default: 15-minute readings, uplinks every 6 h, alarms at once) and with 15-minute
 * reporting on battery, on a 2,600 mAh pack. Low-battery and critical alarms come from the battery model's
 * voltage through the board's ADC.
 */
import { strict as assert } from 'node:assert';
import { TerminalRig, standardConfig } from './support/terminal-rig';

const minute = 60000;
const hour = 60 * minute;
const epoch = Date.parse('2026-08-01T12:00:00Z');

function eventTime(rig: TerminalRig, type: string): { time: number; receivedAt: number } | null {
  const event = rig.events(type)[0];
  if (!event) return null;
  return { time: Date.parse(event.payload.time as string) - epoch, receivedAt: Date.parse(event.payload.receivedAt as string) - epoch };
}

/** Run `hours` on battery and return the battery's charge drawn per day (mAh) and the projected days on its full capacity. */
async function measureOnBattery(rig: TerminalRig, hours: number): Promise<{ perDay: number; days: number; cycles: number; exchanges: number; deepSleep: number }> {
  rig.battery.update();
  const before = rig.battery.drawn;
  const exchangesBefore = rig.evaluate<number>('udt.session.statistics.exchanges');
  const cyclesBefore = rig.evaluate<number>('udt.session.statistics.cycles');
  const energyBefore = rig.board.energy.report();
  await rig.run(hours * hour);
  rig.battery.update();
  const energyAfter = rig.board.energy.report();
  const perDay = ((rig.battery.drawn - before) / hours) * 24;
  const asleep = energyAfter.mcu.deepSleep - energyBefore.mcu.deepSleep;
  const total = asleep + energyAfter.mcu.sleep - energyBefore.mcu.sleep + energyAfter.mcu.active - energyBefore.mcu.active;
  return { perDay, days: rig.battery.capacity / perDay, cycles: rig.evaluate<number>('udt.session.statistics.cycles') - cyclesBefore, exchanges: rig.evaluate<number>('udt.session.statistics.exchanges') - exchangesBefore, deepSleep: asleep / total };
}

describe('power: AC loss, battery policy, battery alarms', function () {
  this.timeout(300000);
  let rig: TerminalRig;

  afterEach(async () => {
    await rig?.close();
  });

  it('switches to the battery policy on AC loss, reports it within a minute and lasts at least 3 days (projected)', async () => {
    rig = await TerminalRig.start({ imeiIndex: 71 });
    await rig.run(2 * hour);
    assert.equal(rig.evaluate<boolean>('udt.power.onBattery()'), false);
    const cyclesOnMains = rig.evaluate<number>('udt.session.statistics.cycles');
    const lossAt = rig.board.clock.now();
    rig.ac.set(false);
    await rig.run(minute);
    await rig.drainPublications();
    const loss = eventTime(rig, 'ac_loss');
    assert.ok(loss, 'ac_loss published\n' + rig.output().slice(-2000));
    assert.ok(loss.receivedAt - lossAt <= minute, `ac_loss at the gateway ${(loss.receivedAt - lossAt) / 1000} s after the loss`);
    assert.equal(rig.evaluate<boolean>('udt.power.onBattery()'), true);
    const event = rig.events('ac_loss')[0]!.payload;
    assert.equal(event.unit, 'V');
    assert.ok((event.value as number) > 3.6, 'battery voltage in the event: ' + event.value);

    const battery = await measureOnBattery(rig, 48);
    await rig.drainPublications();
    const readings = rig.readings().filter((reading) => Date.parse(reading.payload.time as string) - epoch > lossAt + minute);
    const meter = readings.filter((reading) => (reading.payload.values as Record<string, unknown>)['meter.voltage_l1'] !== undefined);
    console.log(
      `      ac_loss at the gateway ${((loss.receivedAt - lossAt) / 1000).toFixed(1)} s after the loss; ` +
        `battery policy: ${battery.perDay.toFixed(2)} mAh/day, ${battery.cycles} uplink wakes (${battery.exchanges} exchanges) in 48 h (${cyclesOnMains} wakes in 2 h on mains), ` +
        `MCU in deep sleep ${(battery.deepSleep * 100).toFixed(1)} % -> projected ${battery.days.toFixed(0)} days on ${rig.battery.capacity} mAh`,
    );
    assert.ok(battery.days >= 3, 'three days at least');
    // Readings continue every 15 minutes; those since the last 6-hourly uplink are still in the journal.
    assert.ok(meter.length >= 42 * 4 - 2, 'readings continue every 15 minutes on battery: ' + meter.length);
    assert.ok(battery.cycles <= 48 / 6 + 2, 'report by exception: uplinks every 6 h, not every 15 min: ' + battery.cycles);

    rig.ac.set(true);
    await rig.run(minute);
    await rig.drainPublications();
    assert.ok(eventTime(rig, 'ac_restore'), 'ac_restore published');
    assert.equal(rig.evaluate<boolean>('udt.power.onBattery()'), false);
  });

  it('15-minute reporting on the battery policy: at least 30 days projected on 2,600 mAh', async () => {
    const config = { ...standardConfig, terminal: { ...standardConfig.terminal, battery: { sendInterval: 15 * minute } } };
    rig = await TerminalRig.start({ imeiIndex: 72, config, mains: false });
    await rig.run(hour);
    assert.equal(rig.evaluate<boolean>('udt.power.onBattery()'), true);
    const battery = await measureOnBattery(rig, 48);
    const consumers = rig.board.energy.report().consumers;
    console.log(
      `      15-minute reporting on battery: ${battery.perDay.toFixed(2)} mAh/day, ${battery.cycles} uplink wakes (${battery.exchanges} exchanges) in 48 h, MCU deep sleep ${(battery.deepSleep * 100).toFixed(1)} % ` +
        `-> projected ${battery.days.toFixed(0)} days on ${rig.battery.capacity} mAh (consumers so far: ${Object.entries(consumers).map(([name, mah]) => `${name} ${mah.toFixed(1)} mAh`).join(', ')})`,
    );
    assert.ok(battery.cycles >= 48 * 4 - 4, 'an uplink every 15 minutes: ' + battery.cycles);
    assert.ok(battery.days >= 30, 'at least 30 days');
  });

  it('raises low_battery and battery_critical from the battery voltage, makes a last report and stops', async () => {
    rig = await TerminalRig.start({ imeiIndex: 73, mains: false, battery: { stateOfCharge: 0.12, capacityMilliampHours: 40 } });
    const low = await rig.runUntil(() => rig.events('low_battery').length > 0, 24 * hour, 5 * minute);
    assert.ok(low, 'low_battery published\n' + rig.output().slice(-2000));
    const critical = await rig.runUntil(() => rig.events('battery_critical').length > 0, 48 * hour, 5 * minute);
    await rig.drainPublications();
    assert.ok(critical, 'battery_critical published\n' + rig.output().slice(-2000));
    await rig.run(10 * minute);
    assert.equal(rig.evaluate<boolean>('udt.shutDown'), true);
    assert.match(rig.output(), /battery exhausted: stopped until mains returns/);
    console.log(`      low_battery at ${rig.events('low_battery')[0]!.payload.value} V, battery_critical at ${rig.events('battery_critical')[0]!.payload.value} V`);
  });
});
