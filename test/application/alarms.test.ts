/**
 * Alarms go out at once (issue 7): a tamper contact, a threshold crossing on a sensor channel (with hysteresis),
 * a Modbus meter that stops answering and comes back. Each is published by the real gateway on
 * `event/<type>` within a minute of happening, between the regular 15-minute uplinks.
 */
import { strict as assert } from 'node:assert';
import { Switch } from '../../simulator/models/switch';
import { TerminalRig, standardConfig } from './support/terminal-rig';

const minute = 60000;
const epoch = Date.parse('2026-08-01T12:00:00Z');

describe('alarms on the terminal bundle', function () {
  this.timeout(300000);
  let rig: TerminalRig;

  after(async () => {
    await rig?.close();
  });

  it('sends tamper, threshold and device-lost events at once', async () => {
    const config = {
      ...standardConfig,
      sensors: [{ name: 'climate', part: 'SHT3x', address: 0x45, interval: 5 * minute }],
      digitalInputs: [{ name: 'lid', input: 'tamper', event: 'tamper', activeLevel: 'high' }],
      terminal: { ...standardConfig.terminal, thresholds: [{ source: 'climate', channel: 'temperature', above: 30, hysteresis: 1 }] },
    };
    rig = await TerminalRig.start({ imeiIndex: 90, config });
    const tamperPin = rig.board.definition.digitalInputs.find((input) => input.name === 'tamper')!.pin;
    const lid = new Switch(rig.board.clock, rig.board.gpio, { pin: tamperPin, closed: true });
    await rig.run(2 * minute);

    const latency = async (type: string, action: () => void): Promise<number> => {
      const at = rig.board.clock.now();
      action();
      const arrived = await rig.runUntilReal(() => rig.events(type).length > 0, 5 * minute, 2000);
      assert.ok(arrived, `${type} published\n${rig.output().slice(-1500)}`);
      return Date.parse(rig.events(type)[0]!.payload.receivedAt as string) - epoch - at;
    };
    const opened = await latency('tamper', () => lid.set(false));
    assert.equal(rig.events('tamper')[0]!.payload.value, true);
    assert.ok(opened < minute, 'tamper at the gateway after ' + opened + ' ms');

    // 31 °C: above the limit at the next 5-minute sample; back to 29.5 is inside the hysteresis, 28 clears it.
    const hot = await latency('high.climate.temperature', () => (rig.climate.temperature = 31));
    assert.ok(hot < 6 * minute, 'threshold event within a sampling interval and a minute');
    rig.climate.temperature = 29.5;
    await rig.run(6 * minute);
    await rig.drainPublications();
    assert.equal(rig.events('normal.climate.temperature').length, 0, 'hysteresis holds the alarm at 29.5');
    await latency('normal.climate.temperature', () => (rig.climate.temperature = 28));

    // The meter stops answering: lost after three failed polls (offlineAfter), back when it answers again.
    rig.meter.fault = { kind: 'no-answer' };
    const lost = await rig.runUntilReal(() => rig.events('modbus_lost.meter').length > 0, 60 * minute, 10000);
    assert.ok(lost, 'modbus_lost published');
    rig.meter.fault = { kind: 'none' };
    const back = await rig.runUntilReal(() => rig.events('modbus_back.meter').length > 0, 60 * minute, 10000);
    assert.ok(back, 'modbus_back published');
    console.log(`      tamper at the gateway ${(opened / 1000).toFixed(1)} s after the lid opened; high temperature ${(hot / 1000).toFixed(1)} s after the change (5-minute sampling)`);
  });
});
