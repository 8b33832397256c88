/** Declares one mocha test per property of a target, at the CI budget (scale 1, the fixed seed). */
import { strict as assert } from 'node:assert';
import { failureReport, FuzzTarget, runProperty } from './runner';

const knownBugsOn = process.env.UDT_KNOWN_BUGS === '1';

export function describeTarget(target: FuzzTarget, timeoutMilliseconds = 30000): void {
  describe(`fuzz: ${target.description}`, function () {
    this.timeout(timeoutMilliseconds);
    for (const entry of target.properties) {
      if (entry.knownBug) {
        // A property documenting a bug not fixed yet fails by design: run it with UDT_KNOWN_BUGS=1.
        (knownBugsOn ? it : it.skip)(`KNOWN BUG (runs with UDT_KNOWN_BUGS=1): ${entry.name}`, () => {
          const result = runProperty(target, entry, 1);
          assert.ok(!result.failed, failureReport(result) + '\nknown bug: ' + entry.knownBug);
        });
        continue;
      }
      it(`${entry.name} (${entry.runs} runs)`, () => {
        const result = runProperty(target, entry, 1);
        assert.ok(!result.failed, failureReport(result));
      });
    }
  });
}
