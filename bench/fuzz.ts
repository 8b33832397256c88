/**
 * `npm run fuzz`: every fuzz target (AT engine, Modbus frames, CoAP/OSCORE uplink decoder, downlink decoder) with a
 * fixed seed and a fixed budget: the CI budget of test/fuzz times a scale (default 20). Prints per property the
 * inputs tried, failures and wall time, then a summary; exits 1 on any failure that is not a known bug.
 * Run: npx tsx bench/fuzz.ts [--scale N] [--seed S] [--target name] [--json file]
 */
import { writeFileSync } from 'node:fs';
import { numberOption, textOption } from './arguments';
import { DEFAULT_SEED, PropertyResult, runProperty } from '../test/fuzz/support/runner';
import { downlinkTiming } from '../test/fuzz/targets/downlink';
import { fuzzTargets } from '../test/fuzz/targets/index';
import { protocolTiming } from '../test/fuzz/targets/protocol';

const scale = numberOption('scale', 20);
const seed = numberOption('seed', DEFAULT_SEED);
const only = textOption('target');
const jsonFile = textOption('json');
const targets = fuzzTargets.filter((target) => !only || target.name === only);
if (targets.length === 0) {
  console.error(`no target ${only}; targets: ${fuzzTargets.map((target) => target.name).join(', ')}`);
  process.exit(2);
}

console.log(`fuzz: seed ${seed}, scale ${scale} (x the CI budget of test/fuzz)`);
const results: PropertyResult[] = [];
const started = performance.now();
for (const target of targets) {
  console.log(`\n${target.name}: ${target.description}`);
  for (const entry of target.properties) {
    const result = runProperty(target, entry, scale, seed);
    results.push(result);
    const verdict = result.failed ? (result.knownBug ? 'KNOWN BUG' : 'FAILED') : 'ok';
    console.log(`  ${verdict.padEnd(9)} ${String(result.inputs).padStart(9)} inputs  ${result.failed ? 1 : 0} failures  ${(result.wallMilliseconds / 1000).toFixed(2).padStart(7)} s  ${entry.name}`);
    if (result.failed) {
      console.log(`            counterexample: ${result.counterexample}`);
      console.log(`            ${String(result.error).split('\n')[0]}`);
      console.log(`            replay: seed ${result.seed}, path ${result.path}`);
      if (result.knownBug) console.log(`            known bug: ${result.knownBug}`);
    }
  }
}
const total = (performance.now() - started) / 1000;
const failures = results.filter((result) => result.failed && !result.knownBug);
const known = results.filter((result) => result.failed && result.knownBug);
console.log('\nsummary');
for (const target of targets) {
  const mine = results.filter((result) => result.target === target.name);
  const inputs = mine.reduce((sum, result) => sum + result.inputs, 0);
  const wall = mine.reduce((sum, result) => sum + result.wallMilliseconds, 0) / 1000;
  const failed = mine.filter((result) => result.failed && !result.knownBug).length;
  const knownFailed = mine.filter((result) => result.failed && result.knownBug).length;
  console.log(`  ${target.name.padEnd(14)} inputs ${String(inputs).padStart(9)}  failures ${failed}${knownFailed ? ` (+${knownFailed} known bug)` : ''}  wall ${wall.toFixed(2)} s`);
}
console.log(`  slowest single input: downlink decode ${downlinkTiming.slowestMicroseconds.toFixed(0)} µs (${downlinkTiming.slowestLength} bytes), uplink datagram ${protocolTiming.slowestMicroseconds.toFixed(0)} µs`);
console.log(`  total wall time ${total.toFixed(1)} s; ${failures.length} failures, ${known.length} known bugs`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ seed, scale, results, totalSeconds: total }, null, 2));
if (failures.length > 0) process.exitCode = 1;
