/**
 * Feeds 1,000,000 random and mutated datagrams (or the count given as the first argument) to the gateway-side
 * decoder and prints how many were processed, accepted and rejected by reason, and the wall time.
 * Run: npx tsx bench/fuzz-protocol.ts [count] [seed] [--pure-ts]
 */
import nodeCrypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createNodeCcmAead } from '../firmware/protocol/crypto-backends';
import { runDatagramFuzz, timeDatagram } from '../test/protocol/fixtures/fuzz';

const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const count = Number(args[0] ?? 1_000_000);
const seed = Number(args[1] ?? 0xdecaf);
const pure = process.argv.includes('--pure-ts');
const report = runDatagramFuzz(count, seed, pure ? null : createNodeCcmAead(nodeCrypto), () => performance.now());

console.log(`gateway AEAD: ${pure ? 'pure TypeScript AES-CCM' : 'node:crypto aes-128-ccm'}; seed ${seed}`);
console.log(`datagrams processed: ${report.datagrams} (asked for ${count})`);
console.log(`exceptions escaping receiveUplink: ${report.escapedExceptions}`);
console.log(`accepted: ${report.accepted} (genuine content: ${report.acceptedGenuine}, forged content: ${report.forgeries})`);
console.log('rejected by reason:');
for (const [reason, number] of Object.entries(report.rejectedByReason).sort((left, right) => right[1] - left[1])) {
  console.log(`  ${reason.padEnd(24)} ${number}`);
}
console.log('inputs by kind:');
for (const [kind, number] of Object.entries(report.mutationKinds).sort((left, right) => right[1] - left[1])) console.log(`  ${kind.padEnd(34)} ${number}`);
console.log(`wall time: ${(report.wallMilliseconds / 1000).toFixed(2)} s (${((report.wallMilliseconds * 1000) / Math.max(1, report.datagrams)).toFixed(1)} µs per datagram, slowest ${report.maxMicrosecondsPerDatagram.toFixed(0)} µs)`);
if (report.slowestDatagram) {
  const alone = timeDatagram(report.slowestDatagram, 101, pure ? null : createNodeCcmAead(nodeCrypto), () => performance.now());
  console.log(`slowest datagram (${report.slowestDatagram.length} bytes) timed again alone: median ${alone.toFixed(1)} µs over 101 runs`);
}
const cpu = process.cpuUsage();
console.log(`process CPU time: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
const failed = report.escapedExceptions > 0 || (report.rejectedByReason['internal-error'] ?? 0) > 0 || report.forgeries > 0 || report.datagrams !== count;
if (failed) {
  console.log('FAILED');
  process.exitCode = 1;
}
