/**
 * The AT engine against raw bytes on a baud-timed virtual UART: a test plays the modem by writing exact
 * bytes on the far end, in whatever chunks it likes.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AtEngine, isAtError, type AtError, type AtResponse } from '../../firmware/modem/at-engine';
import { VirtualClock } from '../../simulator/clock';
import { UartLink } from '../../simulator/wire';
import { EndpointSerial, VirtualHalClock } from '../support/modem-rig';

function setup(baudRate = 115200) {
  const clock = new VirtualClock();
  const link = new UartLink(clock, { baudRate }, ['mcu', 'modem']);
  const halClock = new VirtualHalClock(clock);
  const engine = new AtEngine(new EndpointSerial(link.a, { baudRate }), halClock);
  const written: string[] = [];
  link.b.onData((data) => written.push(Buffer.from(data).toString('latin1')));
  /** Everything the engine wrote so far, as one string. */
  const sent = (): string => written.join('');
  const modemSays = (text: string | Uint8Array): void => {
    link.b.write(text);
  };
  return { clock, link, engine, sent, modemSays, written };
}

function outcome<T>(promise: Promise<T>): { value?: T; error?: AtError; settled: () => boolean } {
  const state: { value?: T; error?: AtError; done: boolean } = { done: false };
  promise.then(
    (value) => {
      state.value = value;
      state.done = true;
    },
    (error: AtError) => {
      state.error = error;
      state.done = true;
    },
  );
  return {
    get value() {
      return state.value;
    },
    get error() {
      return state.error;
    },
    settled: () => state.done,
  };
}

