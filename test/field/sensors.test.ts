import { strict as assert } from 'node:assert';
import type { HalError } from '../../hal/interfaces';
import type { Bme280Reading } from '../../firmware/sensors/bme280';
import type { PressureReading } from '../../firmware/sensors/lps22hb';
import type { HumidityReading } from '../../firmware/sensors/sensirion';
import { Bme280 } from '../../firmware/sensors/bme280';
import { scanI2cBus } from '../../firmware/sensors/bus-scan';
import { Lps22hb } from '../../firmware/sensors/lps22hb';
import { Opt3001 } from '../../firmware/sensors/opt3001';
import { Sht3x } from '../../firmware/sensors/sht3x';
import { Shtc3 } from '../../firmware/sensors/shtc3';
import { VirtualClock } from '../../simulator/clock';
import { Bme280 as Bme280Model } from '../../simulator/models/bme280';
import { Sht3x as Sht3xModel } from '../../simulator/models/sht3x';
import { VirtualClockHal } from '../support/wire-hal';
import { Lps22hbModel, ModelI2c, Opt3001Model, Shtc3Model, type ModelDevice } from './support/i2c';

function measure<T>(clock: VirtualClock, start: (done: (error: HalError | null, value?: T) => void) => void): { error: HalError | null; value?: T } {
  let outcome: { error: HalError | null; value?: T } | undefined;
  start((error, value) => (outcome = { error, value }));
  clock.runUntilIdle(5_000);
  assert.ok(outcome, 'no callback');
  return outcome;
}

describe('I2C sensor drivers', () => {
  const clock = new VirtualClock();
  const hal = new VirtualClockHal(clock);
  const i2c = new ModelI2c(clock);
  const sht3x = new Sht3xModel(clock, { address: 0x45, temperature: 23.4, humidity: 56.7 });
  const bme280 = new Bme280Model(clock, { address: 0x77, temperature: 18.25, pressure: 98765, humidity: 40.5 });
  const shtc3 = new Shtc3Model();
  const lps22hb = new Lps22hbModel();
  const opt3001 = new Opt3001Model();
  for (const device of [sht3x, bme280, shtc3, lps22hb, opt3001]) i2c.attach(device as unknown as ModelDevice);

  it('SHT3x: single shot, CRC checked, datasheet conversion', () => {
    const { error, value } = measure<HumidityReading>(clock, (done) => new Sht3x(i2c, hal, 0x45).measure(done));
    assert.equal(error, null);
    assert.ok(Math.abs(value!.temperature - 23.4) < 0.01 && Math.abs(value!.humidity - 56.7) < 0.01, JSON.stringify(value));
    sht3x.corruptCrc = true;
    assert.equal(measure(clock, (done) => new Sht3x(i2c, hal, 0x45).measure(done)).error?.code, 'io');
    sht3x.corruptCrc = false;
    assert.equal(measure(clock, (done) => new Sht3x(i2c, hal, 0x46).measure(done)).error?.code, 'nack', 'nobody at 0x46');
  });

  it('BME280: trimming, forced mode, section 8.1 compensation', () => {
    const { error, value } = measure<Bme280Reading>(clock, (done) => new Bme280(i2c, hal, 0x77).measure(done));
    assert.equal(error, null);
    assert.ok(Math.abs(value!.temperature - 18.25) < 0.01, `temperature ${value!.temperature}`);
    assert.ok(Math.abs(value!.pressure - 98765) < 2, `pressure ${value!.pressure}`);
    assert.ok(Math.abs(value!.humidity - 40.5) < 0.05, `humidity ${value!.humidity}`);
  });

  it('RAK5010 on-board sensors: SHTC3, LPS22HB, OPT3001', () => {
    const humidity = measure<HumidityReading>(clock, (done) => new Shtc3(i2c, hal).measure(done));
    assert.equal(humidity.error, null);
    assert.ok(Math.abs(humidity.value!.temperature - 22.25) < 0.01 && Math.abs(humidity.value!.humidity - 51.5) < 0.01);
    assert.equal(shtc3.asleep, true, 'put back to sleep');
    const pressure = measure<PressureReading>(clock, (done) => new Lps22hb(i2c, hal).measure(done));
    assert.equal(pressure.error, null);
    assert.ok(Math.abs(pressure.value!.pressure - 1013.25) < 0.001 && Math.abs(pressure.value!.temperature - 23.5) < 0.01);
    const light = measure<number>(clock, (done) => new Opt3001(i2c, hal).measure(done));
    assert.equal(light.error, null);
    assert.ok(Math.abs(light.value! - 1234.56) / 1234.56 < 0.002, `lux ${light.value}`);
  });

  it('refuses a part that is not what it claims to be', () => {
    assert.equal(measure(clock, (done) => new Lps22hb(i2c, hal, 0x77).measure(done)).error?.code, 'not-found');
    assert.equal(measure(clock, (done) => new Bme280(i2c, hal, 0x5c).measure(done)).error?.code, 'not-found');
  });

  it('scans the bus', () => {
    let found: number[] = [];
    scanI2cBus(i2c, (addresses) => (found = addresses));
    clock.runUntilIdle(5_000);
    // The simulator's SHT3x model NACKs an address-only write and a read while idle (a real SHT3x acknowledges
    // its address on write), so the scan cannot see it at 0x45; every other part answers.
    assert.deepEqual(found, [0x44, 0x5c, 0x70, 0x77]);
  });
});
