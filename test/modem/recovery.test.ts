/**
 * The recovery ladder against injected faults, with every reading acknowledged end to end by a real UDP echo
 * on loopback: whatever the modem does, no reading may be lost, and each recovery is counted at the rung
 * that cured it.
 */
import { strict as assert } from 'node:assert';
import { ModemSupervisor } from '../../firmware/modem/recovery';
import { deliverReadings, type DeliveryResult } from '../support/modem-scenarios';
import { advance, createModemRig, settler, startEchoServer, type ModemModelName } from '../support/modem-rig';

const models: ModemModelName[] = ['BC66', 'BC95-G', 'BG96'];

function assertNothingLost(result: DeliveryResult, readings: number): void {
  assert.deepEqual(result.lost, []);
  assert.equal(result.delivered.length, readings);
  assert.deepEqual(
    result.delivered,
    Array.from({ length: readings }, (_, index) => 1000 + index),
    'delivered in order',
  );
}

describe('modem recovery ladder', function () {
  this.timeout(60000);

  for (const model of models) {
    it(`${model}: a hung modem is power-cycled with no human and no reading is lost`, async () => {
      const result = await deliverReadings({ model, readings: 6, faults: [{ before: 2, fault: 'hang' }] });
      assertNothingLost(result, 6);
      assert.equal(result.counters.powerCycles, 1);
      assert.equal(result.counters.failures, 0);
      assert.equal(result.recoveries.length, 1);
      const recovery = result.recoveries[0]!;
      assert.equal(recovery.rung, 'power-cycle');
      const seconds = (recovery.recoveredAt - recovery.detectedAt) / 1000;
      console.log(`      ${model}: hang detected ${(result.faultToDetectionMs[0]! / 1000).toFixed(1)} s after it began, recovered ${seconds.toFixed(1)} s after detection`);
      assert.ok(seconds > 1 && seconds < 120, 'detection to recovery ' + seconds + ' s');
    });
  }

  it('BG96: the power cycle also works through the power key alone (long press off, press on)', async () => {
    const result = await deliverReadings({ model: 'BG96', readings: 4, faults: [{ before: 1, fault: 'hang' }], preferPowerKey: true });
    assertNothingLost(result, 4);
    assert.equal(result.counters.powerCycles, 1);
  });

  it('a +CME ERROR burst is cured by a retry, without a reset', async () => {
    const result = await deliverReadings({ model: 'BC95-G', readings: 4, faults: [{ before: 1, fault: 'cme-burst' }] });
    assertNothingLost(result, 4);
    assert.ok(result.counters.retries >= 1);
    assert.equal(result.counters.powerCycles, 0);
    assert.equal(result.recoveries[0]!.reason.includes('+CME ERROR: 159'), true, result.recoveries[0]!.reason);
  });

  for (const model of models) {
    it(`${model}: a radio that answers AT but cannot send is cured by the functional reset (CFUN=0/1)`, async () => {
      const result = await deliverReadings({ model, readings: 4, faults: [{ before: 1, fault: 'radio-stuck' }] });
      assertNothingLost(result, 4);
      assert.equal(result.counters.functionalResets, 1);
      assert.equal(result.counters.powerCycles, 0);
      assert.equal(result.recoveries[0]!.rung, 'functional-reset');
    });
  }

  it('a dropped registration is noticed from +CEREG, counted, and the reading waits for re-attach', async () => {
    const result = await deliverReadings({ model: 'BC66', readings: 4, faults: [{ before: 1, fault: 'registration-drop' }] });
    assertNothingLost(result, 4);
    assert.equal(result.counters.registrationLosses, 1);
    assert.equal(result.counters.powerCycles, 0);
  });

  it('no service at all: attach times out, the ladder climbs, readings are kept until the network is back', async () => {
    const result = await deliverReadings({ model: 'BC95-G', readings: 4, faults: [{ before: 1, fault: 'no-service' }] });
    assertNothingLost(result, 4);
    assert.ok(result.counters.functionalResets + result.counters.powerCycles >= 1);
  });

  it('URC storms and garbage bytes on the line do not lose or duplicate readings', async () => {
    const result = await deliverReadings({
      model: 'BG96',
      readings: 5,
      faults: [
        { before: 1, fault: 'urc-storm' },
        { before: 3, fault: 'garbage' },
      ],
      intervalMs: 1000,
    });
    assertNothingLost(result, 5);
    assert.equal(result.counters.failures, 0);
  });

  it('lost and duplicated datagrams: every reading still arrives (duplicates are the gateway\'s to drop)', async () => {
    const result = await deliverReadings({ model: 'BC66', readings: 12, faults: [{ before: 0, fault: 'lossy' }], radio: { seed: 7 } });
    assertNothingLost(result, 12);
    assert.ok(result.counters.retries > 0, 'some reading needed a resend');
  });

  it('a module that went into PSM is woken the proper way before the operation, not power-cycled', async () => {
    const echo = await startEchoServer();
    const rig = createModemRig({ model: 'BG96', modelOptions: { radio: { inactivityMs: 2000 } }, trace: false });
    const settle = settler(rig.clock);
    try {
      const supervisor = new ModemSupervisor(rig.driver, rig.halClock, {
        host: '127.0.0.1',
        port: echo.port,
        psm: { periodicTauSeconds: 86400, activeTimeSeconds: 4 },
      });
      await settle(supervisor.run('first', () => rig.driver.sendDatagram(Uint8Array.from([1]))));
      await advance(rig.clock, 60000);
      assert.equal(rig.model.power, 'psm');
      assert.equal(rig.driver.sleeping(), true);
      await settle(supervisor.run('second', () => rig.driver.sendDatagram(Uint8Array.from([2]))));
      await advance(rig.clock, 1000);
      assert.deepEqual(echo.received.map((message) => message[0]), [1, 2]);
      assert.equal(supervisor.counters.powerCycles + supervisor.counters.retries, 0);
    } finally {
      rig.close();
      await echo.close();
    }
  });

  it('attach that takes minutes is waited for, not treated as a failure', async () => {
    const result = await deliverReadings({ model: 'BC95-G', readings: 2, faults: [], radio: { attachMs: { minimum: 150000, maximum: 170000 } } });
    assertNothingLost(result, 2);
    assert.equal(result.counters.retries + result.counters.functionalResets + result.counters.powerCycles, 0);
  });
});
