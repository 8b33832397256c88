/**
 * The BC95-G keeps power, registration and its sockets when only the MCU resets (it runs from VBAT and has no
 * power key on the NUCLEO board), so a freshly booted driver meets sockets it never opened. AT+NSOCR refuses
 * the local port a left-over socket still holds (the model answers ERROR; BC95-G&BC68 AT Commands Manual V1.2
 * §4.4 AT+NSOCR: the section's wording on a port already in use was not available to check), the module has
 * seven sockets (0-6), and a datagram for a left-over socket is announced by +NSONMI:<socket>,<length>.
 */
import { strict as assert } from 'node:assert';
import { Bc95gDriver } from '../../firmware/modem/bc95g';
import type { Bc95gModel } from '../../simulator/models/modem-bc95g';
import { advance, createModemRig, startEchoServer } from '../support/modem-rig';

describe('BC95-G after an MCU reset (the module keeps its sockets)', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(async () => {
    await echo.close();
  });

  it('closes the sockets the previous firmware run left open, then opens one and gets a reply', async () => {
    const rig = createModemRig({ model: 'BC95-G' });
    const model = rig.model as Bc95gModel;
    try {
      const before = rig.driver;
      await rig.settle(before.powerOn());
      await rig.settle(before.attach(120000));
      await rig.settle(before.openUdp('127.0.0.1', echo.port));
      // The previous run also held a second socket on another port.
      await rig.settle(before.command('AT+NSOCR=DGRAM,17,56001,1'));
      assert.deepEqual(model.socketIds(), [0, 1]);

      // MCU reset: a new driver on the same UART; the module was never told.
      const after = new Bc95gDriver(rig.io);
      await rig.settle(after.powerOn());
      await rig.settle(after.attach(120000));
      const traceStart = rig.trace.length;
      await rig.settle(after.openUdp('127.0.0.1', echo.port));
      assert.deepEqual(model.socketIds(), [0], 'only the socket the new run opened');
      const commands = rig.trace.slice(traceStart).filter((line) => line.startsWith('> ')).map((line) => line.substring(2));
      assert.deepEqual(commands, [
        'AT+NSOCR=DGRAM,17,56000,1', // refused: 56000 is still bound by the old socket 0
        'AT+NSOCL=0', 'AT+NSOCL=1', 'AT+NSOCL=2', 'AT+NSOCL=3', 'AT+NSOCL=4', 'AT+NSOCL=5', 'AT+NSOCL=6',
        'AT+NSOCR=DGRAM,17,56000,1',
      ]);

      const replies: number[][] = [];
      after.onDatagram((data) => replies.push(Array.from(data)));
      await rig.settle(after.sendDatagram(Uint8Array.from([7, 8, 9])));
      await rig.settle(
        new Promise<void>((resolve) => {
          const check = (): void => void (replies.length > 0 ? resolve() : rig.halClock.setTimeout(check, 20));
          check();
        }),
      );
      assert.deepEqual(replies, [[7, 8, 9]]);
    } finally {
      rig.close();
    }
  });

  it('closes a left-over socket when a datagram arrives for it, and delivers nothing from it', async () => {
    const rig = createModemRig({ model: 'BC95-G' });
    const model = rig.model as Bc95gModel;
    try {
      const driver = rig.driver;
      const replies: Uint8Array[] = [];
      driver.onDatagram((data) => replies.push(data));
      await rig.settle(driver.powerOn());
      await rig.settle(driver.attach(120000));
      await rig.settle(driver.openUdp('127.0.0.1', echo.port));
      // A socket this run did not open (as if left from the run before) sends; the echo answers it.
      await rig.settle(driver.command('AT+NSOCR=DGRAM,17,56002,1'));
      await rig.settle(driver.command('AT+NSOST=1,127.0.0.1,' + echo.port + ',2,ABCD', { timeout: 10000 }));
      assert.deepEqual(model.socketIds(), [0, 1]);
      for (let waited = 0; waited < 20000 && model.socketIds().length > 1; waited += 500) await advance(rig.clock, 500);
      assert.deepEqual(model.socketIds(), [0]);
      assert.equal(replies.length, 0);
      assert.ok(rig.trace.includes('< +NSONMI:1,2'), rig.trace.join(' | '));
      assert.ok(rig.trace.includes('> AT+NSOCL=1'));
    } finally {
      rig.close();
    }
  });
});
