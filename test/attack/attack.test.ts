/**
 * The attack run, CI-sized (about 20 s): genuine terminals report over real UDP to the gateway as its own process
 * while replays, bit flips, truncations, wrong keys, unknown kids and a 10,000 datagram/s junk flood come in, with
 * a SIGKILL restart and device reboots. `npm run attack` is the full-size run (test/attack/support/attack-run.ts).
 */
import { strict as assert } from 'node:assert';
import { AttackReport, runAttack } from './support/attack-run';
import { formatReport, verdicts } from './support/report';


describe('attack run (short): genuine readings survive, forged and replayed datagrams are all rejected', function () {
  this.timeout(180000);
  let report: AttackReport;

  before(async () => {
    report = await runAttack({
      terminals: 4,
      readingIntervalMilliseconds: 200,
      warmupSeconds: 2,
      flipSources: 2,
      forgeryPerSecond: 2000,
      forgeSourcePorts: 256,
      wrongKeyVictims: 2,
      wrongKeyPerVictim: 50,
      unknownKids: 200,
      floodPerSecond: 10000,
      floodSeconds: 3,
      floodSourcePorts: 100,
      reboots: 2,
      drainSeconds: 60,
      log: () => undefined,
    });
    process.stdout.write(formatReport(report).replace(/^/gm, '      ') + '\n');
  });

  it('loses no genuine reading, delivers each once with its value, publishes nothing forged', () => {
    const oracle = report.oracle;
    assert.ok(oracle.produced > 100, `the terminals produced ${oracle.produced} readings`);
    assert.equal(oracle.lost, 0, oracle.examples.join('; '));
    assert.equal(oracle.wrongValue, 0, oracle.examples.join('; '));
    assert.equal(oracle.storedTwice, 0, 'a reading was stored twice');
    assert.equal(oracle.foreign, 0, oracle.examples.join('; '));
    assert.ok(report.drained, 'every terminal emptied its journal');
  });

  it('accepts no forged or replayed datagram in any phase, and every phase had genuine traffic', () => {
    for (const phase of report.phases) {
      assert.equal(phase.attackAccepted, 0, `${phase.name}: the gateway accepted ${phase.gateway.accepted} uplinks, genuine terminals got ${phase.genuineAcknowledged} acknowledgements`);
    }
    const byName = new Map(report.phases.map((phase) => [phase.name, phase]));
    assert.ok((byName.get('junk flood')?.genuineAcknowledged ?? 0) > 0, 'genuine terminals were served during the flood');
    assert.ok((byName.get('replay after gateway restart')?.gateway.rejected.replay ?? 0) >= report.attack.categories['replay after gateway restart']!.sent, 'replays after the restart met the persisted replay window');
    assert.equal(report.restarts, 1);
    assert.equal(report.gracefulExit, 0);
  });

  it('keeps the gateway memory bounded under the flood', () => {
    const growth = verdicts(report).rssGrowthMegabytes;
    assert.ok(growth < 150, `RSS grew by ${growth.toFixed(1)} MB`);
  });

  it('no response to unauthenticated traffic is larger than its request', () => {
    const verdict = verdicts(report);
    assert.ok(verdict.largestAttackRatio <= 1, `responses up to ${verdict.largestAttackRatio.toFixed(2)}x their request (${verdict.amplifiedResponses} of them)`);
  });
});
