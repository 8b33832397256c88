/**
 * Device models on the virtual board, driven through hal/espruino where the firmware would use them:
 * BME280 read back with the datasheet's integer compensation, pulses with contact bounce counted exactly by a
 * debounced watch, switch, relay with coil current, AC supply and the battery draining to a brown-out.
 */
import assert from 'node:assert/strict';
import { EspruinoDigitalInput } from '../../hal/espruino/digital';
import type { EspruinoClock } from '../../hal/espruino/clock';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { AcSupply } from '../../simulator/models/ac-supply';
import { Battery } from '../../simulator/models/battery';
import { Bme280, bme280Calibration } from '../../simulator/models/bme280';
import { PulseSource } from '../../simulator/models/pulse-source';
import { Relay } from '../../simulator/models/relay';
import { Switch } from '../../simulator/models/switch';
import { createRig } from '../hal/rig';

/** BME280 datasheet 4.2.3, 32-bit integer compensation (what a driver on the board computes). */
function bme280Integer(adcT: number, adcP: number, adcH: number): { celsius: number; pascal: number; humidity: number } {
  const c = bme280Calibration;
  const var1 = (((adcT >> 3) - (c.T1 << 1)) * c.T2) >> 11;
  const var2 = (((((adcT >> 4) - c.T1) * ((adcT >> 4) - c.T1)) >> 12) * c.T3) >> 14;
  const tFine = var1 + var2;
  const celsius = ((tFine * 5 + 128) >> 8) / 100;
  // Pressure, 64-bit version, with BigInt.
  let p1 = BigInt(tFine) - 128000n;
  let p2 = p1 * p1 * BigInt(c.P6);
  p2 = p2 + ((p1 * BigInt(c.P5)) << 17n);
  p2 = p2 + (BigInt(c.P4) << 35n);
  p1 = ((p1 * p1 * BigInt(c.P3)) >> 8n) + ((p1 * BigInt(c.P2)) << 12n);
  p1 = (((1n << 47n) + p1) * BigInt(c.P1)) >> 33n;
  let p = 1048576n - BigInt(adcP);
  p = (((p << 31n) - p2) * 3125n) / p1;
  p1 = (BigInt(c.P9) * (p >> 13n) * (p >> 13n)) >> 25n;
  p2 = (BigInt(c.P8) * p) >> 19n;
  p = ((p + p1 + p2) >> 8n) + (BigInt(c.P7) << 4n);
  const pascal = Number(p) / 256;
  let h = tFine - 76800;
  h = ((((adcH << 14) - (c.H4 << 20) - c.H5 * h + 16384) >> 15) *
    (((((((h * c.H6) >> 10) * (((h * c.H3) >> 11) + 32768)) >> 10) + 2097152) * c.H2 + 8192) >> 14));
  h = h - (((((h >> 15) * (h >> 15)) >> 7) * c.H1) >> 4);
  h = Math.min(Math.max(h, 0), 419430400);
  return { celsius, pascal, humidity: (h >> 12) / 1024 };
}

