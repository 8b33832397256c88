/**
 * Fleet mode: scenario validation with precise errors, and small fleets (two boards and a fault in this thread; four
 * terminals in two worker threads) run against the real gateway with every reading accounted for and an energy
 * report per terminal.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runFleetScenario, scaleScenario } from '../../simulator/fleet/command';
import { formatSummary } from '../../simulator/fleet/report';
import { builtInScenarioFile, loadScenario, ScenarioError, terminalCount, validateScenario, type Scenario } from '../../simulator/fleet/scenario';

const small = (): Scenario => JSON.parse(readFileSync(builtInScenarioFile('small'), 'utf8')) as Scenario;

function problemsOf(value: unknown): string[] {
  try {
    validateScenario(value, 'test');
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.problems;
  }
  assert.fail('the scenario was accepted');
}

describe('fleet scenarios', function () {
  this.timeout(180000);

  it('the shipped scenarios are valid', () => {
    for (const name of ['small', 'demo', 'utility-100']) assert.ok(loadScenario(builtInScenarioFile(name)).groups.length > 0, name);
    assert.equal(terminalCount(loadScenario(builtInScenarioFile('utility-100'))), 100);
  });

  it('reports every problem with its JSON pointer', () => {
    assert.deepEqual(problemsOf({ groups: [] }), ['/: "name" is required', '/groups: must NOT have fewer than 1 items']);
    const scenario = small();
    scenario.groups[0]!.board = 'abacus';
    scenario.groups[1]!.pulses = [{ input: 'pulse7', perHour: 10 }];
    scenario.groups[1]!.faults = [{ kind: 'modem-hang', atHours: 30 }];
    (scenario.groups[1] as unknown as Record<string, unknown>).colour = 'blue';
    assert.deepEqual(problemsOf(scenario), ['/groups/1: unknown property "colour"']);
    delete (scenario.groups[1] as unknown as Record<string, unknown>).colour;
    const problems = problemsOf(scenario);
    assert.ok(problems.some((problem) => /^\/groups\/0\/board: no board "abacus" \(known: /.test(problem)), problems.join('\n'));
    assert.ok(problems.includes('/groups/1/pulses/0/input: board linux has no input "pulse7" (it has pulse1, tamper)'), problems.join('\n'));
    assert.ok(problems.includes("/groups/1/faults/0/atHours: 30 h is not within the scenario's 24 h"), problems.join('\n'));
    const badConfig = small();
    (badConfig.groups[0]!.config.terminal as Record<string, unknown>).sendInterval = 3;
    assert.deepEqual(problemsOf(badConfig), ['/groups/0/config: device configuration: /terminal/sendInterval: must be 10000..604800000 ms']);
    assert.throws(() => loadScenario(path.join(__dirname, 'no-such-scenario.json')), /cannot read it: ENOENT/);
  });

  it('scales a scenario keeping its groups', () => {
    const scaled = scaleScenario(loadScenario(builtInScenarioFile('utility-100')), 10);
    assert.deepEqual(scaled.groups.map((group) => group.count), [7, 3]);
  });

  it('runs a small fleet in this thread against the real gateway: every reading produced arrives, energy per terminal', async () => {
    const scenario = scaleScenario({ ...small(), name: 'test-fleet', durationHours: 3, groups: small().groups.map((group) => ({ ...group, faults: [{ kind: 'modem-hang' as const, atHours: 1, share: 0.5 }] })) }, 2);
    const summary = await runFleetScenario(scenario, { quiet: true, log: () => {} });
    const text = formatSummary(summary);
    assert.equal(summary.terminals, 2);
    assert.ok(summary.produced >= 2 * 10, text);
    assert.equal(summary.missing, 0, text);
    assert.equal(summary.delivered, summary.produced, text);
    assert.ok(summary.complete);
    for (const terminal of summary.perTerminal) {
      assert.ok(terminal.milliampHoursPerDay > 0 && Number.isFinite(terminal.projectedBatteryDays), text);
      assert.deepEqual(terminal.faults, ['modem-hang@1h']);
    }
    assert.match(text, /readings: \d+ produced, \d+ delivered on MQTT, 0 missing -> ALL DELIVERED/);
    assert.match(text, /^terminal +board +produced +delivered +missing +boots +mAh\/day/m);
  });

  it('runs a fleet split over two worker threads, each terminal on its own clock: every reading produced arrives', async () => {
    const base = loadScenario(builtInScenarioFile('utility-100'));
    const scenario = scaleScenario({ ...base, name: 'test-fleet-threads', durationHours: 3, groups: base.groups.map((group) => ({ ...group, faults: [] })) }, 4);
    const lines: string[] = [];
    const summary = await runFleetScenario(scenario, { quiet: true, log: (line) => lines.push(line), threads: 2 });
    const text = formatSummary(summary);
    assert.ok(lines.some((line) => /4 terminals provisioned and flashed in 2 threads/.test(line)), lines.join('\n'));
    assert.equal(summary.terminals, 4);
    // Shards take every other terminal; the report keeps the scenario's order.
    assert.deepEqual(summary.perTerminal.map((terminal) => terminal.name), ['nucleo-energy-1', 'nucleo-energy-2', 'nucleo-energy-3', 'linux-water-1']);
    assert.ok(summary.produced >= 4 * 10, text);
    assert.equal(summary.missing, 0, text);
    assert.equal(summary.delivered, summary.produced, text);
    assert.ok(summary.complete, text);
    assert.ok(Math.abs(summary.virtualHours - 3) < 0.5, text);
    for (const terminal of summary.perTerminal) assert.ok(terminal.milliampHoursPerDay > 0 && terminal.boots === 1, text);
  });
});
