import { strict as assert } from 'node:assert';
import type { ModbusError } from '../../firmware/modbus/errors';
import type { ModbusResponse } from '../../firmware/modbus/frame';
import { ModbusMaster, type MasterOptions } from '../../firmware/modbus/master';
import { modbusTiming } from '../../firmware/modbus/timing';
import { VirtualClock } from '../../simulator/clock';
import { ModbusSlaveModel } from '../../simulator/models/modbus-slave';
import { characterTimeMs, Rs485Bus } from '../../simulator/wire';
import { BusRs485, VirtualClockHal } from '../support/wire-hal';

interface Outcome {
  error: ModbusError | null;
  response?: ModbusResponse;
  at: number;
}

function setup(baudRate = 9600, options: MasterOptions = { responseTimeout: 200, retries: 2 }) {
  const clock = new VirtualClock();
  const bus = new Rs485Bus(clock, { baudRate, parity: 'even', stopBits: 1 });
  const timing = modbusTiming(baudRate, characterTimeMs(bus.settings));
  const port = BusRs485.attach(clock, bus, 'master', { preTransmitDelay: timing.preTransmitDelay, postTransmitDelay: timing.postTransmitDelay });
  const master = new ModbusMaster(port, new VirtualClockHal(clock), options);
  const run = (start: (done: (error: ModbusError | null, response?: ModbusResponse) => void) => void): Outcome => {
    let outcome: Outcome | undefined;
    start((error, response) => {
      outcome = { error, response, at: clock.now() };
    });
    clock.runUntilIdle(60_000);
    assert.ok(outcome, 'the callback never ran');
    return outcome;
  };
  return { clock, bus, master, run };
}

