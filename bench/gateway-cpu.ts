/**
 * `npm run bench:gateway-cpu`: CPU per uplink of the gateway alone at one fixed rate, per thread, repeated. On a
 * shared machine the sustained rates bench:gateway finds move with other processes' load; CPU time per uplink
 * moves much less, so this is the figure to compare one version of the gateway with another. The main thread
 * (UDP, OSCORE, journal, responses) has to keep up on one core; on a small machine the rate is bounded by all
 * threads together, so the MQTT worker thread and V8's and libuv's helper threads are shown beside it.
 *
 * Options: --rate R uplinks/s (4000), --seconds S per repeat (6), --repeat N (5), --devices N (200), --one-thread
 * (MQTT in the main thread too), --profile (a CPU profile of each thread, summarised; written to --profile-dir,
 * by default a new directory under the system's temporary directory).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flag, numberOption, textOption } from './arguments';
import { closeTarget, cpuSecondsOf, startGateway, summariseProfile, threadCpuSeconds } from './gateway-targets';

const rate = numberOption('rate', 4000);
const seconds = numberOption('seconds', 6);
const repeat = numberOption('repeat', 5);
const deviceCount = numberOption('devices', 200);
const oneThread = flag('one-thread');
const profileDirectory = flag('profile') ? path.resolve(textOption('profile-dir') ?? path.join(os.tmpdir(), `udt-gateway-profile-${process.pid}`)) : null;

/**
 * Per uplink: the main thread, the busiest other thread (the MQTT worker; Node names every thread "node", so it is
 * told apart by its CPU), and all other threads together (V8's garbage collection and compiler helpers, libuv's
 * pool that runs the fdatasync).
 */
function perUplink(pid: number, before: Map<number, number>, after: Map<number, number>, uplinks: number): Map<string, number> {
  let main = 0;
  let busiest = 0;
  let others = 0;
  for (const [thread, value] of after) {
    const used = value - (before.get(thread) ?? 0);
    if (thread === pid) main = used;
    else {
      others += used;
      if (used > busiest) busiest = used;
    }
  }
  const scale = 1e6 / uplinks;
  return new Map([
    ['main', main * scale],
    [oneThread ? 'busiest other thread' : 'MQTT worker', busiest * scale],
    ['other threads', (others - busiest) * scale],
  ]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'udt-bench-gateway-cpu-'));
  const load = os.loadavg().map((value) => value.toFixed(2)).join(' ');
  process.stdout.write(
    `bench:gateway-cpu: ${deviceCount} terminals, ${rate} uplinks/s, ${seconds} s x ${repeat}${oneThread ? ', one thread' : ''}; ` +
      `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average ${load}\n`,
  );
  const target = await startGateway(directory, { deviceCount, profileDirectory, oneThread });
  const pid = target.child.process.pid!;
  const perGroup = new Map<string, number[]>();
  const totals: number[] = [];
  try {
    // Warm-up: JIT, caches, the first WAL growth.
    await target.generator.runStep(rate, 3);
    for (let run = 0; run < repeat; run++) {
      const before = threadCpuSeconds(pid);
      const totalBefore = cpuSecondsOf(pid);
      const step = await target.generator.runStep(rate, seconds);
      const after = threadCpuSeconds(pid);
      const total = ((cpuSecondsOf(pid) - totalBefore) / step.delivered) * 1e6;
      totals.push(total);
      const parts: string[] = [];
      for (const [group, microseconds] of perUplink(pid, before, after, step.delivered)) {
        if (!perGroup.has(group)) perGroup.set(group, []);
        perGroup.get(group)!.push(microseconds);
        parts.push(`${group} ${microseconds.toFixed(1)}`);
      }
      process.stdout.write(
        `  run ${run + 1}: ${step.achievedRate.toFixed(0)}/s delivered${step.sustained ? '' : ' (NOT sustained)'}, p50 ${step.p50Milliseconds.toFixed(1)} ms, ` +
          `p99 ${step.p99Milliseconds.toFixed(1)} ms; CPU us per uplink: ${parts.join(', ')}; process ${total.toFixed(1)}\n`,
      );
    }
  } finally {
    await closeTarget(target);
    rmSync(directory, { recursive: true, force: true });
  }
  const summary = [...perGroup.entries()].map(([group, values]) => `${group} ${Math.min(...values).toFixed(1)} / ${median(values).toFixed(1)}`);
  process.stdout.write(`CPU us per uplink, min / median: ${summary.join(', ')}; process ${Math.min(...totals).toFixed(1)} / ${median(totals).toFixed(1)}\n`);
  if (profileDirectory) {
    // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile (thread 0 is the main one).
    for (const file of readdirSync(profileDirectory).filter((name) => name.includes(`.${pid}.`)).sort()) {
      process.stdout.write(`profile ${path.join(profileDirectory, file)} (wall-clock samples, start-up included):\n${summariseProfile(path.join(profileDirectory, file))}\n`);
    }
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench:gateway-cpu failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
