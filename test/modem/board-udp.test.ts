/**
 * Acceptance: for each modem (BC66 on the Pico board, BC95-G on the NUCLEO-L476, BG96 on the RAK5010) the
 * firmware bundle, built for that board by the real build (ES5 + Espruino gate), boots on the virtual
 * Espruino board with the modem model on its modem UART, brings the modem up through its driver, and gets a
 * UDP datagram to a real socket on loopback and the reply back into the firmware.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { Battery } from '../../simulator/models/battery';
import { attachModem } from '../../simulator/models/modem-attach';
import { startEchoServer } from '../support/modem-rig';

const entry = path.join(__dirname, 'fixtures', 'udp-echo-entry.ts');

describe('modem firmware bundle on the virtual board, real UDP on loopback', function () {
  this.timeout(60000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer((data) => Buffer.concat([Buffer.from('ACK:'), data]));
  });
  after(async () => {
    await echo.close();
  });

  for (const boardId of ['pico-bc66', 'nucleo-l476-bc95', 'rak5010']) {
    it(`${boardId}: datagram out through the modem model and the reply back into the firmware`, async () => {
      const definition = loadBoard(boardId);
      const payloadHex = '5544540001' + boardId.length.toString(16).padStart(2, '0');
      const built = await bundle({
        board: definition,
        entry,
        config: { modemTest: { host: '127.0.0.1', port: echo.port, payloadHex } },
        // The test entry carries the whole modem library; the size figure is printed, the board budget is the real firmware's.
        budgetBytes: 200000,
      });
      assert.ok(built.drivers.included.some((driver) => driver.part === definition.modem.model));
      const board = new VirtualBoard(definition);
      // The battery model: the board's energy meter drains it by every consumer, the modem included.
      const battery = new Battery(board, { capacityMilliampHours: 2000 });
      const model = attachModem(board);
      try {
        board.flashFirmware(built.code);
        board.powerOn();
        const clock = board.clock;
        const deadline = clock.now() + 10 * 60 * 1000;
        while (!board.consoleOutput().includes('modem reply') && !board.consoleOutput().includes('modem failed') && clock.now() < deadline) {
          await clock.runWithRealIo(Math.min(deadline, clock.nextEventTime() ?? clock.now() + 1000));
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const output = board.consoleOutput();
        assert.match(output, /modem reply 41434B3A5544540001[0-9A-F]{2} from /, output.slice(-2000));
        assert.ok(echo.received.some((message) => message.toString('hex').toUpperCase() === payloadHex));
        const result = board.evaluate('modemTestResult') as { reply: string; milliseconds: number; model: string };
        assert.equal(result.model, definition.modem.model);
        const modemCharge = model.current.chargeDrawnMilliampHours();
        const report = board.energy.report();
        assert.ok(Math.abs(report.consumers['modem ' + definition.modem.model]! - modemCharge) < 1e-6, JSON.stringify(report.consumers));
        battery.update();
        assert.ok(battery.drawn >= modemCharge - 1e-9, 'the battery paid for the modem: ' + battery.drawn + ' mAh drawn');
        console.log(
          `      ${boardId} (${definition.modem.model}): bundle ${built.bytes} bytes; reply after ${(result.milliseconds / 1000).toFixed(1)} s virtual; ` +
            `modem drew ${model.current.chargeDrawnMilliampHours().toFixed(3)} mAh`,
        );
      } finally {
        model.close();
      }
    });
  }
});
