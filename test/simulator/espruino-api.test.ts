/**
 * The virtual board's Espruino API surface, checked against Espruino 2v29's documented and measured behaviour
 * (jswrap_*.c, jsinteractive.c; console transcripts captured from the Linux build).
 */
import assert from 'node:assert/strict';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { consoleLines } from './support';

function running(id = 'pico-bc66', code = ''): VirtualBoard {
  const board = new VirtualBoard(loadBoard(id), { bootDelayMs: 1 });
  board.boot(code);
  board.clock.advance(100);
  return board;
}

/** Console output produced while `action` runs (plus the line's transmission time). */
function output(board: VirtualBoard, action: () => void, milliseconds = 50): string {
  const before = board.consoleOutput().length;
  action();
  board.clock.advance(milliseconds);
  return board.consoleOutput().slice(before);
}

describe('virtual Espruino API', () => {
  describe('console REPL (transcripts of the Linux build)', () => {
    it('echoes, prints =result and the prompt', () => {
      const board = running();
      assert.equal(output(board, () => board.console.host.write('1+2\r')), '1+2\r\n=3\r\n>');
      assert.equal(output(board, () => board.console.host.write('print("hi")\n')), 'print("hi")\r\nhi\r\n=undefined\r\n>');
    });

    it('runs a DLE-prefixed line without echo or result, as EspruinoTools sends it', () => {
      const board = running();
      assert.equal(output(board, () => board.console.host.write('\x10print(5)\n')), '5\r\n>');
    });

    it('continues unfinished lines with ":" and reports uncaught errors', () => {
      const board = running();
      assert.equal(output(board, () => board.console.host.write('var f = function () {\n')), 'var f = function () {\r\n:');
      assert.equal(output(board, () => board.console.host.write('return 1 }\n')), 'return 1 }\r\n=function () { ... }\r\n>');
      assert.match(output(board, () => board.console.host.write('throw new Error("bad")\n')), /^throw new Error\("bad"\)\r\nUncaught Error: bad\r\n>$/);
    });

    it('takes the prompt out of the way for asynchronous output and draws it again', () => {
      const board = running();
      assert.equal(
        output(board, () => board.console.host.write('setTimeout(function(){print("T")},10)\n')),
        'setTimeout(function(){print("T")},10)\r\n=1\r\n>\r\x1b[JT\r\n>',
      );
    });

    it('formats values like Espruino', () => {
      const board = running();
      assert.equal(output(board, () => board.console.host.write('new Uint8Array([1,2])\n')), 'new Uint8Array([1,2])\r\n=new Uint8Array([1, 2])\r\n>');
      assert.equal(output(board, () => board.console.host.write('"a\\xFFb"\n')), '"a\\xFFb"\r\n="a\\xFFb"\r\n>');
      assert.equal(output(board, () => board.console.host.write('[1,2]\n')), '[1,2]\r\n=[ 1, 2 ]\r\n>');
      assert.equal(output(board, () => board.console.host.write('console.log({a:1},2)\n')), 'console.log({a:1},2)\r\n{ "a": 1 } 2\r\n=undefined\r\n>');
    });
  });

  describe('setWatch / clearWatch', () => {
    it('passes {state, time, lastTime} in getTime() seconds and filters edges', () => {
      const board = running('pico-bc66', 'var events = []; setWatch(function (e) { events.push(e); }, "B13", { repeat: true, edge: "falling" });');
      board.gpio.drive('B13', true);
      board.clock.advance(100);
      board.gpio.drive('B13', false);
      board.clock.advance(100);
      board.gpio.drive('B13', true);
      board.clock.advance(100);
      board.gpio.drive('B13', false);
      board.clock.advance(10);
      const events = JSON.parse(board.evaluate('JSON.stringify(events)') as string) as Array<{ state: boolean; time: number; lastTime: number }>;
      assert.equal(events.length, 2);
      assert.equal(events[0]!.state, false);
      assert.ok(Math.abs(events[1]!.time - events[0]!.time - 0.2) < 1e-9);
      assert.ok(Math.abs(events[1]!.time - events[1]!.lastTime - 0.1) < 1e-9, 'lastTime is the previous change of the pin, whatever the edge');
    });

    it('removes a non-repeating watch after its first callback; clearWatch() clears all; bad ids throw', () => {
      const board = running('pico-bc66', 'var n = 0; var id = setWatch(function () { n++; }, B14, false);');
      board.gpio.drive('B14', true);
      board.clock.advance(1);
      board.gpio.drive('B14', false);
      board.clock.advance(1);
      assert.equal(board.evaluate('n'), 1);
      assert.match(output(board, () => board.typeLine('clearWatch(id)')), /Uncaught Error: Unknown Watch 1/);
      assert.match(output(board, () => board.typeLine('clearWatch(undefined)')), /clearWatch\(undefined\) not allowed/);
      board.evaluate('setWatch(function () { n++; }, B14, true); clearWatch();');
      board.gpio.drive('B14', true);
      board.clock.advance(1);
      assert.equal(board.evaluate('n'), 1);
    });

    it('STM32: refuses to watch B0 while A0 is watched (one EXTI line per pin number)', () => {
      const board = running('pico-bc66', 'setWatch(function () {}, A0, true); var second = setWatch(function () {}, B0, true);');
      assert.equal(board.evaluate('second'), undefined);
      board.clock.advance(50);
      assert.match(board.consoleOutput(), /WARNING: Unable to set watch/);
    });
  });

  describe('timers', () => {
    it('passes extra arguments, evaluates strings, clearTimeout() clears all, clearTimeout(undefined) throws', () => {
      const board = running('pico-bc66', 'var log = []; setTimeout(function (a, b) { log.push(a + b); }, 10, 2, 3); setTimeout("log.push(\'s\')", 20);');
      board.clock.advance(30);
      assert.equal(board.evaluate('log.join()'), '5,s');
      board.evaluate('setTimeout(function () { log.push("x"); }, 10); setInterval(function () { log.push("y"); }, 5); clearTimeout();');
      board.clock.advance(30);
      assert.equal(board.evaluate('log.join()'), '5,s');
      assert.match(output(board, () => board.typeLine('clearTimeout(undefined)')), /clearTimeout\(undefined\) not allowed/);
      assert.match(output(board, () => board.typeLine('changeInterval(99, 10)')), /Unknown Interval/);
    });

    it('changeInterval restarts the period from now', () => {
      const board = running('pico-bc66', 'var t = [], id;');
      const start = Math.round((board.evaluate('id = setInterval(function () { t.push(Math.round(getTime() * 1000)); }, 100); getTime()') as number) * 1000);
      board.clock.advance(150);
      board.evaluate('changeInterval(id, 300)');
      board.clock.advance(700);
      const times = (board.evaluate('t.join()') as string).split(',').map((value) => Number(value) - start);
      assert.deepEqual(times, [100, 450, 750]);
    });

    it('Date and getTime follow the virtual clock and setTime', () => {
      const board = running();
      board.evaluate('setTime(1767225600)');
      board.clock.advance(60_000);
      assert.equal(board.evaluate('new Date().toISOString()'), '2026-01-01T00:01:00.000Z');
      assert.ok(Math.abs((board.evaluate('Date.now()') as number) - 1767225660000) < 1);
    });
  });

  describe('Serial', () => {
    it('delivers what arrived since the last idle loop as one string; keeps it for read() without a listener', () => {
      const board = running('pico-bc66', 'Serial2.setup(115200); var got = [];');
      board.modemLine.write('AT');
      board.modemLine.write('OK\r\n');
      board.clock.advance(5);
      assert.equal(board.evaluate('Serial2.available()'), 6);
      assert.equal(board.evaluate('Serial2.read(2)'), 'AT');
      board.evaluate('Serial2.on("data", function (d) { got.push(d); });');
      board.modemLine.write('+CEREG: 1\r\n');
      board.clock.advance(5);
      assert.equal(board.evaluate('JSON.stringify(got)'), '["OK\\r\\n+CEREG: 1\\r\\n"]');
    });

    it('STM32 in stop mode (setDeepSleep(1), idle) receives nothing; awake it does', () => {
      const board = running('pico-bc66', 'Serial2.setup(115200); var got = ""; Serial2.on("data", function (d) { got += d; }); setDeepSleep(1);');
      board.clock.advance(100);
      board.modemLine.write('+QIURC: "recv"\r\n');
      board.clock.advance(10);
      assert.equal(board.evaluate('got'), '');
      assert.ok(board.uart('Serial2')!.lostBytes > 0);
      board.evaluate('setDeepSleep(0)');
      board.modemLine.write('OK\r\n');
      board.clock.advance(10);
      assert.equal(board.evaluate('got'), 'OK\r\n');
    });

    it('nRF52 keeps receiving while it sleeps (its UART keeps the high-speed clock on, at ~1 mA)', () => {
      const board = running('rak5010', 'Serial1.setup(115200); var got = ""; Serial1.on("data", function (d) { got += d; }); setDeepSleep(1);');
      board.clock.advance(100);
      board.modemLine.write('RDY\r\n');
      board.clock.advance(10);
      assert.equal(board.evaluate('got'), 'RDY\r\n');
    });

    it('rejects bad setup options like Espruino', () => {
      const board = running();
      assert.match(output(board, () => board.typeLine('Serial1.setup(9600, { parity: "x" })')), /Invalid parity/);
      assert.match(output(board, () => board.typeLine('Serial1.setup(9600, { bytesize: 9 })')), /Unsupported serial byte size/);
    });
  });

  describe('I2C, E, require, reset registers', () => {
    it('reports a missing I2C device with the MCU\'s own message', () => {
      const pico = running('pico-bc66');
      assert.match(output(pico, () => pico.typeLine('I2C1.setup({scl:B8,sda:B9}); I2C1.writeTo(0x44, 1)')), /I2C device not responding/);
      const rak = running('rak5010');
      assert.match(output(rak, () => rak.typeLine('I2C1.setup({scl:D13,sda:D14}); I2C1.readFrom(0x44, 1)')), /I2C Write Error 33281/);
    });

    it('E.CRC32, E.toUint8Array, E.getErrorFlags', () => {
      const board = running();
      assert.equal(board.evaluate('E.CRC32("abc")'), 891568578);
      assert.equal(board.evaluate('E.toUint8Array("ab", [1, 2], 3, {data: 7, count: 2}).join()'), '97,98,1,2,3,7,7');
      assert.equal(board.evaluate('E.getErrorFlags().length'), 0);
    });

    it('require("crypto") exists where the build has it, and only there', () => {
      const rak = running('rak5010');
      assert.equal(rak.evaluate('new Uint8Array(require("crypto").SHA256("abc"))[0]'), 0xba);
      const nucleo = running('nucleo-l476-bc95');
      assert.match(output(nucleo, () => nucleo.typeLine('require("crypto")')), /Module "crypto" not found/);
    });

    it('nRF52 RESETREAS accumulates until written with ones; STM32 RCC_CSR until RMVF', () => {
      const rak = running('rak5010');
      assert.equal(rak.evaluate('peek32(0x40000400)'), 0);
      rak.reset('software');
      rak.clock.advance(200);
      rak.reset('watchdog');
      rak.clock.advance(200);
      assert.equal(rak.evaluate('peek32(0x40000400)'), 6);
      rak.evaluate('poke32(0x40000400, 6)');
      assert.equal(rak.evaluate('peek32(0x40000400)'), 0);
      const pico = running('pico-bc66');
      assert.equal(((pico.evaluate('peek32(0x40023874)') as number) >>> 24).toString(16), 'e');
      pico.evaluate('poke32(0x40023874, peek32(0x40023874) | 0x01000000)');
      assert.equal(pico.evaluate('peek32(0x40023874)'), 0);
    });
  });

  describe('boot, E.on("init"), reset() and load()', () => {
    it('runs .bootcde, then E "init" handlers, then onInit; load() runs it again, reset() does not', () => {
      const board = running('pico-bc66', 'print("boot code"); E.on("init", function () { print("init event"); }); function onInit() { print("onInit"); }');
      board.clock.advance(50);
      assert.deepEqual(consoleLines(board.consoleOutput()).slice(0, 3), ['boot code', 'init event', 'Running onInit()...']);
      const boots = board.counters.boots;
      output(board, () => board.typeLine('load()'));
      board.clock.advance(50);
      assert.equal(board.counters.boots, boots + 1);
      assert.equal(consoleLines(board.consoleOutput()).filter((line) => line === 'boot code').length, 2);
      output(board, () => board.typeLine('reset()'));
      board.clock.advance(50);
      assert.equal(consoleLines(board.consoleOutput()).filter((line) => line === 'boot code').length, 2);
      assert.equal(board.evaluate('typeof onInit'), 'undefined');
    });
  });
});
