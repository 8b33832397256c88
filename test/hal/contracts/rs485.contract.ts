/**
 * Contract of hal Rs485: DE up for the frame (after preTransmitDelay, until the last stop bit plus
 * postTransmitDelay), `done` after DE drops and never synchronously, one frame in flight, replies delivered,
 * nothing received while driving.
 */
import assert from 'node:assert/strict';
import type { Rs485 } from '../../../hal/interfaces';
import type { Rs485Bus } from '../../../simulator/wire';

export interface Rs485Fixture {
  rs485: Rs485;
  bus: Rs485Bus;
  driverEnabled(): boolean;
  onDriverChange(listener: (level: boolean, time: number) => void): void;
  run(milliseconds: number): void;
  now(): number;
}

export function rs485Contract(name: string, create: () => Rs485Fixture): void {
  describe(`Rs485 contract: ${name}`, () => {
    it('puts the frame on the bus with DE high and calls done after DE drops', () => {
      const { rs485, bus, run, now, driverEnabled, onDriverChange } = create();
      const slave = bus.attach('slave');
      const heard: number[] = [];
      slave.onData((data) => heard.push(...data));
      const edges: Array<{ level: boolean; time: number }> = [];
      onDriverChange((level, time) => edges.push({ level, time }));
      let doneAt: number | null = null;
      const start = now();
      rs485.transmitFrame(Uint8Array.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]), () => {
        assert.equal(driverEnabled(), false, 'DE is low when done runs');
        doneAt = now();
      });
      assert.equal(doneAt, null, 'done is not called synchronously');
      run(50);
      assert.deepEqual(heard, [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]);
      const frameTime = 8 * rs485.characterTime();
      assert.equal(edges[0]!.level, true);
      assert.equal(edges[1]!.level, false);
      assert.ok(edges[1]!.time - start >= frameTime - 1e-9, 'DE stays up until the last stop bit');
      assert.ok(doneAt! - start >= frameTime, 'done after the frame is out');
    });

    it('honours pre- and post-transmit delays', () => {
      const { rs485, bus, run, now, onDriverChange } = create();
      if (!rs485.configure) return;
      rs485.configure({ preTransmitDelay: 2, postTransmitDelay: 3 });
      const slave = bus.attach('slave');
      let firstByteAt = 0;
      slave.onData(() => (firstByteAt ||= now()));
      const edges: Array<{ level: boolean; time: number }> = [];
      onDriverChange((level, time) => edges.push({ level, time }));
      const start = now();
      rs485.transmitFrame(Uint8Array.from([0x55, 0xaa]), () => {});
      run(50);
      const frameTime = 2 * rs485.characterTime();
      assert.ok(Math.abs(firstByteAt - start - (2 + frameTime)) < 1e-6, 'frame starts after the pre delay');
      assert.ok(Math.abs(edges[1]!.time - start - (2 + frameTime + 3)) < 1e-6, 'DE drops after the post delay');
    });

    it('allows one frame in flight: a second transmitFrame before done throws busy', () => {
      const { rs485, run } = create();
      rs485.transmitFrame(Uint8Array.from([1]), () => {});
      assert.throws(() => rs485.transmitFrame(Uint8Array.from([2]), () => {}), { name: 'HalError', code: 'busy' });
      run(20);
      rs485.transmitFrame(Uint8Array.from([3]), () => {});
    });

    it('delivers a slave reply and hears nothing of its own frame', () => {
      const { rs485, bus, run } = create();
      const slave = bus.attach('slave');
      slave.onData(() => slave.write(Uint8Array.from([0x01, 0x03, 0x02, 0x12, 0x34])));
      const received: number[] = [];
      rs485.onReceive((data) => received.push(...data));
      rs485.transmitFrame(Uint8Array.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x01]), () => {});
      run(100);
      assert.deepEqual(received, [0x01, 0x03, 0x02, 0x12, 0x34]);
    });

    it('rejects bad frames and callbacks', () => {
      const { rs485 } = create();
      assert.throws(() => rs485.transmitFrame(new Uint8Array(0), () => {}), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => rs485.transmitFrame('abc' as unknown as Uint8Array, () => {}), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => rs485.transmitFrame(Uint8Array.from([1]), undefined as unknown as () => void), { name: 'HalError', code: 'invalid-argument' });
      if (rs485.configure) assert.throws(() => rs485.configure!({ preTransmitDelay: -1 }), { name: 'HalError', code: 'invalid-argument' });
    });
  });
}
