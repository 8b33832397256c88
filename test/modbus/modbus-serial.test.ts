/**
 * The master against a Modbus RTU slave this project did not write: modbus-serial's ServerSerial (npm), put on
 * the virtual RS485 bus through a serialport binding, unmodified. Virtual time waits for its real-time answers.
 */
import { strict as assert } from 'node:assert';
import { ServerSerial } from 'modbus-serial';
import type { ModbusError } from '../../firmware/modbus/errors';
import type { ModbusResponse } from '../../firmware/modbus/frame';
import { ModbusMaster } from '../../firmware/modbus/master';
import { decodePoint } from '../../firmware/modbus/points';
import { VirtualClock } from '../../simulator/clock';
import { Rs485Bus } from '../../simulator/wire';
import { BusRs485, VirtualClockHal } from '../support/wire-hal';
import { virtualBusBinding } from '../support/virtual-serial-binding';

describe('Modbus master against modbus-serial ServerSerial (a slave written elsewhere)', function () {
  this.timeout(30_000);
  const holding = new Map<number, number>();
  const coils = new Map<number, boolean>();
  let server: { close(callback?: () => void): void } | null = null;

  afterEach(async () => {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
  });

  it('reads and writes registers and coils with every function code', async () => {
    const clock = new VirtualClock();
    const bus = new Rs485Bus(clock, { baudRate: 9600, parity: 'none', stopBits: 1 });
    const master = new ModbusMaster(BusRs485.attach(clock, bus, 'terminal'), new VirtualClockHal(clock), { responseTimeout: 200, retries: 1 });
    // 230.5 V as float32 ABCD at 0/1, -1234 s16 at 2, 3000000000 u32 with the low word first at 3/4.
    [0x4366, 0x8000, 0xfb2e, 0x5e00, 0xb2d0].forEach((word, address) => holding.set(address, word));
    coils.set(1, true);
    const vector = {
      getHoldingRegister: (address: number) => holding.get(address) ?? 0,
      getInputRegister: (address: number) => 1000 + address,
      getCoil: (address: number) => coils.get(address) ?? false,
      getDiscreteInput: (address: number) => address % 2 === 0,
      setRegister: (address: number, value: number) => void holding.set(address, value),
      setCoil: (address: number, value: boolean) => void coils.set(address, value),
    };
    const binding = virtualBusBinding(bus.attach('modbus-serial'), clock);
    server = new ServerSerial(vector, { path: 'virtual-rs485', baudRate: 9600, unitID: 17, interval: 5, binding } as never) as never;
    await new Promise((resolve) => setTimeout(resolve, 20));

    const call = async (start: (done: (error: ModbusError | null, response?: ModbusResponse) => void) => void) => {
      let outcome: { error: ModbusError | null; response?: ModbusResponse } | undefined;
      start((error, response) => (outcome = { error, response }));
      for (let step = 0; step < 200 && !outcome; step++) await clock.runWithRealIo(clock.now() + 50);
      assert.ok(outcome, 'no outcome');
      return outcome;
    };

    const registers = await call((done) => master.readHoldingRegisters(17, 0, 5, done));
    assert.equal(registers.error, null, String(registers.error));
    const bytes = registers.response!.registerBytes!;
    assert.equal(decodePoint({ name: 'v', table: 'holding', address: 0, type: 'float32' }, bytes, 0), 230.5);
    assert.equal(decodePoint({ name: 's', table: 'holding', address: 2, type: 's16' }, bytes, 0), -1234);
    assert.equal(decodePoint({ name: 'u', table: 'holding', address: 3, type: 'u32', wordOrder: 'little' }, bytes, 0), 3_000_000_000);

    const input = await call((done) => master.readInputRegisters(17, 7, 2, done));
    assert.deepEqual([...input.response!.registerBytes!], [0x03, 0xef, 0x03, 0xf0]);
    const coilRead = await call((done) => master.readCoils(17, 0, 3, done));
    assert.deepEqual(coilRead.response!.bits, [0, 1, 0]);
    const discrete = await call((done) => master.readDiscreteInputs(17, 0, 4, done));
    assert.deepEqual(discrete.response!.bits, [1, 0, 1, 0]);

    assert.equal((await call((done) => master.writeSingleRegister(17, 10, 0xbeef, done))).error, null);
    assert.equal(holding.get(10), 0xbeef);
    assert.equal((await call((done) => master.writeMultipleRegisters(17, 20, [1, 2, 3], done))).error, null);
    assert.deepEqual([holding.get(20), holding.get(21), holding.get(22)], [1, 2, 3]);
    assert.equal((await call((done) => master.writeSingleCoil(17, 5, true, done))).error, null);
    assert.equal(coils.get(5), true);
    assert.equal((await call((done) => master.writeMultipleCoils(17, 8, [true, false, true], done))).error, null);
    assert.deepEqual([coils.get(8), coils.get(9), coils.get(10)], [true, false, true]);

    // A unit id it does not serve: no answer, and the master times out and counts it.
    const other = await call((done) => master.readHoldingRegisters(18, 0, 1, done));
    assert.equal(other.error?.code, 'timeout');
    assert.equal(master.counters(17).answered, 8);
  });
});