describe('device models', () => {
  it('BME280: id, forced measurement, data read back within the integer formulas\' resolution', () => {
    const rig = createRig('pico-bc66');
    const sensor = new Bme280(rig.board.clock, { address: 0x76, temperature: 23.4, pressure: 98765, humidity: 37.5, energy: rig.board.energy });
    rig.board.i2cBus()!.attach(sensor);
    const i2c = rig.io.i2c!;
    let id = 0;
    let data: Uint8Array | undefined;
    i2c.writeRead(0x76, Uint8Array.from([0xd0]), 1, (_error, bytes) => (id = bytes![0]!));
    i2c.write(0x76, Uint8Array.from([0xf2, 0x01, 0xf4, 0x25]), () => {}); // osrs_h x1, osrs_t x1, osrs_p x1, forced
    rig.run(20);
    assert.equal(id, 0x60);
    assert.ok(sensor.measurementMilliseconds() < 10);
    i2c.writeRead(0x76, Uint8Array.from([0xf7]), 8, (_error, bytes) => (data = bytes));
    rig.run(5);
    const d = Array.from(data!);
    const adcP = (d[0]! << 12) | (d[1]! << 4) | (d[2]! >> 4);
    const adcT = (d[3]! << 12) | (d[4]! << 4) | (d[5]! >> 4);
    const adcH = (d[6]! << 8) | d[7]!;
    const values = bme280Integer(adcT, adcP, adcH);
    assert.ok(Math.abs(values.celsius - 23.4) <= 0.01, `T ${values.celsius}`);
    assert.ok(Math.abs(values.pascal - 98765) <= 1, `P ${values.pascal}`);
    assert.ok(Math.abs(values.humidity - 37.5) <= 0.1, `H ${values.humidity}`);
    assert.equal(sensor.measurements, 1);
    assert.ok(rig.board.energy.report().consumers['BME280@0x76']! > 0);
  });

  it('pulse source with contact bounce: a 20 ms debounced input counts every pulse exactly once', () => {
    const rig = createRig('pico-bc66');
    const clock = rig.io.clock as EspruinoClock;
    const source = new PulseSource(rig.board.clock, rig.board.gpio, { pin: 'B13', pulseWidthMs: 80, bounce: { count: 3, intervalMs: 1 } });
    const debounced = new EspruinoDigitalInput(rig.api, clock, 'B13', { pull: 'up', debounce: 20 });
    const raw = new EspruinoDigitalInput(rig.api, clock, 'B13', { pull: 'up' });
    let counted = 0;
    let rawEdges = 0;
    debounced.watch('falling', () => counted++);
    raw.watch('falling', () => rawEdges++);
    source.start(2);
    rig.run(60_000);
    source.stop();
    rig.run(1000);
    assert.equal(source.pulses, 120);
    assert.equal(counted, 120);
    assert.ok(rawEdges > counted * 3, `without debounce the bounces count too (${rawEdges})`);
  });

  it('switch: a door contact read through the pull-up, with bounce filtered', () => {
    const rig = createRig('pico-bc66');
    const door = new Switch(rig.board.clock, rig.board.gpio, { pin: 'B15', bounce: { count: 2, intervalMs: 2 } });
    const input = rig.io.digitalInputs.door!;
    assert.equal(input.read(), true, 'open contact reads high through the pull-up');
    door.set(true);
    rig.run(50);
    assert.equal(input.read(), false);
    assert.equal(door.closed, true);
  });

  it('relay: follows the output after its operate time and draws coil current while energized', () => {
    const rig = createRig('pico-bc66');
    const relay = new Relay(rig.board.clock, rig.board.gpio, { pin: 'A5', operateMs: 8, coilMilliamps: 35 }, rig.board.energy);
    rig.io.digitalOutputs.relay1!.write(true);
    rig.run(5);
    assert.equal(relay.contactClosed, false);
    rig.run(5);
    assert.equal(relay.contactClosed, true);
    rig.run(3_600_000);
    rig.io.digitalOutputs.relay1!.write(false);
    rig.run(20);
    assert.equal(relay.contactClosed, false);
    assert.equal(relay.operations, 2);
    const coil = rig.board.energy.report().consumers['relay@A5']!;
    assert.ok(Math.abs(coil - 35) < 0.1, `coil drew ${coil} mAh in an hour`);
  });

  it('AC supply drives the AC-sense input; the battery carries the board, drains, browns out, and mains brings it back', () => {
    const board = new VirtualBoard(loadBoard('pico-bc66'));
    const ac = new AcSupply(board, true);
    const battery = new Battery(board, { capacityMilliampHours: 50, chargeMilliamps: 100 });
    board.boot('setInterval(function () {}, 1000);');
    board.clock.advance(1000);
    assert.equal(board.gpio.read('A6'), true, 'AC sense high with mains present');
    ac.set(false);
    assert.equal(board.gpio.read('A6'), false);
    assert.equal(board.powerState, 'on', 'the battery takes over');
    // The Pico idles at 11 mA without deep sleep: 50 mAh last about 4 hours before the voltage falls below cut-off.
    board.clock.advance(2 * 3_600_000);
    assert.equal(board.powerState, 'on');
    const volts = battery.terminalVolts();
    const adc = board.gpio.analogRead('A1');
    assert.ok(Math.abs(adc * 3.3 * 2 - volts) < 0.01, 'the ADC sees the battery through the divider');
    board.clock.advance(6 * 3_600_000);
    assert.equal(board.powerState, 'off', 'browned out');
    assert.ok(battery.drawn > 40 && battery.drawn <= 50, `drew ${battery.drawn} mAh`);
    ac.set(true);
    board.clock.advance(1000);
    assert.equal(board.powerState, 'on', 'mains returns: the board boots again');
    assert.equal(board.counters.boots, 2);
  });
});
