import { strict as assert } from 'node:assert';
import { ModbusMaster } from '../../firmware/modbus/master';
import { ModbusPoller, type PollerDevice, type PollResult } from '../../firmware/modbus/poller';
import type { Profile } from '../../firmware/modbus/profile';
import { VirtualClock } from '../../simulator/clock';
import { loadProfileJson, ModbusMeterModel } from '../../simulator/models/modbus-meter';
import { ModbusSlaveModel, type SlaveFault } from '../../simulator/models/modbus-slave';
import { Rs485Bus } from '../../simulator/wire';
import { fillMeter } from '../support/meter-values';
import { BusRs485, VirtualClockHal } from '../support/wire-hal';

describe('Modbus poller', () => {
  function bench() {
    const clock = new VirtualClock();
    const bus = new Rs485Bus(clock, { baudRate: 9600, parity: 'none', stopBits: 1 });
    const master = new ModbusMaster(BusRs485.attach(clock, bus, 'terminal'), new VirtualClockHal(clock), { responseTimeout: 200, retries: 2, offlineAfter: 3 });
    return { clock, bus, master };
  }

  it('reads exactly the values set in an SDM630 and a water meter on one bus (every type, both word orders)', () => {
    const { clock, bus, master } = bench();
    const sdm630 = new ModbusMeterModel(clock, bus, 1, loadProfileJson('eastron-sdm630'));
    const water = new ModbusMeterModel(clock, bus, 2, loadProfileJson('tuf2000-water'));
    const generic = new ModbusMeterModel(clock, bus, 3, loadProfileJson('generic'));
    const expected = new Map([
      ['energy', fillMeter(sdm630)],
      ['water', fillMeter(water)],
      ['probe', fillMeter(generic)],
    ]);
    const devices: PollerDevice[] = [
      { name: 'energy', unitId: 1, profile: sdm630.profile as Profile, interval: 15_000 },
      { name: 'water', unitId: 2, profile: water.profile as Profile, interval: 60_000 },
      { name: 'probe', unitId: 3, profile: generic.profile as Profile, interval: 60_000 },
    ];
    const results: PollResult[] = [];
    const poller = new ModbusPoller(master, new VirtualClockHal(clock), devices, (result) => results.push(result));
    poller.start();
    clock.runUntil(59_000);
    poller.stop();
    assert.equal(results.filter((result) => result.device === 'energy').length, 4);
    for (const result of results) {
      assert.deepEqual(result.errors, []);
      const values = expected.get(result.device)!;
      assert.equal(result.readings.length, values.size, `${result.device}: every point read`);
      for (const reading of result.readings) assert.equal(reading.value, values.get(reading.point), `${result.device}.${reading.point}`);
    }
    const types = new Set([...sdm630.profile.points, ...water.profile.points].map((point) => point.type ?? 'float32'));
    assert.deepEqual([...types].sort(), ['float32', 's16', 's32', 'u16', 'u32']);
    // Merged reads: the whole SDM630 map in a handful of requests.
    assert.ok(poller.plan('energy').length <= 8, `${poller.plan('energy').length} reads`);
    const voltage = results.find((result) => result.device === 'energy')!.readings.find((reading) => reading.point === 'voltage_l1');
    assert.equal(voltage?.unit, 'V');
  });

  it('reads a subset of points and applies scale and offset from the profile', () => {
    const { clock, bus, master } = bench();
    const profile: Profile = {
      id: 'scaled',
      maximumGap: 1,
      defaults: { table: 'holding' },
      points: [
        { name: 'temperature', address: 10, type: 's16', scale: 0.1, offset: -40, unit: 'Cel' },
        { name: 'volume', address: 12, type: 'u32', scale: 0.001, unit: 'm3', wordOrder: 'little' },
        { name: 'unused', address: 100, type: 'u16' },
      ],
    };
    const meter = new ModbusMeterModel(clock, bus, 9, profile);
    meter.set('temperature', 21.5);
    meter.set('volume', 1234.567);
    const results: PollResult[] = [];
    const poller = new ModbusPoller(master, new VirtualClockHal(clock), [{ name: 'm', unitId: 9, profile, interval: 1000, points: ['temperature', 'volume'] }], (result) => results.push(result));
    poller.start();
    clock.runUntil(500);
    poller.stop();
    assert.equal(results.length, 1);
    assert.equal(meter.requests.length, 1, 'one merged read');
    const byName = new Map(results[0]!.readings.map((reading) => [reading.point, reading.value]));
    assert.ok(Math.abs(byName.get('temperature')! - 21.5) < 1e-9);
    assert.ok(Math.abs(byName.get('volume')! - 1234.567) < 1e-9);
    assert.equal(byName.has('unused'), false);
  });

  it('handles every fault slave: errors counted and reported, the healthy meters polled on schedule', () => {
    const { clock, bus, master } = bench();
    const sdm630 = new ModbusMeterModel(clock, bus, 1, loadProfileJson('eastron-sdm630'));
    const water = new ModbusMeterModel(clock, bus, 2, loadProfileJson('tuf2000-water'));
    const values = { energy: fillMeter(sdm630), water: fillMeter(water) };
    const faults: Array<[string, SlaveFault, string]> = [
      ['silent', { kind: 'no-answer' }, 'timeout'],
      ['bad-crc', { kind: 'bad-crc' }, 'crc'],
      ['wrong-unit', { kind: 'wrong-unit', answerAs: 99 }, 'wrong-unit'],
      ['exception', { kind: 'exception', exceptionCode: 4 }, 'exception'],
      ['short', { kind: 'short-frame', keepBytes: 6 }, 'short-frame'],
      ['slow', { kind: 'slow', delay: 900 }, 'timeout'],
    ];
    const smallProfile = loadProfileJson('generic') as Profile;
    const devices: PollerDevice[] = [
      { name: 'energy', unitId: 1, profile: sdm630.profile as Profile, interval: 10_000 },
      { name: 'water', unitId: 2, profile: water.profile as Profile, interval: 10_000 },
    ];
    faults.forEach(([name, fault], index) => {
      const slave = new ModbusSlaveModel(clock, bus, 20 + index, name);
      slave.fault = fault;
      devices.push({ name, unitId: 20 + index, profile: smallProfile, interval: 10_000, points: ['holding_0', 'holding_1'], offlineInterval: 60_000 });
    });
    const results: PollResult[] = [];
    const poller = new ModbusPoller(master, new VirtualClockHal(clock), devices, (result) => results.push({ ...result, time: clock.now() }));
    poller.start();
    const minutes = 10;
    clock.runUntil(minutes * 60_000 - 1);
    poller.stop();
    clock.runUntilIdle(10_000);

    for (const healthy of ['energy', 'water'] as const) {
      const polls = results.filter((result) => result.device === healthy);
      assert.equal(polls.length, minutes * 6, `${healthy} polled every 10 s`);
      let complete = 0;
      polls.forEach((poll, index) => {
        const due = index * 10_000 + (healthy === 'water' ? 10 : 0);
        assert.ok(poll.time - due < 5_000, `${healthy} poll ${index} finished ${poll.time - due} ms after it was due`);
        if (poll.errors.length === 0) complete++;
        for (const reading of poll.readings) assert.equal(reading.value, values[healthy].get(reading.point));
        // The only way a healthy meter loses a poll: the slow slave's late answers collide with its own on the wire.
        for (const error of poll.errors) assert.ok(['crc', 'timeout', 'short-frame'].includes(error.code), String(error));
      });
      assert.ok(complete >= polls.length - 3, `${healthy}: ${complete} of ${polls.length} polls complete`);
    }
    if (results.some((result) => (result.device === 'energy' || result.device === 'water') && result.errors.length > 0)) assert.ok(bus.collisions > 0);
    const status = new Map(poller.status().map((entry) => [entry.device, entry]));
    for (const [name, , code] of faults) {
      const reported = results.filter((result) => result.device === name).flatMap((result) => result.errors.map((error) => error.code));
      assert.ok(reported.length > 0 && reported.every((reported) => reported === code), `${name}: reported ${reported.join(',')}`);
      assert.equal(status.get(name)!.completePolls, 0);
      assert.ok(status.get(name)!.lastError?.includes(code));
    }
    const counters = (unitId: number) => master.counters(unitId);
    assert.ok(counters(20).timeouts > 0);
    assert.ok(counters(21).crcErrors > 0);
    assert.ok(counters(22).wrongUnit > 0);
    assert.ok(counters(23).exceptions > 0);
    assert.ok(counters(24).shortFrames > 0);
    assert.ok(counters(25).timeouts > 0);
    // Silent slaves go offline and are then asked only every offlineInterval.
    assert.equal(status.get('silent')!.online, false);
    assert.ok(status.get('silent')!.skippedOffline >= 40, `skipped ${status.get('silent')!.skippedOffline}`);
    assert.equal(status.get('exception')!.online, true, 'a slave that answers with exceptions is not offline');
  });

  it('polls a slow meter cleanly once its device config gives it a longer response timeout', () => {
    const { clock, bus, master } = bench();
    const sdm630 = new ModbusMeterModel(clock, bus, 1, loadProfileJson('eastron-sdm630'));
    const slow = new ModbusMeterModel(clock, bus, 2, loadProfileJson('tuf2000-water'));
    slow.fault = { kind: 'slow', delay: 900 };
    const values = { energy: fillMeter(sdm630), water: fillMeter(slow) };
    const results: PollResult[] = [];
    const poller = new ModbusPoller(
      master,
      new VirtualClockHal(clock),
      [
        { name: 'energy', unitId: 1, profile: sdm630.profile as Profile, interval: 10_000 },
        { name: 'water', unitId: 2, profile: slow.profile as Profile, interval: 10_000, responseTimeout: 1500 },
      ],
      (result) => results.push(result),
    );
    poller.start();
    clock.runUntil(120_000 - 1);
    poller.stop();
    assert.equal(results.length, 24);
    for (const result of results) {
      assert.deepEqual(result.errors, []);
      for (const reading of result.readings) assert.equal(reading.value, values[result.device as 'energy' | 'water'].get(reading.point));
    }
    assert.equal(bus.collisions, 0);
  });
});
