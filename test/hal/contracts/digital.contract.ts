/**
 * Contracts of hal DigitalInput, DigitalOutput and AnalogInput: levels, edge callbacks with the clock time of
 * the edge (from the event loop, never synchronously), debounce, removal, and typed errors.
 */
import assert from 'node:assert/strict';
import type { AnalogInput, Clock, DigitalInput, DigitalOutput } from '../../../hal/interfaces';

export interface DigitalInputFixture {
  /** An input with pull-up, and the debounce asked for. */
  input(debounce: number): DigitalInput;
  /** Drive the pin from outside (null = release). */
  drive(level: boolean | null): void;
  clock: Clock;
  run(milliseconds: number): void;
}

export function digitalInputContract(name: string, create: () => DigitalInputFixture): void {
  describe(`DigitalInput contract: ${name}`, () => {
    it('reads the pulled-up level when undriven and what is driven otherwise', () => {
      const { input, drive } = create();
      const pin = input(0);
      assert.equal(pin.read(), true);
      drive(false);
      assert.equal(pin.read(), false);
      drive(null);
      assert.equal(pin.read(), true);
    });

    it('reports edges with their clock time, filtered by edge kind, from the event loop', () => {
      const { input, drive, clock, run } = create();
      const pin = input(0);
      const falling: number[] = [];
      const both: Array<[boolean, number]> = [];
      pin.watch('falling', (level, time) => {
        assert.equal(level, false);
        falling.push(time);
      });
      pin.watch('both', (level, time) => both.push([level, time]));
      run(10);
      const t0 = clock.now();
      drive(false);
      assert.equal(both.length, 0, 'not called inside the call that changed the pin');
      run(5);
      drive(null);
      run(5);
      assert.equal(falling.length, 1);
      assert.ok(Math.abs(falling[0]! - t0) < 1e-6);
      assert.deepEqual(both.map(([level]) => level), [false, true]);
      assert.ok(Math.abs(both[1]![1] - (t0 + 5)) < 1e-6);
    });

    it('debounces: bounces shorter than the debounce time raise one callback with the time of the last edge', () => {
      const { input, drive, clock, run } = create();
      const pin = input(20);
      const events: Array<[boolean, number]> = [];
      pin.watch('both', (level, time) => events.push([level, time]));
      run(1);
      const t0 = clock.now();
      for (const level of [false, true, false, true]) {
        drive(level);
        run(1);
      }
      drive(false);
      run(100);
      assert.equal(events.length, 1);
      assert.equal(events[0]![0], false);
      assert.ok(Math.abs(events[0]![1] - (t0 + 4)) < 1e-6, 'time of the last edge');
      drive(null);
      run(5);
      assert.equal(events.length, 1, 'a release shorter than the debounce time is not reported yet');
      run(50);
      assert.deepEqual(events.map(([level]) => level), [false, true]);
    });

    it('stops reporting once the returned remover is called (twice is harmless)', () => {
      const { input, drive, run } = create();
      const pin = input(0);
      let count = 0;
      const remove = pin.watch('both', () => count++);
      drive(false);
      run(1);
      remove();
      remove();
      drive(null);
      run(1);
      assert.equal(count, 1);
    });

    it('rejects bad edges and handlers', () => {
      const { input } = create();
      const pin = input(0);
      assert.throws(() => pin.watch('up' as 'rising', () => {}), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => pin.watch('both', null as unknown as () => void), { name: 'HalError', code: 'invalid-argument' });
    });
  });
}

export interface DigitalOutputFixture {
  output(initial: boolean): DigitalOutput;
  /** The physical level the MCU drives on the pin (null if not driving). */
  pinLevel(): boolean | null;
}

export function digitalOutputContract(name: string, create: () => DigitalOutputFixture): void {
  describe(`DigitalOutput contract: ${name}`, () => {
    it('starts at its initial level and drives what is written', () => {
      const { output, pinLevel } = create();
      const pin = output(true);
      assert.equal(pin.read(), true);
      assert.equal(pinLevel(), true);
      pin.write(false);
      assert.equal(pin.read(), false);
      assert.equal(pinLevel(), false);
    });

    it('rejects non-boolean levels', () => {
      const { output } = create();
      assert.throws(() => output(false).write(1 as unknown as boolean), { name: 'HalError', code: 'invalid-argument' });
    });
  });
}

export interface AnalogInputFixture {
  input(): AnalogInput;
  setVolts(volts: number): void;
  referenceVolts: number;
}

export function analogInputContract(name: string, create: () => AnalogInputFixture): void {
  describe(`AnalogInput contract: ${name}`, () => {
    it('reads the pin voltage as a fraction of the reference, clamped to 0..1', () => {
      const { input, setVolts, referenceVolts } = create();
      const pin = input();
      setVolts(referenceVolts / 4);
      assert.ok(Math.abs(pin.read() - 0.25) < 1e-9);
      setVolts(referenceVolts * 2);
      assert.equal(pin.read(), 1);
      setVolts(-1);
      assert.equal(pin.read(), 0);
    });
  });
}
