/**
 * Wiring of the field interfaces from a validated device configuration: the Modbus poller, pulse counters,
 * event inputs, relays and the UART passthrough, over the board's hal objects. The application calls
 * `startFieldInterfaces` at boot and gets the running parts back; readings and events come out through
 * the handlers. Nothing here schedules uplinks or journals: that is the application's job.
 */
import type { BoardIo, Rs485Options } from '../../hal/interfaces';
import type { ModbusMaster } from '../modbus/master';
import type { ModbusPoller, PollResult, PollerDevice } from '../modbus/poller';
import { bytesToText, profileFileName, type Profile } from '../modbus/profile';
import { modbusTiming, modbusCharacterTime } from '../modbus/timing';
import type { InputMonitor, InputEvent } from '../gpio/input-monitor';
import type { PulseCounter } from '../gpio/pulse-counter';
import type { Relay } from '../gpio/relay';
import type { UartPassthrough } from '../passthrough/uart-passthrough';
import type { DeviceConfig } from './types';

/**
 * The field parts this firmware build carries. The build puts in only what the device configuration uses
 * (firmware/build/catalog.ts, `udt:drivers`): every part left out is flash the board keeps for data. A
 * configuration that needs a part the build lacks is refused (`missingFieldParts`).
 */
export interface FieldParts {
  modbus: { master: typeof ModbusMaster; poller: typeof ModbusPoller } | null;
  pulseCounter: typeof PulseCounter | null;
  inputMonitor: typeof InputMonitor | null;
  relay: typeof Relay | null;
  passthrough: typeof UartPassthrough | null;
}

/** The parts `config` needs that this build lacks, as a refusal reason, or null. */
export function missingFieldParts(config: DeviceConfig, parts: FieldParts): string | null {
  const missing: string[] = [];
  if (config.modbus && config.modbus.devices && config.modbus.devices.length > 0 && !parts.modbus) missing.push('modbus');
  if (config.pulseInputs && config.pulseInputs.length > 0 && !parts.pulseCounter) missing.push('pulseInputs');
  if (config.digitalInputs && config.digitalInputs.length > 0 && !parts.inputMonitor) missing.push('digitalInputs');
  if (config.relays && config.relays.length > 0 && !parts.relay) missing.push('relays');
  if (config.passthrough && config.passthrough.enabled && !parts.passthrough) missing.push('passthrough');
  return missing.length > 0 ? 'not in this firmware build: ' + missing.join(', ') + ' (flash a build made with this configuration)' : null;
}

/** Sensors of `config` whose driver this build lacks (udt:drivers sensorDrivers), as a refusal reason, or null. */
export function missingSensorDrivers(config: DeviceConfig, drivers: { [part: string]: unknown }): string | null {
  const sensors = config.sensors || [];
  const missing: string[] = [];
  for (let index = 0; index < sensors.length; index++) {
    const part = sensors[index].part;
    if (!drivers[part] && missing.indexOf(part) < 0) missing.push(part);
  }
  return missing.length > 0 ? 'not in this firmware build: sensor driver ' + missing.join(', ') + ' (flash a build made with this configuration)' : null;
}

export interface FieldHandlers {
  onModbusResult?: (result: PollResult) => void;
  onInputEvent?: (event: InputEvent) => void;
  onPassthroughData?: (data: Uint8Array, time: number) => void;
  /** A part that could not start (unknown profile, missing input...). The rest still starts. */
  onProblem?: (part: string, message: string) => void;
}

export interface FieldInterfaces {
  master: ModbusMaster | null;
  poller: ModbusPoller | null;
  counters: { [name: string]: PulseCounter };
  inputs: { [name: string]: InputMonitor };
  relays: { [name: string]: Relay };
  passthrough: UartPassthrough | null;
  /** Save every pulse counter now (AC loss, planned reboot). */
  flush(): void;
  stop(): void;
}

type ConfigurableRs485 = { configure?: (options: Partial<Rs485Options>) => void };

/** A profile from Storage (`mp.<id>`), or from `builtIn` when given. */
export function loadProfile(io: BoardIo, id: string, builtIn?: { [id: string]: Profile }): Profile | null {
  if (builtIn && builtIn[id]) return builtIn[id];
  const bytes = io.storage.read(profileFileName(id));
  if (!bytes) return null;
  try {
    return JSON.parse(bytesToText(bytes)) as Profile;
  } catch (error) {
    return null;
  }
}

