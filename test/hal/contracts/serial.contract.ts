/**
 * Contract of hal Serial (hal/interfaces.ts): bytes out in order with baud-accurate timing, bytes in through the
 * one receive handler, never synchronously, character time from the line settings, typed errors on bad input.
 */
import assert from 'node:assert/strict';
import type { Serial } from '../../../hal/interfaces';
import type { SerialEndpoint } from '../../../simulator/wire';
import { ascii, bytes } from '../rig';

export interface SerialFixture {
  serial: Serial;
  /** The other end of the line (a device). */
  far: SerialEndpoint;
  run(milliseconds: number): void;
  now(): number;
}

export function serialContract(name: string, create: () => SerialFixture): void {
  describe(`Serial contract: ${name}`, () => {
    it('delivers transmitted bytes in order, taking length × character time on the line', () => {
      const { serial, far, run, now } = create();
      const arrivals: Array<{ data: number[]; time: number }> = [];
      far.onData((data) => arrivals.push({ data: Array.from(data), time: now() }));
      const start = now();
      serial.transmit(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      serial.transmit('AB');
      run(100);
      assert.deepEqual(arrivals.map((arrival) => arrival.data), [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [65, 66]]);
      assert.ok(Math.abs(arrivals[0]!.time - start - 10 * serial.characterTime()) < 1e-6, 'first chunk after 10 character times');
      assert.ok(Math.abs(arrivals[1]!.time - start - 12 * serial.characterTime()) < 1e-6, 'second chunk queued behind the first');
    });

    it('takes strings as latin-1, one byte per char', () => {
      const { serial, far, run } = create();
      const received: number[] = [];
      far.onData((data) => received.push(...data));
      serial.transmit('\x00\x7f\x80\xff');
      run(10);
      assert.deepEqual(received, [0, 0x7f, 0x80, 0xff]);
    });

    it('hands received bytes to the receive handler from the event loop, never inside the call that caused them', () => {
      const { serial, far, run } = create();
      // The far end echoes: the echo must not reach the handler while transmit() runs.
      far.onData((data) => far.write(data));
      const received: number[] = [];
      let insideTransmit = false;
      serial.onReceive((data) => {
        assert.equal(insideTransmit, false);
        received.push(...data);
      });
      insideTransmit = true;
      serial.transmit('ping');
      insideTransmit = false;
      assert.deepEqual(received, []);
      run(50);
      assert.deepEqual(received, Array.from(ascii('ping')));
    });

    it('has one receive handler: a later one replaces the earlier, null removes it', () => {
      const { serial, far, run } = create();
      const first: number[] = [];
      const second: number[] = [];
      serial.onReceive((data) => first.push(...data));
      serial.onReceive((data) => second.push(...data));
      far.write('x');
      run(10);
      serial.onReceive(null);
      far.write('y');
      run(10);
      assert.deepEqual(first, []);
      assert.deepEqual(second, [0x78]);
    });

    it('computes the character time from the settings (start + data + parity + stop bits)', () => {
      const { serial } = create();
      const baud = serial.options.baudRate;
      assert.ok(Math.abs(serial.characterTime() - 10_000 / baud) < 1e-9);
      if (serial.configure) {
        serial.configure({ baudRate: 2400, parity: 'even', stopBits: 1 });
        assert.equal(serial.options.baudRate, 2400);
        assert.ok(Math.abs(serial.characterTime() - 11_000 / 2400) < 1e-9);
        serial.configure({ stopBits: 2, parity: 'none', dataBits: 7 });
        assert.ok(Math.abs(serial.characterTime() - 10_000 / 2400) < 1e-9);
      }
    });

    it('rejects bad input with HalError', () => {
      const { serial } = create();
      assert.throws(() => serial.transmit(42 as unknown as string), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => serial.onReceive('nope' as unknown as null), { name: 'HalError', code: 'invalid-argument' });
      if (serial.configure) {
        assert.throws(() => serial.configure!({ baudRate: 0 }), { name: 'HalError', code: 'invalid-argument' });
        assert.throws(() => serial.configure!({ parity: 'mark' as 'odd' }), { name: 'HalError', code: 'invalid-argument' });
        assert.throws(() => serial.configure!({ dataBits: 9 as 8 }), { name: 'HalError', code: 'invalid-argument' });
      }
    });

    it('keeps no reference to the caller\'s buffer after transmit returns', () => {
      const { serial, far, run } = create();
      const received: number[] = [];
      far.onData((data) => received.push(...data));
      const buffer = Uint8Array.from([1, 2, 3]);
      serial.transmit(buffer);
      buffer.fill(9);
      run(10);
      assert.deepEqual(bytes(received), [1, 2, 3]);
    });
  });
}
