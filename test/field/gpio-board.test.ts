/**
 * Event inputs and relays in the firmware bundle on the virtual board, and the UART passthrough over a
 * virtual UART.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { UartPassthrough } from '../../firmware/passthrough/uart-passthrough';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { VirtualClock } from '../../simulator/clock';
import { UartLink } from '../../simulator/wire';
import { EndpointSerial, VirtualClockHal } from '../support/wire-hal';

const entry = path.join(__dirname, 'fixtures', 'field-entry.ts');
const definition = loadBoard('pico-bc66');
const pinOf = (name: string): string => definition.digitalInputs.find((input) => input.name === name)!.pin;
const relayPin = definition.digitalOutputs.find((output) => output.name === 'relay1')!.pin;

describe('event inputs, relays and passthrough', function () {
  this.timeout(120_000);

  it('raises one event per bouncing change of a tamper or door contact and restores a relay after reboot', async () => {
    const config = {
      version: 1,
      digitalInputs: [
        { name: 'tamper', input: 'tamper', activeLevel: 'low', debounce: 50, event: 'tamper' },
        { name: 'door', input: 'door', activeLevel: 'low', debounce: 50, event: 'door' },
      ],
      relays: [{ name: 'valve', output: 'relay1', restore: 'last' }],
    };
    const built = await bundle({ board: definition, entry, config, budgetBytes: 60_000 });
    const board = new VirtualBoard(definition);
    board.gpio.drive(pinOf('tamper'), true);
    board.gpio.drive(pinOf('door'), true);
    board.flashFirmware(built.code);
    board.powerOn();
    board.clock.advance(500);
    assert.match(board.consoleOutput(), /field ready/);
    const bounce = (pin: string, level: boolean): void => {
      for (let flip = 0; flip < 7; flip++) board.clock.schedule(flip * 2, () => board.gpio.drive(pin, flip % 2 === 0 ? level : !level));
      board.clock.advance(200);
    };
    bounce(pinOf('tamper'), false);
    bounce(pinOf('door'), false);
    bounce(pinOf('door'), true);
    const events = JSON.parse(board.evaluate('fieldTest.events()') as string) as Array<{ input: string; active: boolean }>;
    assert.deepEqual(events.map((event) => [event.input, event.active]), [['tamper', true], ['door', true], ['door', false]]);

    assert.equal(board.gpio.read(relayPin), false);
    board.evaluate('fieldTest.relay("valve", true)');
    assert.equal(board.gpio.read(relayPin), true);
    board.cutPower('test');
    board.clock.advance(100);
    board.powerOn();
    board.clock.advance(500);
    assert.equal(board.evaluate('fieldTest.relay("valve")'), true);
    assert.equal(board.gpio.read(relayPin), true, 'relay energised again after the reboot');
    board.evaluate('fieldTest.relay("valve", false)');
    board.cutPower('test');
    board.clock.advance(100);
    board.powerOn();
    board.clock.advance(500);
    assert.equal(board.gpio.read(relayPin), false);
  });

  it('passes UART bytes through in chunks cut at silence and writes downlinked bytes unchanged', () => {
    const clock = new VirtualClock();
    const link = new UartLink(clock, { baudRate: 9600 }, ['terminal', 'device']);
    const chunks: number[][] = [];
    const passthrough = new UartPassthrough(new EndpointSerial(link.a, { baudRate: 9600 }), new VirtualClockHal(clock), { maximumChunk: 16 }, (data) => chunks.push([...data]));
    passthrough.start();
    const received: number[] = [];
    link.b.onData((data) => received.push(...data));
    link.b.write(Uint8Array.of(1, 2, 3));
    link.b.write(Uint8Array.of(4, 5));
    clock.advance(100);
    link.b.write(Uint8Array.from({ length: 20 }, (_, index) => index));
    clock.advance(100);
    assert.deepEqual(chunks, [[1, 2, 3, 4, 5], Array.from({ length: 16 }, (_, index) => index), [16, 17, 18, 19]]);
    passthrough.write(Uint8Array.of(0xff, 0x00, 0x7e));
    clock.advance(100);
    assert.deepEqual(received, [0xff, 0x00, 0x7e]);
  });
});
