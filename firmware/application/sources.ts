/**
 * The configured sources the scheduler samples: Modbus devices (through the field interfaces' poller, polled
 * on demand), I2C sensors (drivers from the build's `udt:drivers`) and pulse counters. A source's index is its
 * position in the configuration (Modbus devices, then sensors, then pulse inputs); its channels name its values.
 */
import type { Clock, HalError, I2c } from '../../hal/interfaces';
import type { FieldInterfaces } from '../config/field-interfaces';
import type { PollResult } from '../modbus/poller';
import type { SourceNaming } from './entries';
import type { TerminalConfig } from './settings';

export type SampleDone = (values: number[] | null, problem: string | null) => void;

export interface Source extends SourceNaming {
  index: number;
  /** Sampling period on mains, ms. */
  interval: number;
  /** Talks over a UART (RS485): the MCU must not deep-sleep while it samples (an STM32 would lose the answer). */
  usesUart: boolean;
  sample(done: SampleDone): void;
  /** False once the device stopped answering (lost), true again when it answers. */
  online(): boolean;
}

export interface SensorDriver {
  measure(done: (error: HalError | null, reading?: unknown) => void): void;
}

export type SensorDriverClass = new (i2c: I2c, clock: Clock, address?: number) => SensorDriver;

/** Channels and units of each sensor part's reading, in the order they are journaled. */
const sensorChannels: { [part: string]: Array<[string, string]> } = {
  SHT3x: [['temperature', 'Cel'], ['humidity', '%RH']],
  SHTC3: [['temperature', 'Cel'], ['humidity', '%RH']],
  BME280: [['temperature', 'Cel'], ['pressure', 'Pa'], ['humidity', '%RH']],
  LPS22HB: [['pressure', 'hPa'], ['temperature', 'Cel']],
  OPT3001: [['illuminance', 'lx']],
};

/** Sensors count as lost after this many failed samples in a row. */
const sensorLostAfter = 3;

function unavailable(index: number, name: string, kind: string, interval: number, problem: string): Source {
  return {
    index, name, kind, interval, channels: [], units: [], usesUart: false,
    sample: function (done) {
      done(null, problem);
    },
    online: function () {
      return false;
    },
  };
}

function modbusSource(index: number, field: FieldInterfaces, name: string, unitId: number, interval: number): Source {
  const poller = field.poller;
  const master = field.master;
  const blocks = poller ? poller.plan(name) : [];
  if (!poller || !master || blocks.length === 0) return unavailable(index, name, 'modbus', interval, 'modbus device ' + name + ' did not start');
  const channels: string[] = [];
  const units: Array<string | undefined> = [];
  for (let block = 0; block < blocks.length; block++) {
    for (let point = 0; point < blocks[block].points.length; point++) {
      channels.push(blocks[block].points[point].name);
      units.push(blocks[block].points[point].unit);
    }
  }
  return {
    index, name, kind: 'modbus', interval, channels, units, usesUart: true,
    sample: function (done) {
      const started = poller.pollNow(name, function (result: PollResult) {
        if (result.readings.length === 0) {
          done(null, result.errors.length > 0 ? String(result.errors[0]) : 'no answer');
          return;
        }
        const values: number[] = [];
        for (let channel = 0; channel < channels.length; channel++) values.push(NaN);
        for (let reading = 0; reading < result.readings.length; reading++) {
          const position = channels.indexOf(result.readings[reading].point);
          if (position >= 0) values[position] = result.readings[reading].value;
        }
        done(values, null);
      });
      if (!started) done(null, 'previous poll still running');
    },
    online: function () {
      return master.isOnline(unitId);
    },
  };
}

function sensorSource(index: number, name: string, part: string, driver: SensorDriver, interval: number): Source {
  const table = sensorChannels[part] || [['value', '']];
  const channels: string[] = [];
  const units: Array<string | undefined> = [];
  for (let channel = 0; channel < table.length; channel++) {
    channels.push(table[channel][0]);
    units.push(table[channel][1] || undefined);
  }
  let failures = 0;
  return {
    index, name, kind: 'sensor', interval, channels, units, usesUart: false,
    sample: function (done) {
      driver.measure(function (error, reading) {
        if (error || reading === undefined || reading === null) {
          failures++;
          done(null, error ? String(error) : 'no reading');
          return;
        }
        failures = 0;
        const values: number[] = [];
        for (let channel = 0; channel < channels.length; channel++) {
          const value = typeof reading === 'number' ? reading : (reading as { [key: string]: number })[channels[channel]];
          values.push(typeof value === 'number' ? value : NaN);
        }
        done(values, null);
      });
    },
    online: function () {
      return failures < sensorLostAfter;
    },
  };
}

export function buildSources(
  config: TerminalConfig,
  field: FieldInterfaces,
  i2c: I2c | null,
  clock: Clock,
  drivers: { [part: string]: unknown },
  pulseInterval: number,
): Source[] {
  const sources: Source[] = [];
  const devices = config.modbus && config.modbus.devices ? config.modbus.devices : [];
  for (let index = 0; index < devices.length; index++) {
    sources.push(modbusSource(sources.length, field, devices[index].name, devices[index].unitId, devices[index].interval));
  }
  const sensors = config.sensors || [];
  for (let index = 0; index < sensors.length; index++) {
    const sensor = sensors[index];
    const Driver = drivers[sensor.part] as SensorDriverClass | undefined;
    if (!i2c || !Driver) sources.push(unavailable(sources.length, sensor.name, 'sensor', sensor.interval, 'no driver or bus for ' + sensor.part));
    else sources.push(sensorSource(sources.length, sensor.name, sensor.part, new Driver(i2c, clock, sensor.address), sensor.interval));
  }
  const pulses = config.pulseInputs || [];
  for (let index = 0; index < pulses.length; index++) {
    const pulse = pulses[index];
    const counter = field.counters[pulse.name];
    if (!counter) {
      sources.push(unavailable(sources.length, pulse.name, 'pulse', pulseInterval, 'pulse input ' + pulse.name + ' did not start'));
      continue;
    }
    sources.push({
      index: sources.length, name: pulse.name, kind: 'pulse', interval: pulseInterval, channels: ['total'], units: [pulse.unit], usesUart: false,
      sample: function (done) {
        done([counter.value()], null);
      },
      online: function () {
        return true;
      },
    });
  }
  return sources;
}

/** Channel names per source name, for checking thresholds in a configuration before it is accepted. */
export function channelsByName(config: TerminalConfig): { [source: string]: string[] } {
  const result: { [source: string]: string[] } = {};
  const devices = config.modbus && config.modbus.devices ? config.modbus.devices : [];
  // Modbus channels come from the profile in Storage; unknown here, any channel name is accepted.
  for (let index = 0; index < devices.length; index++) result[devices[index].name] = devices[index].points || [];
  const sensors = config.sensors || [];
  for (let index = 0; index < sensors.length; index++) {
    const table = sensorChannels[sensors[index].part] || [];
    const names: string[] = [];
    for (let channel = 0; channel < table.length; channel++) names.push(table[channel][0]);
    result[sensors[index].name] = names;
  }
  const pulses = config.pulseInputs || [];
  for (let index = 0; index < pulses.length; index++) result[pulses[index].name] = ['total'];
  return result;
}
