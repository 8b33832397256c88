/**
 * Contracts of hal Watchdog and Power: a watchdog that is not kicked resets the board within its timeout and
 * the next boot says so; kicking keeps it alive; it cannot be restarted; reboot() is a software reset;
 * the first boot is a power-on; deep sleep when allowed.
 */
import assert from 'node:assert/strict';
import type { BoardIo } from '../../../hal/interfaces';

export interface SystemFixture {
  io: BoardIo;
  run(milliseconds: number): void;
  /** The BoardIo of the boot running now (after a reset the hal is created again, as firmware would). */
  current(): BoardIo;
  resets(): number;
  /** Fractions of time spent asleep (any sleep mode) and in deep sleep, or null when the board does not report them. */
  sleepFractions(): { asleep: number; deep: number } | null;
  /**
   * Whether deep sleep is reachable with the hal's UARTs set up: not on nRF52, where an enabled UART keeps the
   * high-speed clock running (espruino.com/Power+Consumption: "Sleep with HSE on ~1mA").
   */
  deepSleepWithUart: boolean;
}

export function systemContract(name: string, create: () => SystemFixture): void {
  describe(`Watchdog and Power contract: ${name}`, () => {
    it('reports power-on at the first boot', () => {
      const { io } = create();
      assert.equal(io.power.resetReason(), 'power-on');
    });

    it('resets the board when the watchdog is not kicked, within its timeout, and reports it', () => {
      const { io, run, current, resets } = create();
      io.watchdog.start(2000);
      run(1999);
      assert.equal(resets(), 0);
      run(2);
      assert.equal(resets(), 1);
      run(200);
      assert.equal(current().power.resetReason(), 'watchdog');
    });

    it('does not reset while it is kicked', () => {
      const { io, run, resets } = create();
      io.watchdog.start(1000);
      const timer = io.clock.setInterval(() => io.watchdog.kick(), 400);
      run(10_000);
      assert.equal(resets(), 0);
      io.clock.clearInterval(timer);
      run(1100);
      assert.equal(resets(), 1);
    });

    it('refuses to be started twice or with a silly timeout', () => {
      const { io } = create();
      assert.throws(() => io.watchdog.start(5), { name: 'HalError', code: 'invalid-argument' });
      io.watchdog.start(5000);
      assert.throws(() => io.watchdog.start(5000), { name: 'HalError', code: 'busy' });
    });

    it('reboot() is a software reset', () => {
      const { io, run, current, resets } = create();
      io.clock.setTimeout(() => io.power.reboot(), 10);
      run(500);
      assert.equal(resets(), 1);
      assert.equal(current().power.resetReason(), 'software');
    });

    it('sleeps between events, deeply once deep sleep is allowed', () => {
      const { io, run, sleepFractions, deepSleepWithUart } = create();
      if (sleepFractions() === null) return;
      io.power.allowDeepSleep(true);
      io.clock.setInterval(() => {}, 60_000);
      run(3_600_000);
      const fractions = sleepFractions()!;
      assert.ok(fractions.asleep > 0.99, `asleep ${fractions.asleep}`);
      if (deepSleepWithUart) assert.ok(fractions.deep > 0.99, `deep sleep ${fractions.deep}`);
      else assert.ok(fractions.deep < 0.01, `deep sleep ${fractions.deep} although a UART is set up`);
    });
  });
}
