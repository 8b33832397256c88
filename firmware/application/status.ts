/**
 * The status report (heartbeat): a journal entry of kind Status whose values follow `statusFields`
 * (entries.ts), made at every boot and every `statusInterval`. The firmware version is added when it is sent.
 */
import type { ResetReason } from '../../hal/interfaces';
import type { JournalStatistics } from '../journal/journal';
import type { RecoveryCounters } from '../modem/recovery';
import { resetReasons } from './entries';

export interface StatusInputs {
  uptimeSeconds: number;
  bootCount: number;
  resetReason: ResetReason;
  batteryVolts: number;
  powerSource: number;
  signalDbm: number;
  journal: JournalStatistics;
  configRevision: number;
  uplinkFailures: number;
  modem: RecoveryCounters | null;
  sourceFailures: number;
  timeCorrections: number;
}

export function statusValues(inputs: StatusInputs): number[] {
  const reason = resetReasons.indexOf(inputs.resetReason);
  const modem = inputs.modem;
  return [
    inputs.uptimeSeconds,
    inputs.bootCount,
    reason < 0 ? 0 : reason,
    inputs.batteryVolts,
    inputs.powerSource,
    inputs.signalDbm,
    inputs.journal.depth,
    inputs.configRevision,
    inputs.uplinkFailures,
    modem ? modem.functionalResets + modem.powerCycles : 0,
    inputs.sourceFailures,
    inputs.journal.droppedRecords,
    inputs.journal.tornRecords,
    inputs.timeCorrections,
  ];
}
