/**
 * Acceptance: 24 virtual hours of a board waking every 15 minutes run in under 2 s of wall time
 * (the figure is printed; bench/simulator-day.ts is the same run as a script).
 */
import assert from 'node:assert/strict';
import { runDay } from '../../bench/simulator-day';

describe('a virtual day', () => {
  it('24 h of pico-bc66 waking every 15 min (SHT3x + Storage journal, deep sleep) takes under 2 s of wall time', async function () {
    this.timeout(60_000);
    const result = await runDay({ hours: 24, boardId: 'pico-bc66' });
    process.stdout.write(
      `      24 virtual hours: ${result.wallMilliseconds.toFixed(0)} ms wall, ${result.wakes} wakes, ${result.events} events, ` +
        `deep sleep ${(result.deepSleepFraction * 100).toFixed(3)}%\n`,
    );
    assert.ok(result.wallMilliseconds < 2000, `${result.wallMilliseconds} ms`);
    assert.equal(result.wakes, 95, 'a wake every 15 minutes after the boot');
    assert.ok(result.deepSleepFraction > 0.999);
  });
});
