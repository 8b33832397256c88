/**
 * A hung modem, recovered with no human: for each modem model a terminal delivers readings (each acknowledged
 * by a loopback UDP echo); before reading 3 the modem stops answering entirely. The recovery ladder
 * (retry -> CFUN -> power cycle) runs by itself. Prints detection and detection-to-recovery times, the
 * ladder counters and whether any reading was lost. Then the other faults, one run each.
 * Run: npx tsx bench/modem-recovery.ts
 */
import { deliverReadings, type ScenarioFault } from '../test/support/modem-scenarios';
import type { ModemModelName } from '../test/support/modem-rig';

const models: ModemModelName[] = ['BC66', 'BC95-G', 'BG96'];
const seconds = (milliseconds: number): string => (milliseconds / 1000).toFixed(1) + ' s';

async function main(): Promise<void> {
  console.log('Hung modem (stops answering until power-cycled), 8 readings, fault before reading 3:');
  for (const model of models) {
    for (const preferPowerKey of model === 'BG96' ? [false, true] : [false]) {
      const result = await deliverReadings({ model, readings: 8, faults: [{ before: 3, fault: 'hang' }], preferPowerKey });
      const recovery = result.recoveries[0];
      const how = preferPowerKey ? 'power key' : 'reset pin';
      console.log(
        `  ${model.padEnd(7)} (${how}): detected ${seconds(result.faultToDetectionMs[0] ?? NaN)} after the hang began, ` +
          `recovered ${recovery ? seconds(recovery.recoveredAt - recovery.detectedAt) : 'never'} after detection at rung ${recovery?.rung ?? '-'}; ` +
          `retries ${result.counters.retries}, CFUN resets ${result.counters.functionalResets}, power cycles ${result.counters.powerCycles}; ` +
          `readings delivered ${result.delivered.length}/8, lost ${result.lost.length}`,
      );
    }
  }
  const faults: ScenarioFault[] = ['cme-burst', 'radio-stuck', 'registration-drop', 'no-service', 'urc-storm', 'garbage', 'lossy'];
  console.log('Other faults (BC66 unless noted), 6 readings, fault before reading 2:');
  for (const fault of faults) {
    const result = await deliverReadings({ model: 'BC66', readings: 6, faults: [{ before: 2, fault }], radio: { seed: 3 } });
    const recovery = result.recoveries[0];
    console.log(
      `  ${fault.padEnd(18)} recoveries ${result.counters.recoveries} (highest rung ${recovery?.rung ?? '-'}` +
        `${recovery ? ', ' + seconds(recovery.recoveredAt - recovery.detectedAt) + ' detection to recovery' : ''}); ` +
        `retries ${result.counters.retries}, CFUN ${result.counters.functionalResets}, power cycles ${result.counters.powerCycles}, ` +
        `registration losses ${result.counters.registrationLosses}; lost ${result.lost.length}, duplicates at gateway ${result.duplicatesAtGateway}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
