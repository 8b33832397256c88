/** The end-of-run summary of a fleet: delivery accounting and an energy report per terminal. */
import type { Fleet } from './fleet';

export interface TerminalSummary {
  name: string;
  imei: string;
  board: string;
  produced: number;
  delivered: number;
  missing: number;
  waiting: number;
  boots: number;
  milliampHoursPerDay: number;
  modemMilliampHoursPerDay: number;
  mcuMilliampHoursPerDay: number;
  deepSleepPercent: number;
  batteryMilliampHours: number;
  projectedBatteryDays: number;
  faults: string[];
}

export interface FleetSummary {
  scenario: string;
  terminals: number;
  virtualHours: number;
  wallSeconds: number;
  buildSeconds: number;
  produced: number;
  delivered: number;
  missing: number;
  duplicatesDropped: number;
  complete: boolean;
  perTerminal: TerminalSummary[];
}

export async function summarize(fleet: Fleet, wallMs: number): Promise<FleetSummary> {
  const days = fleet.clock.now() / 86_400_000;
  const perTerminal = (await fleet.accounting()).map((account) => {
    const energy = account.energy;
    let modem = 0;
    for (const [consumer, value] of Object.entries(energy.consumers)) if (consumer.startsWith('modem')) modem += value;
    const perDay = days > 0 ? energy.totalMilliampHours / days : 0;
    return {
      name: account.name,
      imei: account.imei,
      board: account.board,
      produced: account.produced ?? 0,
      delivered: account.delivered,
      missing: account.missing.length,
      waiting: account.waiting ?? 0,
      boots: account.boots,
      milliampHoursPerDay: perDay,
      modemMilliampHoursPerDay: days > 0 ? modem / days : 0,
      mcuMilliampHoursPerDay: days > 0 ? (energy.consumers.mcu ?? 0) / days : 0,
      deepSleepPercent: energy.deepSleepFraction * 100,
      batteryMilliampHours: account.batteryMilliampHours,
      projectedBatteryDays: perDay > 0 ? account.batteryMilliampHours / perDay : Infinity,
      faults: account.faults,
    };
  });
  const produced = perTerminal.reduce((sum, terminal) => sum + terminal.produced, 0);
  const missing = perTerminal.reduce((sum, terminal) => sum + terminal.missing, 0);
  return {
    scenario: fleet.scenario.name,
    terminals: perTerminal.length,
    virtualHours: fleet.clock.now() / 3_600_000,
    wallSeconds: wallMs / 1000,
    buildSeconds: fleet.buildMs / 1000,
    produced,
    delivered: fleet.deliveredCount,
    missing,
    duplicatesDropped: fleet.duplicates,
    complete: missing === 0 && produced > 0,
    perTerminal,
  };
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export function formatSummary(summary: FleetSummary, options: { perTerminal?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`fleet "${summary.scenario}": ${summary.terminals} terminals, ${fixed(summary.virtualHours, 1)} virtual hours in ${fixed(summary.wallSeconds, 1)} s wall time (firmware build ${fixed(summary.buildSeconds, 1)} s)`);
  lines.push(`readings: ${summary.produced} produced, ${summary.delivered} delivered on MQTT, ${summary.missing} missing${summary.duplicatesDropped ? `, ${summary.duplicatesDropped} duplicate publications` : ''} -> ${summary.complete ? 'ALL DELIVERED' : 'INCOMPLETE'}`);
  const header = ['terminal', 'board', 'produced', 'delivered', 'missing', 'boots', 'mAh/day', 'modem', 'mcu', 'deep sleep', 'battery days', 'faults'];
  const rows = summary.perTerminal.map((terminal) => [
    terminal.name,
    terminal.board,
    String(terminal.produced),
    String(terminal.delivered),
    String(terminal.missing),
    String(terminal.boots),
    fixed(terminal.milliampHoursPerDay, 2),
    fixed(terminal.modemMilliampHoursPerDay, 2),
    fixed(terminal.mcuMilliampHoursPerDay, 2),
    fixed(terminal.deepSleepPercent, 1) + '%',
    fixed(terminal.projectedBatteryDays, 0),
    terminal.faults.join(' ') || '-',
  ]);
  if (options.perTerminal !== false) {
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]): string => cells.map((cell, column) => (column < 2 || column === cells.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
    lines.push('energy per terminal (mAh/day while running this scenario; battery days = capacity / mAh per day):');
    lines.push(line(header));
    for (const row of rows) lines.push(line(row));
  }
  const perDay = summary.perTerminal.map((terminal) => terminal.milliampHoursPerDay).sort((a, b) => a - b);
  if (perDay.length > 0) {
    const mean = perDay.reduce((sum, value) => sum + value, 0) / perDay.length;
    lines.push(`energy: mean ${fixed(mean, 2)} mAh/day, min ${fixed(perDay[0]!, 2)}, max ${fixed(perDay[perDay.length - 1]!, 2)}`);
  }
  return lines.join('\n');
}
