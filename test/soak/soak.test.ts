/**
 * The zero-loss soak at CI size (`npm run soak -- --quick`, bench/soak/run.ts): 6 terminals (built bundles on
 * drifting virtual boards, BC95-G and BC66 models, 30 % loss each way with jitter) for a virtual day against the
 * gateway as its own process and a real broker in its own process, with 2 aimed gateway SIGKILLs, a broker
 * restart, a modem hang and 3 power cuts in flash writes per terminal, all at once. Every reading id the terminals
 * made must be on MQTT once with the exact values their meter served, and every fault must really have happened.
 */
import { strict as assert } from 'node:assert';
import { quickOptions } from '../../bench/soak/faults';
import { formatReport, verdict, type SoakReport } from '../../bench/soak/report';
import { runSoak } from '../../bench/soak/run';

describe('soak (short): the whole system under every fault at once loses nothing', function () {
  this.timeout(240_000);
  let report: SoakReport;
  const options = quickOptions();

  before(async () => {
    report = await runSoak(options);
    process.stdout.write(formatReport(report).replace(/^/gm, '      ') + '\n');
  });

  it('delivers every reading once with the values the meters served: lost 0, duplicated 0, wrong value 0', () => {
    const judged = verdict(report);
    const oracle = report.oracle;
    assert.equal(judged.lost, 0, oracle.examples.join('\n'));
    assert.equal(judged.duplicated, 0, oracle.examples.join('\n'));
    assert.equal(judged.wrongValue, 0, oracle.examples.join('\n'));
    assert.equal(judged.foreign, 0, oracle.examples.join('\n'));
    assert.ok(report.drained, 'every terminal sent what it had made by the end');
    // 15-minute readings for a day, less what the power cuts tore.
    assert.ok(oracle.produced >= options.terminals * 90, `produced ${oracle.produced}`);
    assert.ok(oracle.meter.delivered >= options.terminals * 85, `meter readings ${oracle.meter.delivered}`);
    assert.ok(oracle.meter.notCommittedPowerCut <= report.injected.powerCuts);
  });

  it('injected every fault it claims', () => {
    const injected = report.injected;
    assert.equal(injected.gatewayKills, options.gatewayKills);
    assert.equal(injected.gatewayRestarts, options.gatewayKills);
    assert.equal(injected.brokerRestarts, options.brokerRestarts);
    assert.equal(injected.hangsInjected, options.terminals * options.hangsPerTerminal);
    assert.equal(injected.hangsRecovered + injected.hangsClearedByPowerCut, injected.hangsInjected, 'every hung modem came back');
    assert.equal(injected.powerCuts, options.terminals * options.powerCutsPerTerminal);
    assert.deepEqual(injected.driftPpm, { minimum: -options.driftPpm, maximum: options.driftPpm });
    // Clocks stay right under loss: a gateway answer that comes after a retransmission (maybe the cached first
    // answer, with its old time) does not set the clock. Before that rule: -20 s at the end, readings 62 s early.
    // What is left is by design: the terminal corrects only beyond its 2 s tolerance, takes the gateway's whole
    // second plus 0.5, cannot see the downlink leg (up to ~1.2 s in coverage class 2), and drifts 0.9 s an hour at
    // 250 ppm until its next first-attempt answer (under 30 % loss each way about half the exchanges): seen -4.8 to
    // +5.4 s. The bound catches the cached-answer error (-20 s), not that.
    assert.ok(injected.clockErrorSeconds.minimum >= -8 && injected.clockErrorSeconds.maximum <= 8, JSON.stringify(injected.clockErrorSeconds));
    const timeError = report.oracle.readingTimeErrorSeconds;
    assert.ok(timeError.minimum >= -15 && timeError.maximum <= 15, JSON.stringify(timeError));
    const uplinkLoss = report.radio.uplinkLost / report.radio.uplinkDatagrams;
    const downlinkLoss = report.radio.downlinkLost / (report.radio.downlinkDatagrams + report.radio.downlinkLost);
    assert.ok(uplinkLoss > 0.2 && uplinkLoss < 0.4 && downlinkLoss > 0.2 && downlinkLoss < 0.4, `loss ${uplinkLoss} / ${downlinkLoss}`);
  });
});