describe('Modbus master against the independent slave model', () => {
  it('reads and writes with every function code', () => {
    const { clock, bus, master, run } = setup();
    const slave = new ModbusSlaveModel(clock, bus, 7);
    slave.holdingRegisters.set(10, 0x1234).set(11, 0xabcd);
    slave.inputRegisters.set(0, 0x4366).set(1, 0x0000);
    slave.coils.set(3, true).set(5, true);
    slave.discreteInputs.set(0, true);

    assert.deepEqual([...run((done) => master.readHoldingRegisters(7, 10, 2, done)).response!.registerBytes!], [0x12, 0x34, 0xab, 0xcd]);
    assert.deepEqual([...run((done) => master.readInputRegisters(7, 0, 2, done)).response!.registerBytes!], [0x43, 0x66, 0, 0]);
    assert.deepEqual(run((done) => master.readCoils(7, 0, 9, done)).response!.bits, [0, 0, 0, 1, 0, 1, 0, 0, 0]);
    assert.deepEqual(run((done) => master.readDiscreteInputs(7, 0, 2, done)).response!.bits, [1, 0]);

    assert.equal(run((done) => master.writeSingleCoil(7, 100, true, done)).error, null);
    assert.equal(slave.coils.get(100), true);
    assert.equal(run((done) => master.writeSingleRegister(7, 200, 0xbeef, done)).error, null);
    assert.equal(slave.holdingRegisters.get(200), 0xbeef);
    assert.equal(run((done) => master.writeMultipleCoils(7, 20, [true, false, true, true, false, false, true, true, true], done)).error, null);
    assert.deepEqual([20, 21, 22, 23, 28].map((address) => slave.coils.get(address)), [true, false, true, true, true]);
    assert.equal(run((done) => master.writeMultipleRegisters(7, 300, [1, 2, 65535], done)).error, null);
    assert.deepEqual([300, 301, 302].map((address) => slave.holdingRegisters.get(address)), [1, 2, 65535]);
    const counters = master.counters(7);
    assert.equal(counters.answered, 8);
    assert.equal(counters.retries, 0);
  });

  it('keeps t3.5 of silence before every request and drives DE only around its frames', () => {
    for (const baudRate of [2400, 9600, 38400]) {
      const { clock, bus, master, run } = setup(baudRate);
      const slave = new ModbusSlaveModel(clock, bus, 1);
      slave.answerDelay = 0.5;
      const characterTime = characterTimeMs(bus.settings);
      const frames: Array<{ start: number; end: number; from: string }> = [];
      const sniffer = bus.attach('sniffer');
      sniffer.onData((data) => frames.push({ start: clock.now() - data.length * characterTime, end: clock.now(), from: data[1]! === 3 && data.length === 8 ? 'master' : 'slave' }));
      for (let index = 0; index < 5; index++) assert.equal(run((done) => master.readHoldingRegisters(1, index, 2, done)).error, null);
      const expectedSilence = baudRate > 19200 ? 1.75 : 3.5 * characterTime;
      assert.equal(master.timing.interFrameDelay, expectedSilence);
      for (let index = 1; index < frames.length; index++) {
        if (frames[index]!.from !== 'master') continue;
        const gap = frames[index]!.start - frames[index - 1]!.end;
        assert.ok(gap >= expectedSilence - 1e-9, `${baudRate} baud: only ${gap.toFixed(3)} ms of silence before request ${index}`);
      }
      assert.equal(frames.length, 10, `${baudRate} baud: every answer arrived (the master's DE was down in time)`);
      assert.equal(bus.collisions, 0);
    }
  });

  const faults: Array<[string, ConstructorParameters<typeof Object>[0], string, keyof ReturnType<ModbusMaster['counters']>]> = [
    ['no answer', { kind: 'no-answer' }, 'timeout', 'timeouts'],
    ['bad CRC', { kind: 'bad-crc' }, 'crc', 'crcErrors'],
    ['wrong unit id', { kind: 'wrong-unit', answerAs: 9 }, 'wrong-unit', 'wrongUnit'],
    ['short frame', { kind: 'short-frame', keepBytes: 5 }, 'short-frame', 'shortFrames'],
    ['slow answer', { kind: 'slow', delay: 700 }, 'timeout', 'timeouts'],
  ];
  for (const [label, fault, code, counter] of faults) {
    it(`retries, then reports a slave with a fault: ${label}`, () => {
      const { clock, bus, master, run } = setup();
      const faulty = new ModbusSlaveModel(clock, bus, 2);
      faulty.fault = fault;
      const healthy = new ModbusSlaveModel(clock, bus, 3);
      healthy.holdingRegisters.set(0, 42);
      const outcome = run((done) => master.readHoldingRegisters(2, 0, 1, done));
      assert.equal(outcome.error?.code, code);
      assert.equal(outcome.error?.unitId, 2);
      assert.equal(outcome.error?.address, 0);
      const counters = master.counters(2);
      assert.equal(counters[counter], 3, `${String(counter)} counted once per attempt`);
      assert.equal(counters.retries, 2);
      assert.equal(counters.failed, 1);
      // Three attempts, each bounded by the response timeout plus the frame times.
      assert.ok(outcome.at < 3 * (200 + 30), `gave up after ${outcome.at} ms`);
      // The next slave is answered normally, even with late answers from the faulty one on the line.
      const next = run((done) => master.readHoldingRegisters(3, 0, 1, done));
      assert.equal(next.error, null, `healthy slave after '${label}': ${next.error}`);
      assert.deepEqual([...next.response!.registerBytes!], [0, 42]);
    });
  }

  it('passes exception answers on without retrying them', () => {
    const { clock, bus, master, run } = setup();
    const slave = new ModbusSlaveModel(clock, bus, 4);
    slave.fault = { kind: 'exception', exceptionCode: 2 };
    const outcome = run((done) => master.readInputRegisters(4, 0x48, 2, done));
    assert.equal(outcome.error?.code, 'exception');
    assert.equal(outcome.error?.exceptionCode, 2);
    assert.equal(master.counters(4).exceptions, 1);
    assert.equal(master.counters(4).retries, 0);
    assert.equal(master.isOnline(4), true, 'an exception is an answer: the slave is there');
    slave.fault = { kind: 'none' };
    slave.maximumReadRegisters = 10;
    assert.equal(run((done) => master.readInputRegisters(4, 0, 11, done)).error?.exceptionCode, 3);
  });

  it('accepts a slow answer that comes within the response timeout', () => {
    const { clock, bus, master, run } = setup();
    const slave = new ModbusSlaveModel(clock, bus, 6);
    slave.fault = { kind: 'slow', delay: 150 };
    slave.holdingRegisters.set(0, 7);
    const outcome = run((done) => master.readHoldingRegisters(6, 0, 1, done));
    assert.equal(outcome.error, null);
    assert.equal(master.counters(6).retries, 0);
  });

  it('takes a late answer that arrives during the retry of the same request as its answer', () => {
    const { clock, bus, master, run } = setup();
    const slave = new ModbusSlaveModel(clock, bus, 6);
    slave.fault = { kind: 'slow', delay: 300 };
    slave.holdingRegisters.set(0, 7);
    const outcome = run((done) => master.readHoldingRegisters(6, 0, 1, done));
    assert.equal(outcome.error, null);
    assert.deepEqual([...outcome.response!.registerBytes!], [0, 7]);
    assert.equal(master.counters(6).timeouts, 1);
  });

  it('marks a dead slave offline and then spends a single attempt on it', () => {
    const { clock, bus, master, run } = setup(9600, { responseTimeout: 100, retries: 2, offlineAfter: 2 });
    const slave = new ModbusSlaveModel(clock, bus, 8);
    slave.fault = { kind: 'no-answer' };
    run((done) => master.readHoldingRegisters(8, 0, 1, done));
    assert.equal(master.isOnline(8), true);
    run((done) => master.readHoldingRegisters(8, 0, 1, done));
    assert.equal(master.isOnline(8), false);
    const before = master.counters(8).attempts;
    const start = clock.now();
    const outcome = run((done) => master.readHoldingRegisters(8, 0, 1, done));
    assert.equal(master.counters(8).attempts - before, 1);
    assert.ok(outcome.at - start < 130);
    slave.fault = { kind: 'none' };
    assert.equal(run((done) => master.readHoldingRegisters(8, 0, 1, done)).error, null);
    assert.equal(master.isOnline(8), true, 'back online after it answers');
  });

  it('broadcasts writes without waiting for an answer', () => {
    const { clock, bus, master, run } = setup();
    const slaves = [new ModbusSlaveModel(clock, bus, 1), new ModbusSlaveModel(clock, bus, 2)];
    const outcome = run((done) => master.writeSingleRegister(0, 5, 99, done));
    assert.equal(outcome.error, null);
    for (const slave of slaves) assert.equal(slave.holdingRegisters.get(5), 99);
  });

  it('rejects invalid requests asynchronously and fails queued ones when stopped', () => {
    const { clock, bus, master } = setup();
    new ModbusSlaveModel(clock, bus, 1);
    let invalid: ModbusError | null = null;
    master.readHoldingRegisters(1, 0, 200, (error) => (invalid = error));
    assert.equal(invalid, null, 'not called synchronously');
    const cancelled: string[] = [];
    master.readHoldingRegisters(1, 0, 1, (error) => cancelled.push(String(error?.code)));
    master.readHoldingRegisters(1, 1, 1, (error) => cancelled.push(String(error?.code)));
    master.stop();
    clock.runUntilIdle(1000);
    assert.equal((invalid as ModbusError | null)?.code, 'invalid-request');
    assert.deepEqual(cancelled, ['cancelled', 'cancelled']);
  });

  it('ignores garbage on the line between transactions', () => {
    const { clock, bus, master, run } = setup();
    const slave = new ModbusSlaveModel(clock, bus, 1);
    slave.holdingRegisters.set(0, 1);
    const noise = bus.attach('noise');
    noise.write(Uint8Array.of(0xff, 0x00, 0x13));
    clock.runUntilIdle(100);
    assert.equal(master.bus.strayBytes, 3);
    assert.equal(run((done) => master.readHoldingRegisters(1, 0, 1, done)).error, null);
  });
});
