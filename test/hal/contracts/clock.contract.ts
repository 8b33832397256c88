/**
 * Contract of hal Clock: monotonic ms since boot that setting the wall time does not move, timers that fire
 * at their time and can be cleared (clearing a fired or unknown id is harmless and clears nothing else),
 * intervals that do not drift, and typed errors.
 */
import assert from 'node:assert/strict';
import type { Clock } from '../../../hal/interfaces';

export interface ClockFixture {
  clock: Clock;
  run(milliseconds: number): void;
}

export function clockContract(name: string, create: () => ClockFixture): void {
  describe(`Clock contract: ${name}`, () => {
    it('counts ms since boot and is not moved by setWallTime', () => {
      const { clock, run } = create();
      const start = clock.now();
      assert.ok(start >= 0 && start < 1000);
      run(1500);
      assert.ok(Math.abs(clock.now() - start - 1500) < 1e-6);
      clock.setWallTime(Date.UTC(2026, 5, 1, 12, 0, 0));
      assert.ok(Math.abs(clock.wallTime() - Date.UTC(2026, 5, 1, 12, 0, 0)) < 1);
      assert.ok(Math.abs(clock.now() - start - 1500) < 1e-6, 'now() did not jump');
      clock.setWallTime(Date.UTC(2020, 0, 1));
      run(10);
      assert.ok(Math.abs(clock.now() - start - 1510) < 1e-6, 'setting the time back does not make now() go back');
      assert.ok(Math.abs(clock.wallTime() - Date.UTC(2020, 0, 1) - 10) < 1);
    });

    it('fires timeouts at their time, in order, and clears them', () => {
      const { clock, run } = create();
      const fired: Array<[string, number]> = [];
      const start = clock.now();
      clock.setTimeout(() => fired.push(['b', clock.now() - start]), 200);
      clock.setTimeout(() => fired.push(['a', clock.now() - start]), 100);
      const cancelled = clock.setTimeout(() => fired.push(['never', 0]), 150);
      clock.clearTimeout(cancelled);
      run(300);
      assert.deepEqual(fired.map(([label]) => label), ['a', 'b']);
      assert.ok(Math.abs(fired[0]![1] - 100) < 1e-6 && Math.abs(fired[1]![1] - 200) < 1e-6);
    });

    it('clearing a fired, unknown or non-number id clears nothing else', () => {
      const { clock, run } = create();
      let fired = 0;
      const done = clock.setTimeout(() => {}, 1);
      run(5);
      clock.setTimeout(() => fired++, 10);
      clock.clearTimeout(done);
      clock.clearTimeout(987654);
      clock.clearTimeout(undefined as unknown as number);
      clock.clearInterval(NaN);
      run(20);
      assert.equal(fired, 1);
    });

    it('runs intervals without drift until cleared', () => {
      const { clock, run } = create();
      const times: number[] = [];
      const start = clock.now();
      const id = clock.setInterval(() => times.push(clock.now() - start), 250);
      run(1000);
      clock.clearInterval(id);
      run(1000);
      assert.deepEqual(times.map((time) => Math.round(time)), [250, 500, 750, 1000]);
    });

    it('rejects bad timers and times', () => {
      const { clock } = create();
      assert.throws(() => clock.setTimeout(null as unknown as () => void, 1), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => clock.setTimeout(() => {}, -5), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => clock.setInterval(() => {}, 0), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => clock.setWallTime(NaN), { name: 'HalError', code: 'invalid-argument' });
    });
  });
}
