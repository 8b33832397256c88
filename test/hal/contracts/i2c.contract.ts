/**
 * Contract of hal I2c: write/read/writeRead reach the device at a 7-bit address, a missing device fails with
 * HalError 'nack' naming bus and address, operations run one at a time in call order, callbacks are async.
 */
import assert from 'node:assert/strict';
import type { HalError, I2c } from '../../../hal/interfaces';
import type { I2cBus } from '../../../simulator/hardware/i2c-bus';
import { Sht3x, sht3xCrc } from '../../../simulator/models/sht3x';
import type { VirtualClock } from '../../../simulator/clock';

export interface I2cFixture {
  i2c: I2c;
  bus: I2cBus;
  clock: VirtualClock;
  run(milliseconds: number): void;
}

export function i2cContract(name: string, create: () => I2cFixture): void {
  describe(`I2c contract: ${name}`, () => {
    it('measures an SHT3x: command write, wait, read 6 bytes with valid CRCs', () => {
      const { i2c, bus, clock, run } = create();
      bus.attach(new Sht3x(clock, { address: 0x45, temperature: 23.25, humidity: 61 }));
      let result: Uint8Array | undefined;
      i2c.write(0x45, Uint8Array.from([0x24, 0x00]), (error) => assert.equal(error, null));
      run(20);
      i2c.read(0x45, 6, (error, data) => {
        assert.equal(error, null);
        result = data;
      });
      run(1);
      assert.ok(result);
      const data = Array.from(result!);
      assert.equal(sht3xCrc(data.slice(0, 2)), data[2]);
      assert.equal(sht3xCrc(data.slice(3, 5)), data[5]);
      const temperature = -45 + (175 * ((data[0]! << 8) | data[1]!)) / 65535;
      const humidity = (100 * ((data[3]! << 8) | data[4]!)) / 65535;
      assert.ok(Math.abs(temperature - 23.25) < 0.01);
      assert.ok(Math.abs(humidity - 61) < 0.01);
    });

    it('fails with nack for an absent device, and for a device that NACKs its read header', () => {
      const { i2c, bus, clock, run } = create();
      const errors: Array<HalError | null> = [];
      i2c.write(0x12, Uint8Array.from([0]), (error) => errors.push(error));
      bus.attach(new Sht3x(clock, { address: 0x44 }));
      i2c.write(0x44, Uint8Array.from([0x24, 0x00]), (error) => errors.push(error));
      i2c.read(0x44, 6, (error) => errors.push(error)); // measurement not ready yet: NACK
      run(5);
      assert.equal(errors.length, 3);
      assert.equal(errors[0]!.name, 'HalError');
      assert.equal(errors[0]!.code, 'nack');
      assert.match(errors[0]!.device, /@0x12$/);
      assert.equal(errors[1], null);
      assert.equal(errors[2]!.code, 'nack');
    });

    it('runs queued operations in call order and never calls back synchronously', () => {
      const { i2c, bus, clock, run } = create();
      bus.attach(new Sht3x(clock, { address: 0x44 }));
      const order: string[] = [];
      i2c.write(0x44, Uint8Array.from([0x30, 0xa2]), () => order.push('reset'));
      i2c.writeRead(0x44, Uint8Array.from([0xf3, 0x2d]), 3, (error, data) => order.push(`status ${error ? error.code : Array.from(data!).join(',')}`));
      i2c.read(0x13, 1, (error) => order.push(`absent ${error!.code}`));
      assert.deepEqual(order, []);
      run(5);
      assert.deepEqual(order, ['reset', `status 0,0,${sht3xCrc([0, 0])}`, 'absent nack']);
      const transfers = bus.transfers.map((transfer) => `${transfer.direction}@${transfer.address.toString(16)}`);
      assert.deepEqual(transfers, ['write@44', 'write@44', 'read@44', 'read@13']);
    });

    it('rejects bad addresses, lengths and data with HalError', () => {
      const { i2c } = create();
      const done = (): void => {};
      assert.throws(() => i2c.write(0x80, new Uint8Array(1), done), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => i2c.write(-1, new Uint8Array(1), done), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => i2c.read(0x44, 0, done), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => i2c.write(0x44, [1, 2] as unknown as Uint8Array, done), { name: 'HalError', code: 'invalid-argument' });
      assert.throws(() => i2c.read(0x44, 2, undefined as unknown as () => void), { name: 'HalError', code: 'invalid-argument' });
    });
  });
}