export function startFieldInterfaces(
  io: BoardIo,
  config: DeviceConfig,
  parts: FieldParts,
  handlers: FieldHandlers,
  builtInProfiles?: { [id: string]: Profile },
): FieldInterfaces {
  const problem = (part: string, message: string): void => {
    if (handlers.onProblem) handlers.onProblem(part, message);
  };
  const result: FieldInterfaces = {
    master: null,
    poller: null,
    counters: {},
    inputs: {},
    relays: {},
    passthrough: null,
    flush: function () {
      const names = Object.keys(result.counters);
      for (let index = 0; index < names.length; index++) result.counters[names[index]].flush();
    },
    stop: function () {
      if (result.poller) result.poller.stop();
      if (result.master) result.master.stop();
      const names = Object.keys(result.counters);
      for (let index = 0; index < names.length; index++) result.counters[names[index]].stop();
      const inputs = Object.keys(result.inputs);
      for (let index = 0; index < inputs.length; index++) result.inputs[inputs[index]].stop();
      if (result.passthrough) result.passthrough.stop();
    },
  };

  const modbus = config.modbus;
  const missing = missingFieldParts(config, parts);
  if (missing) problem('firmware', missing);
  const modbusParts = parts.modbus;
  if (modbusParts && modbus && modbus.devices && modbus.devices.length > 0) {
    if (!io.rs485) {
      problem('modbus', 'this board has no RS485 port');
    } else {
      const bus = modbus.bus || {};
      const port = io.rs485 as typeof io.rs485 & ConfigurableRs485;
      const baudRate = bus.baudRate || port.options.baudRate;
      const timing = modbusTiming(baudRate, modbusCharacterTime(baudRate, bus.parity || 'none', bus.stopBits || 1));
      if (typeof port.configure === 'function') {
        port.configure({
          baudRate,
          parity: bus.parity || 'none',
          stopBits: bus.stopBits || 1,
          preTransmitDelay: timing.preTransmitDelay,
          postTransmitDelay: timing.postTransmitDelay,
        });
      }
      const master = new modbusParts.master(io.rs485, io.clock, { responseTimeout: bus.responseTimeout, retries: bus.retries, offlineAfter: bus.offlineAfter });
      const devices: PollerDevice[] = [];
      for (let index = 0; index < modbus.devices.length; index++) {
        const device = modbus.devices[index];
        const profile = loadProfile(io, device.profile, builtInProfiles);
        if (!profile) {
          problem('modbus:' + device.name, 'profile ' + device.profile + ' not found');
          continue;
        }
        devices.push({
          name: device.name,
          unitId: device.unitId,
          profile,
          interval: device.interval,
          points: device.points,
          offlineInterval: device.offlineInterval,
          responseTimeout: device.responseTimeout,
          retries: device.retries,
        });
      }
      result.master = master;
      result.poller = new modbusParts.poller(master, io.clock, devices, function (pollResult) {
        if (handlers.onModbusResult) handlers.onModbusResult(pollResult);
      });
      result.poller.start();
    }
  }

  const PulseCounterPart = parts.pulseCounter;
  const pulses = config.pulseInputs || [];
  if (PulseCounterPart) {
    for (let index = 0; index < pulses.length; index++) {
      const pulse = pulses[index];
      const input = io.digitalInputs[pulse.input];
      if (!input) {
        problem('pulse:' + pulse.name, 'board has no input ' + pulse.input);
        continue;
      }
      const counter = new PulseCounterPart(input, io.storage, io.clock, pulse);
      counter.start();
      result.counters[pulse.name] = counter;
    }
  }

  const InputMonitorPart = parts.inputMonitor;
  const inputs = config.digitalInputs || [];
  if (InputMonitorPart) {
    for (let index = 0; index < inputs.length; index++) {
      const definition = inputs[index];
      const input = io.digitalInputs[definition.input];
      if (!input) {
        problem('input:' + definition.name, 'board has no input ' + definition.input);
        continue;
      }
      const monitor = new InputMonitorPart(input, io.clock, definition, function (event) {
        if (handlers.onInputEvent) handlers.onInputEvent(event);
      });
      monitor.start();
      result.inputs[definition.name] = monitor;
    }
  }

  const RelayPart = parts.relay;
  const relays = config.relays || [];
  if (RelayPart) {
    for (let index = 0; index < relays.length; index++) {
      const definition = relays[index];
      const output = io.digitalOutputs[definition.output];
      if (!output) {
        problem('relay:' + definition.name, 'board has no output ' + definition.output);
        continue;
      }
      const relay = new RelayPart(output, io.storage, definition);
      relay.start();
      result.relays[definition.name] = relay;
    }
  }

  if (io.acPresent) {
    // Mains gone: the hold-up capacitors give enough time for one record per counter.
    io.acPresent.watch('falling', function () {
      const names = Object.keys(result.counters);
      for (let index = 0; index < names.length; index++) result.counters[names[index]].powerFailing();
    });
  }

  const passthrough = config.passthrough;
  const PassthroughPart = parts.passthrough;
  if (PassthroughPart && passthrough && passthrough.enabled) {
    if (!io.auxiliarySerial) {
      problem('passthrough', 'this board has no spare UART');
    } else {
      result.passthrough = new PassthroughPart(io.auxiliarySerial, io.clock, passthrough, function (data, time) {
        if (handlers.onPassthroughData) handlers.onPassthroughData(data, time);
      });
      result.passthrough.start();
    }
  }
  return result;
}
