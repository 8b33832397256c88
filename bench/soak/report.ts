/** The soak's report: what it holds, how it is printed, and its verdict. */
import type { GatewayCounters } from '../../test/attack/support/gateway-control';
import type { SoakOptions } from './faults';
import type { OracleReport } from './oracle';

export interface SoakReport {
  options: Omit<SoakOptions, 'log'>;
  broker: string;
  /** Mosquitto with persistence: exactly once holds through its restarts. Aedes in memory forgets sessions. */
  brokerKeepsSessions: boolean;
  boards: Record<string, { count: number; modem: string; bundleBytes: number }>;
  oracle: OracleReport;
  injected: {
    gatewayKills: number;
    gatewayRestarts: number;
    brokerRestarts: number;
    brokerDownVirtualMinutes: number[];
    hangsInjected: number;
    hangsRecovered: number;
    hangsClearedByPowerCut: number;
    hangRecoverySeconds: { median: number; max: number };
    powerCutsArmed: number;
    powerCuts: number;
    powerCutsPerTerminal: { minimum: number; maximum: number };
    driftPpm: { minimum: number; maximum: number };
    clockErrorSeconds: { minimum: number; maximum: number };
  };
  radio: { uplinkDatagrams: number; uplinkLost: number; downlinkDatagrams: number; downlinkLost: number };
  gateway: GatewayCounters & { maximumRssMegabytes: number };
  drained: boolean;
  drainVirtualHours: number;
  /** Per terminal, for the JSON report. */
  terminals: Array<{ name: string; imei: string; driftPpm: number; clockErrorSeconds: number; powerCuts: number; hangs: number; polls: number }>;
  /** Promise jobs of dead boards stopped at their first API call (see watchHaltedPromiseJobs). */
  simulator: { haltedPromiseJobs: number };
  virtualDays: number;
  wallSeconds: number;
}


const number = (value: number): string => value.toLocaleString('en-US');

export interface SoakVerdict {
  lost: number;
  duplicated: number;
  wrongValue: number;
  foreign: number;
  passed: boolean;
  problems: string[];
}

/**
 * Lost counts every reading id missing on MQTT, every meter poll never delivered and every reading a terminal
 * dropped. Duplicated counts every copy after the first, identical or not: with Mosquitto the gateway publishes at
 * QoS 2 and the oracle subscribes at QoS 2, so each reading must arrive exactly once, through every kill and
 * restart. With Aedes (the fallback without Mosquitto: sessions in memory, and it loses QoS 2 messages) both run at
 * QoS 1, at least once, and an identical copy right after a gateway kill or broker restart is excused.
 */
export function verdict(report: SoakReport): SoakVerdict {
  const oracle = report.oracle;
  const lost = oracle.lost + oracle.meter.lost + oracle.droppedByTerminals;
  const excused = report.brokerKeepsSessions ? 0 : oracle.redelivered.total - oracle.redelivered.other;
  const duplicated = oracle.duplicated + oracle.redelivered.total - excused;
  const problems: string[] = [];
  if (lost > 0) problems.push(`lost ${lost}`);
  if (duplicated > 0) problems.push(`duplicated ${duplicated}`);
  if (oracle.wrongValue > 0) problems.push(`wrong value ${oracle.wrongValue}`);
  if (oracle.foreign > 0) problems.push(`foreign ${oracle.foreign}`);
  if (!report.drained) problems.push('the terminals did not drain');
  return { lost, duplicated, wrongValue: oracle.wrongValue, foreign: oracle.foreign, passed: problems.length === 0, problems };
}

