/**
 * Modem energy per day in PSM, per modem model, for 15- and 60-minute reporting: each report wakes the module,
 * sends a 64-byte datagram to a loopback echo, waits for the answer and lets the module back into PSM
 * (T3412 24 h, T3324 10 s requested). With and without release assistance (RAI), at coverage class 0,
 * and at class 2 with RAI. Figures come from the current model (simulator/radio/current-model.ts, datasheet
 * sources cited there) integrated over a simulated day.
 * Run: npx tsx bench/modem-energy.ts [hours]
 */
import { reportingDay, type EnergyResult } from '../test/support/modem-scenarios';
import type { ModemModelName } from '../test/support/modem-rig';
import type { CoverageClass } from '../simulator/radio/radio-model';

const hours = Number(process.argv[2] ?? 24);
const models: ModemModelName[] = ['BC66', 'BC95-G', 'BG96'];

function line(result: EnergyResult, label: string): string {
  const seconds = (state: keyof EnergyResult['timeInState']): string => (result.timeInState[state] / 1000 / result.reports).toFixed(1);
  return (
    `${result.model.padEnd(7)} ${label.padEnd(16)} every ${String(result.intervalMinutes).padStart(2)} min: ` +
    `${result.milliampHoursPerDay.toFixed(2).padStart(6)} mAh/day  ` +
    `(${(result.perReportMilliampHours * 1000).toFixed(1)} uAh per report; per report ${seconds('transmitting')} s TX, ` +
    `${seconds('connected')} s connected, ${seconds('idle')} s idle, ${seconds('active')} s awake; ${result.acknowledged}/${result.reports + 1} acknowledged)`
  );
}

async function main(): Promise<void> {
  console.log(`Modem charge per day in PSM, ${hours} h simulated per figure (3-day battery floor: multiply by 3)`);
  const variants: Array<{ label: string; coverageClass: CoverageClass; releaseAssistance: boolean }> = [
    { label: 'ECL0, RAI', coverageClass: 0, releaseAssistance: true },
    { label: 'ECL0, no RAI', coverageClass: 0, releaseAssistance: false },
    { label: 'ECL2, RAI', coverageClass: 2, releaseAssistance: true },
  ];
  for (const model of models) {
    for (const variant of variants) {
      for (const intervalMinutes of [15, 60]) {
        const result = await reportingDay({
          model,
          intervalMinutes,
          hours,
          releaseAssistance: variant.releaseAssistance,
          radio: { coverageClass: variant.coverageClass, seed: 11 },
        });
        console.log(line(result, variant.label));
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
