/**
 * `npm run bench:gateway` as a user runs it (a child process), at a size that fits CI: its option checks, and the
 * Mosquitto mode end to end when a `mosquitto` binary is installed (CI: .ci/run installs it from Debian). Only what
 * the run reports is checked (every reading delivered, the mode it ran in), never a rate: rates are for the
 * benchmark's own printout.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findExecutable } from './support/mosquitto';

const root = path.resolve(__dirname, '..', '..');

function runBench(argumentsList: string[], timeoutMilliseconds: number): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'bench/gateway.ts', ...argumentsList], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMilliseconds,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bench:gateway', function () {
  this.timeout(20000);

  it('refuses an unknown broker, a QoS other than 1 or 2, and --mqtt-qos or --broker-inflight without Mosquitto, with exit code 2', () => {
    const unknownBroker = runBench(['--broker', 'hivemq'], 15000);
    assert.equal(unknownBroker.status, 2, unknownBroker.stderr);
    assert.match(unknownBroker.stderr, /--broker takes "mosquitto" or "embedded", not "hivemq"/);
    const badQos = runBench(['--broker', 'embedded', '--mqtt-qos', '3'], 15000);
    assert.equal(badQos.status, 2, badQos.stderr);
    assert.match(badQos.stderr, /--mqtt-qos takes 1 or 2/);
    const qosWithoutMosquitto = runBench(['--mqtt-qos', '1'], 15000);
    assert.equal(qosWithoutMosquitto.status, 2, qosWithoutMosquitto.stderr);
    assert.match(qosWithoutMosquitto.stderr, /--mqtt-qos needs --broker mosquitto/);
    for (const inflight of [['--broker-inflight', '200'], ['--broker', 'mosquitto', '--broker-inflight', '0'], ['--broker', 'mosquitto', '--broker-inflight', 'many']]) {
      const refused = runBench(inflight, 15000);
      // Without a mosquitto binary the broker check answers first: still exit code 2.
      assert.equal(refused.status, 2, `${inflight.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, /--broker-inflight takes a whole number from 1 to 65535, with --broker mosquitto|needs the mosquitto broker/);
    }
  });

  it('--broker mosquitto: both targets publish to a Mosquitto of their own, the gateway at QoS 2, and every reading arrives', function () {
    if (!findExecutable('mosquitto')) {
      process.stdout.write('      skipped: no mosquitto binary on PATH or in /usr/sbin (apt-get install mosquitto)\n');
      this.skip();
    }
    this.timeout(180000);
    const run = runBench(['--broker', 'mosquitto', '--quick', '--max-rate', '500', '--seconds', '1', '--devices', '20'], 170000);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /brokers: Mosquitto \(.*\) on mqtt:\/\/127\.0\.0\.1:\d+; Mosquitto \(.*\) on mqtt:\/\/127\.0\.0\.1:\d+; gateway at QoS 2 \(exactly once\), baseline at QoS 1/);
    const steps = run.stdout.split('\n').filter((line) => /^\s+(gateway|baseline)\s+500\s/.test(line));
    assert.equal(steps.length, 2, run.stdout);
    for (const step of steps) {
      const columns = step.trim().split(/\s+/);
      // target, offered, delivered, p50, p99, max, lost, dup
      assert.equal(columns[6], '0', `readings lost: ${step}`);
      assert.equal(columns[7], '0', `readings delivered twice: ${step}`);
    }
    assert.match(run.stdout, /gateway \(OSCORE \+ fsynced journal, QoS 2 to Mosquitto\):\s+sustained \d+ uplinks\/s/);
    assert.match(run.stdout, /baseline \(plain, no durability, QoS 1 to Mosquitto\):\s+sustained \d+ uplinks\/s/);
  });
});