export function formatReport(report: SoakReport): string {
  const oracle = report.oracle;
  const injected = report.injected;
  const judged = verdict(report);
  const boards = Object.entries(report.boards).map(([id, board]) => `${board.count} x ${id} (${board.modem}, bundle ${number(board.bundleBytes)} bytes)`).join(', ');
  const redelivered = oracle.redelivered;
  const lines = [
    `soak: ${report.options.terminals} terminals x ${report.options.days} virtual days, seed ${report.options.seed}: ${boards}`,
    `broker: ${report.broker}`,
    '',
    `produced ${number(oracle.produced)}, delivered ${number(oracle.delivered)}, lost ${judged.lost}, duplicated ${judged.duplicated}, wrong value ${oracle.wrongValue}`,
    `  readings ${number(oracle.readings)} + events ${number(oracle.events)}; still in terminal journals at the end (made during the drain, not yet sent) ${oracle.stillInTerminals}; ` +
      `foreign ${oracle.foreign}; dropped by full terminal journals ${oracle.droppedByTerminals}`,
    `  meter polls ${number(oracle.meter.polls)}: delivered with their exact values ${number(oracle.meter.delivered)}, never committed (the power cut tore the reading's journal write, at most ${(oracle.meter.longestPollToCutMs / 1000).toFixed(2)} s after the poll) ${oracle.meter.notCommittedPowerCut}, ` +
      `after the end ${oracle.meter.afterHorizon}, lost ${oracle.meter.lost}`,
    `  duplicated: stored twice (copies that differ) ${oracle.duplicated}; the same journal row again (identical copies) ${redelivered.total} ` +
      `(after a gateway SIGKILL ${redelivered.afterGatewayKill}, after a broker restart ${redelivered.afterBrokerRestart}, resent by the broker ${redelivered.brokerResend}, other ${redelivered.other})` +
      (report.brokerKeepsSessions ? '' : '; Aedes: QoS 1, at least once, so copies right after a kill or restart are not counted'),
    '',
    'faults injected:',
    `  gateway SIGKILLs ${injected.gatewayKills} (restarts ${injected.gatewayRestarts}); broker restarts ${injected.brokerRestarts} (down ${injected.brokerDownVirtualMinutes.join(', ')} virtual minutes)`,
    `  modem hangs ${injected.hangsInjected}: recovered by the firmware ${injected.hangsRecovered} (median ${injected.hangRecoverySeconds.median.toFixed(0)} s, max ${injected.hangRecoverySeconds.max.toFixed(0)} s), cleared by a power cut ${injected.hangsClearedByPowerCut}`,
    `  power cuts in flash writes ${injected.powerCuts} of ${injected.powerCutsArmed} armed (${injected.powerCutsPerTerminal.minimum}-${injected.powerCutsPerTerminal.maximum} per terminal)`,
    `  clock drift ${injected.driftPpm.minimum} to +${injected.driftPpm.maximum} ppm; terminal clock error at the end ${injected.clockErrorSeconds.minimum} to ${injected.clockErrorSeconds.maximum} s; ` +
      `meter readings' time minus their poll's moment ${oracle.readingTimeErrorSeconds.minimum.toFixed(1)} to ${oracle.readingTimeErrorSeconds.maximum.toFixed(1)} s`,
    `  radio: ${number(report.radio.uplinkDatagrams)} uplink datagrams (${number(report.radio.uplinkLost)} lost, ${((100 * report.radio.uplinkLost) / Math.max(1, report.radio.uplinkDatagrams)).toFixed(1)} %), ` +
      `${number(report.radio.downlinkDatagrams + report.radio.downlinkLost)} downlink (${number(report.radio.downlinkLost)} lost, ${((100 * report.radio.downlinkLost) / Math.max(1, report.radio.downlinkDatagrams + report.radio.downlinkLost)).toFixed(1)} %)`,
    `  firmware's own counts (each terminal's newest status report, since its last boot): modem recoveries ${oracle.firmware.modemRecoveries}, torn journal records ${oracle.firmware.tornRecords}, time corrections ${oracle.firmware.timeCorrections}`,
    `gateway: ${number(report.gateway.accepted)} uplinks accepted, ${number(report.gateway.retransmissions)} retransmissions answered from cache, ${number(report.gateway.readingsStored)} readings stored, ` +
      `${number(report.gateway.readingsDuplicate)} duplicate readings dropped (counted up to the last scrape before each kill); max RSS ${report.gateway.maximumRssMegabytes.toFixed(0)} MB`,
    `simulator: ${report.simulator.haltedPromiseJobs} promise jobs of boards whose power had gone were stopped at their first API call`,
    `drain ${report.drained ? 'complete' : 'INCOMPLETE'} in ${report.drainVirtualHours.toFixed(2)} virtual hours; wall time ${report.wallSeconds.toFixed(0)} s for ${report.virtualDays.toFixed(2)} virtual days`,
  ];
  if (oracle.examples.length > 0) lines.push('examples:', ...oracle.examples.map((text) => '  ' + text.slice(0, 400)));
  lines.push('', judged.passed ? 'PASSED: lost = 0, duplicated = 0, wrong value = 0' : `FAILED: ${judged.problems.join(', ')}`);
  return lines.join('\n');
}