async function run(clock: VirtualClock, milliseconds: number): Promise<void> {
  const end = clock.now() + milliseconds;
  while (clock.now() < end) {
    const next = clock.nextEventTime();
    clock.runUntil(next === undefined ? end : Math.min(next, end));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe('AT engine', () => {
  it('sends the command with CR and resolves on OK with the intermediate lines', async () => {
    const { clock, engine, sent, modemSays } = setup();
    const result = outcome(engine.send('AT+CSQ', { expect: '+CSQ:' }));
    await run(clock, 5);
    assert.equal(sent(), 'AT+CSQ\r');
    modemSays('\r\n+CSQ: 24,99\r\n\r\nOK\r\n');
    await run(clock, 5);
    assert.deepEqual((result.value as AtResponse).lines, ['+CSQ: 24,99']);
    assert.equal(result.value!.final, 'OK');
  });

  it('classifies ERROR, +CME ERROR: n and +CMS ERROR: n', async () => {
    const { clock, engine, modemSays } = setup();
    const plain = outcome(engine.send('AT+X'));
    const cme = outcome(engine.send('AT+Y'));
    const cms = outcome(engine.send('AT+Z'));
    const verbose = outcome(engine.send('AT+W'));
    await run(clock, 2);
    modemSays('\r\nERROR\r\n');
    await run(clock, 2);
    modemSays('\r\n+CME ERROR: 159\r\n');
    await run(clock, 2);
    modemSays('\r\n+CMS ERROR: 500\r\n');
    await run(clock, 2);
    modemSays('\r\n+CME ERROR: operation not allowed\r\n');
    await run(clock, 10);
    assert.equal(plain.error!.kind, 'error');
    assert.equal(cme.error!.kind, 'cme');
    assert.equal(cme.error!.code, 159);
    assert.equal(cme.error!.command, 'AT+Y');
    assert.equal(cms.error!.kind, 'cms');
    assert.equal(cms.error!.code, 500);
    assert.equal(verbose.error!.kind, 'cme');
    assert.equal(verbose.error!.code, null);
    assert.ok(isAtError(verbose.error));
  });

  it('times out a command that gets no final result and goes on with the next one', async () => {
    const { clock, engine, sent, modemSays } = setup();
    const first = outcome(engine.send('AT+SLOW', { timeout: 1000 }));
    const second = outcome(engine.send('AT'));
    await run(clock, 999);
    assert.equal(first.settled(), false);
    assert.equal(sent(), 'AT+SLOW\r');
    await run(clock, 2);
    assert.equal(first.error!.kind, 'timeout');
    // The late answer to AT+SLOW arrives in the quiet period and is not taken for the next command's.
    modemSays('\r\nOK\r\n');
    await run(clock, 150);
    assert.equal(sent(), 'AT+SLOW\r');
    assert.equal(second.settled(), false);
    await run(clock, 60);
    assert.equal(sent(), 'AT+SLOW\rAT\r');
    assert.equal(second.settled(), false);
    modemSays('\r\nOK\r\n');
    await run(clock, 2);
    assert.equal(second.value!.final, 'OK');
    assert.equal(engine.statistics.timeouts, 1);
  });

  it('keeps one command in flight and sends queued ones in order', async () => {
    const { clock, engine, sent, modemSays } = setup();
    const results = ['AT+A', 'AT+B', 'AT+C'].map((command) => outcome(engine.send(command)));
    await run(clock, 2);
    assert.equal(sent(), 'AT+A\r');
    for (let index = 0; index < 3; index++) {
      modemSays('\r\nOK\r\n');
      await run(clock, 2);
    }
    assert.equal(sent(), 'AT+A\rAT+B\rAT+C\r');
    assert.ok(results.every((result) => result.value?.final === 'OK'));
  });

  it('dispatches URCs that arrive in the middle of another command response', async () => {
    const { clock, engine, modemSays } = setup();
    const urcs: string[] = [];
    engine.onUrc('+NSONMI:', (line) => urcs.push(line));
    const result = outcome(engine.send('AT+NUESTATS'));
    await run(clock, 2);
    modemSays('\r\nSignal power:-737\r\n\r\n+NSONMI:0,4\r\n\r\nSNR:204\r\n\r\nOK\r\n');
    await run(clock, 5);
    assert.deepEqual(urcs, ['+NSONMI:0,4']);
    assert.deepEqual(result.value!.lines, ['Signal power:-737', 'SNR:204']);
  });

  it('drops the echo of the command when echo is on', async () => {
    const { clock, engine, modemSays } = setup();
    const result = outcome(engine.send('AT+CGSN=1'));
    await run(clock, 2);
    modemSays('AT+CGSN=1\r\r\n+CGSN:863703031234567\r\n\r\nOK\r\n');
    await run(clock, 5);
    assert.deepEqual(result.value!.lines, ['+CGSN:863703031234567']);
  });

  it('writes the payload after the > prompt (no line end follows the prompt) and waits for SEND OK', async () => {
    const { clock, engine, written, modemSays } = setup();
    const payload = Uint8Array.from([0x0d, 0x0a, 0x3e, 0x00, 0xff]);
    const result = outcome(engine.send('AT+QISEND=0,5,"127.0.0.1",5683', { payload, completeOn: 'SEND OK', failOn: ['SEND FAIL'] }));
    await run(clock, 5);
    modemSays('> ');
    await run(clock, 5);
    assert.equal(written.join(''), 'AT+QISEND=0,5,"127.0.0.1",5683\r' + Buffer.from(payload).toString('latin1'));
    modemSays('\r\nSEND OK\r\n');
    await run(clock, 5);
    assert.equal(result.value!.final, 'SEND OK');
    assert.deepEqual(result.value!.lines, ['SEND OK'], 'the space after > is not a response line');
  });

  it('fails a send on SEND FAIL', async () => {
    const { clock, engine, modemSays } = setup();
    const result = outcome(engine.send('AT+QISEND=0,1,"01"', { completeOn: 'SEND OK', failOn: ['SEND FAIL'] }));
    await run(clock, 2);
    modemSays('\r\nOK\r\n\r\nSEND FAIL\r\n');
    await run(clock, 5);
    assert.equal(result.error!.kind, 'failure');
  });

  it('ends a command on a result line after OK (+QIOPEN) even when both arrive in one chunk', async () => {
    const { clock, engine, modemSays } = setup();
    const result = outcome(engine.send('AT+QIOPEN=1,0,"UDP SERVICE","127.0.0.1",0,56000,0', { completeOn: '+QIOPEN:' }));
    await run(clock, 2);
    modemSays('\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n');
    await run(clock, 5);
    assert.equal(result.value!.final, '+QIOPEN: 0,0');
  });

  it('reads raw bytes of a known length after a line, including CR, LF and binary', async () => {
    const { clock, engine, modemSays } = setup();
    const data = Uint8Array.from([0x0d, 0x0a, 0x4f, 0x4b, 0x0d, 0x0a, 0x00, 0xff]);
    const result = outcome(
      engine.send('AT+QIRD=0', { expect: '+QIRD:', rawLength: (line) => parseInt(line.substring(7), 10) || 0 }),
    );
    await run(clock, 2);
    modemSays('\r\n+QIRD: 8,"127.0.0.1",5683\r\n');
    modemSays(data);
    modemSays('\r\n\r\nOK\r\n');
    await run(clock, 5);
    assert.deepEqual(Array.from(result.value!.raw!), Array.from(data));
    assert.deepEqual(result.value!.lines, ['+QIRD: 8,"127.0.0.1",5683']);
  });

  it('resolves waitForUrc on the line and rejects it after the timeout', async () => {
    const { clock, engine, modemSays } = setup();
    const ready = outcome(engine.waitForUrc('APP RDY', 10000));
    const never = outcome(engine.waitForUrc('+QIOPEN:', 500));
    modemSays('\r\nRDY\r\n\r\nAPP RDY\r\n');
    await run(clock, 600);
    assert.equal(ready.value, 'APP RDY');
    assert.equal(never.error!.kind, 'timeout');
  });

  it('survives garbage bytes, overlong lines and stray finals without losing the next command', async () => {
    const { clock, engine, modemSays } = setup();
    modemSays(Uint8Array.from([0x00, 0xff, 0xfe, 0x80, 0x0d]));
    modemSays('\r\nOK\r\n'); // stray final with nothing in flight
    modemSays('x'.repeat(5000) + '\r\n');
    await run(clock, 500);
    const result = outcome(engine.send('AT'));
    await run(clock, 2);
    modemSays('\xff\x00\r\nOK\r\n');
    await run(clock, 5);
    assert.equal(result.value!.final, 'OK');
    assert.ok(engine.statistics.droppedBytes >= 4);
  });

  it('rejects multi-line command text and aborts everything on abortAll', async () => {
    const { clock, engine } = setup();
    const bad = outcome(engine.send('AT\rAT'));
    const first = outcome(engine.send('AT+A'));
    const second = outcome(engine.send('AT+B'));
    await run(clock, 2);
    engine.abortAll('power cycle');
    await run(clock, 2);
    assert.equal(bad.error!.kind, 'invalid');
    assert.equal(first.error!.kind, 'aborted');
    assert.equal(second.error!.kind, 'aborted');
    assert.equal(engine.busy(), false);
  });

  it('gives the same result however the reply is split into chunks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 40 }), async (cuts) => {
        const { clock, engine, modemSays } = setup();
        const urcs: string[] = [];
        engine.onUrc('+CEREG:', (line) => urcs.push(line));
        const result = outcome(engine.send('AT+NSORF=0,4'));
        await run(clock, 2);
        const reply = 'AT+NSORF=0,4\r\r\n0,127.0.0.1,5683,4,DEADBEEF,0\r\n\r\n+CEREG:1\r\n\r\nOK\r\n';
        let offset = 0;
        for (const cut of cuts) {
          if (offset >= reply.length) break;
          modemSays(reply.substring(offset, offset + cut));
          offset += cut;
        }
        if (offset < reply.length) modemSays(reply.substring(offset));
        await run(clock, 20);
        assert.deepEqual(result.value!.lines, ['0,127.0.0.1,5683,4,DEADBEEF,0']);
        assert.deepEqual(urcs, ['+CEREG:1']);
      }),
      { numRuns: 60 },
    );
  });
});
