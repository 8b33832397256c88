/** The attack run's figures as text, and the verdicts the issue asks for. */
import type { AttackReport } from './attack-run';

const megabytes = (bytes: number): string => (bytes / 1048576).toFixed(1) + ' MB';

export interface Verdicts {
  genuineLost: number;
  wrongValue: number;
  storedTwice: number;
  foreign: number;
  attackAccepted: number;
  /** Largest response / request ratio over unauthenticated traffic (forged, replayed, junk). */
  largestAttackRatio: number;
  amplifiedResponses: number;
  rssGrowthMegabytes: number;
}

export function verdicts(report: AttackReport): Verdicts {
  const categories = Object.values(report.attack.categories);
  return {
    genuineLost: report.oracle.lost,
    wrongValue: report.oracle.wrongValue,
    storedTwice: report.oracle.storedTwice,
    foreign: report.oracle.foreign,
    attackAccepted: report.attack.accepted,
    largestAttackRatio: Math.max(0, ...categories.map((counts) => counts.largestRatio)),
    amplifiedResponses: categories.reduce((sum, counts) => sum + counts.amplified, 0),
    rssGrowthMegabytes: (report.rss.duringMax - report.rss.before) / 1048576,
  };
}

export function formatReport(report: AttackReport): string {
  const lines: string[] = [];
  const oracle = report.oracle;
  lines.push(`genuine readings: produced ${oracle.produced}, delivered ${oracle.delivered}, lost ${oracle.lost}, duplicated ${oracle.duplicated} ` +
    `(republished after SIGKILL ${oracle.republished}, stored twice ${oracle.storedTwice}), wrong value ${oracle.wrongValue}; foreign readings published ${oracle.foreign}`);
  const genuine = report.genuine;
  lines.push(`genuine exchanges: ${genuine.requests} requests, ${genuine.transmissions} transmissions (${genuine.retransmissions} retransmissions), ${genuine.acknowledged} acknowledged, refusals ${JSON.stringify(genuine.refusals)}`);
  lines.push(`attack datagrams: ${report.attack.sent} sent, ${report.attack.accepted} accepted by the gateway (${((1 - report.attack.accepted / Math.max(1, report.attack.sent)) * 100).toFixed(2)}% rejected)`);
  lines.push('');
  lines.push('per category                                  sent  responses  largest resp.  largest resp/req  responses > request');
  for (const [name, counts] of Object.entries(report.attack.categories)) {
    lines.push(`  ${name.padEnd(42)} ${String(counts.sent).padStart(7)} ${String(counts.responses).padStart(10)} ${String(counts.largestResponse).padStart(10)} B ${counts.largestRatio.toFixed(2).padStart(17)} ${String(counts.amplified).padStart(20)}`);
  }
  lines.push(`  genuine exchanges (authenticated)          ${''.padStart(18)} ${String(genuine.largestResponse).padStart(10)} B ${genuine.largestResponseRatio.toFixed(2).padStart(17)}`);
  const worst = Object.entries(report.attack.categories).sort((left, right) => right[1].largestRatio - left[1].largestRatio)[0];
  if (worst && worst[1].worst && worst[1].largestRatio > 1) lines.push(`  worst amplification (${worst[0]}): request ${worst[1].worst.request} -> response ${worst[1].worst.response}`);
  lines.push('');
  lines.push('per phase: gateway view (accepted / genuine acknowledged / attack accepted; rejected by reason; answered from the retransmission cache)');
  for (const phase of report.phases) {
    const rejected = Object.entries(phase.gateway.rejected).filter(([, count]) => count > 0).map(([reason, count]) => `${reason} ${count}`).join(', ');
    lines.push(`  ${phase.name.padEnd(30)} ${phase.seconds.toFixed(1).padStart(5)} s  sent ${JSON.stringify(phase.sent)}`);
    lines.push(`  ${''.padEnd(30)}          accepted ${phase.gateway.accepted} / ${phase.genuineAcknowledged} / ${phase.attackAccepted}; rejected: ${rejected || 'none'}; cache answers ${phase.gateway.retransmissions}`);
  }
  lines.push('');
  lines.push(`gateway totals: accepted ${report.gatewayTotals.accepted}, readings stored ${report.gatewayTotals.readingsStored}, duplicate readings dropped ${report.gatewayTotals.readingsDuplicate}, rejected ${JSON.stringify(report.gatewayTotals.rejected)}`);
  lines.push(`gateway RSS: before ${megabytes(report.rss.before)}, during (max) ${megabytes(report.rss.duringMax)}, after ${megabytes(report.rss.after)}; ${report.restarts} SIGKILL restart(s); graceful exit code ${report.gracefulExit}`);
  lines.push(`responses matching no request: ${report.attack.unmatchedResponses}; drained: ${report.drained}; wall time ${report.wallSeconds.toFixed(1)} s`);
  if (oracle.examples.length > 0) lines.push('examples: ' + oracle.examples.join('; '));
  return lines.join('\n');
}
