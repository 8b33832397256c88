/**
 * The terminal application on the built bundle (firmware/main.ts for the NUCLEO-L476 + BC95-G), on the virtual
 * board with an SDM630, an SHT3x and a pulse input, talking to the real gateway over the modem model's UDP.
 */
import { strict as assert } from 'node:assert';
import { TerminalRig } from './support/terminal-rig';

describe('terminal application on the virtual board, real gateway', function () {
  this.timeout(180000);
  let rig: TerminalRig;

  afterEach(async () => {
    await rig?.close();
  });

  it('boots, samples each source on its interval, journals and delivers the readings; the gateway acknowledges them', async () => {
    rig = await TerminalRig.start();
    await rig.run(5000);
    assert.match(rig.output(), /udt boot board=nucleo-l476-bc95/);
    rig.pulses.burst(7, 500);
    // Virtual time until the gateway acknowledged the boot status report (the terminal's journal is empty again);
    // its MQTT message then arrives in real time, which virtual time does not wait for.
    const journal = (): { depth: number; nextId: number } => JSON.parse(rig.evaluate<string>('JSON.stringify(udt.journal.statistics())'));
    const acknowledged = await rig.runUntil(() => journal().nextId > 1 && journal().depth === 0, 10 * 60000);
    assert.ok(acknowledged, 'the gateway acknowledged the boot status report\n' + rig.output().slice(-3000));
    await rig.drainPublications();
    await rig.observer.waitFor(() => rig.readings().length >= 1, 'the boot status report on MQTT');
    await rig.run(40 * 60000);
    await rig.drainPublications();
    const readings = rig.readings();
    const byName = (name: string) => readings.filter((reading) => (reading.payload.values as Record<string, unknown>)[name] !== undefined);
    const meter = byName('meter.voltage_l1');
    assert.ok(meter.length >= 2, 'two meter readings in 40 minutes: ' + JSON.stringify(readings.map((r) => r.payload)));
    const values = meter[0]!.payload.values as Record<string, { value: number; unit?: string }>;
    assert.equal(values['meter.voltage_l1']!.value, 230.5);
    assert.equal(values['meter.import_energy']!.value, 12345.5);
    const climate = byName('climate.temperature');
    assert.ok(climate.length >= 2);
    assert.ok(Math.abs((climate[0]!.payload.values as Record<string, { value: number }>)['climate.temperature']!.value - 21.5) < 0.05);
    const water = byName('water.total');
    assert.equal((water[0]!.payload.values as Record<string, { value: number }>)['water.total']!.value, 70);
    const status = byName('boot_count');
    assert.ok(status.length >= 1);
    const statusValues = status[0]!.payload.values as Record<string, { value: unknown }>;
    assert.equal(statusValues.reset_reason!.value, 'power-on');
    assert.equal(statusValues.firmware!.value, '0.1.0');
    const stats = JSON.parse(rig.evaluate<string>('JSON.stringify(udt.journal.statistics())'));
    assert.equal(stats.depth, 0, 'everything acknowledged');
    if (process.env.UDT_TEST_CONSOLE) console.log(rig.output());
    console.log(`      readings delivered ${readings.length}, journal next id ${stats.nextId}`);
  });

  it('is reset by the watchdog when its main loop stops (a callback that never returns), and reports why', async () => {
    rig = await TerminalRig.start({ imeiIndex: 74, board: { hangTimeoutMs: 200 } });
    await rig.run(60000);
    assert.equal(rig.board.counters.boots, 1);
    // Espruino's own idle-loop kicking is off (E.enableWatchdog(..., false)): only the firmware's tick kicks.
    rig.board.evaluate('setTimeout(function () { while (true) {} }, 10); 0');
    await rig.run(1000);
    assert.equal(rig.board.counters.hangs, 1);
    await rig.run(30000);
    assert.equal(rig.board.counters.watchdogResets, 1, 'the watchdog reset the hung board');
    const reported = await rig.runUntilReal(
      () => rig.readings().some((reading) => (reading.payload.values as Record<string, { value: unknown }>).reset_reason?.value === 'watchdog'),
      10 * 60000,
    );
    assert.ok(reported, 'the status after the reset says watchdog\n' + rig.output().slice(-1500));
  });
});

