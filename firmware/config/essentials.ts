/**
 * The terminal-side check of a device configuration received over the air or read from Storage. The full
 * JSON Schema check (config.schema.json, ajv) runs on the Node side before a config is ever sent; this ES5
 * check covers what would make the terminal misbehave: wrong types, out-of-range numbers, duplicate names or
 * unit ids, and references to inputs and outputs the board does not have. The first problem found is
 * returned as "path: reason"; the terminal then keeps its last good config.
 */
import type { BoardDefinition } from '../../hal/board';

export interface ConfigProblem {
  path: string;
  message: string;
}

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integerIn(value: unknown, minimum: number, maximum: number): boolean {
  return typeof value === 'number' && value === Math.floor(value) && value >= minimum && value <= maximum;
}

// Espruino's RegExp has no {n,m} counts: check the length separately.
const namePattern = /^[a-z][a-z0-9_]*$/;

export function checkConfigEssentials(config: unknown, board?: BoardDefinition | null): ConfigProblem | null {
  if (!isObject(config)) return { path: '', message: 'config must be an object' };
  if (config.version !== 1) return { path: '/version', message: 'must be 1' };
  const names: { [name: string]: string } = {};
  const usedInputs: { [input: string]: string } = {};
  const boardInputs: { [name: string]: boolean } = {};
  const boardOutputs: { [name: string]: boolean } = {};
  if (board) {
    for (let index = 0; index < board.digitalInputs.length; index++) boardInputs[board.digitalInputs[index].name] = true;
    for (let index = 0; index < board.digitalOutputs.length; index++) boardOutputs[board.digitalOutputs[index].name] = true;
  }
  const checkName = (item: Json, path: string): ConfigProblem | null => {
    if (typeof item.name !== 'string' || item.name.length > 24 || !namePattern.test(item.name)) return { path: path + '/name', message: 'must be a lower-case identifier of at most 24 characters' };
    if (names[item.name]) return { path: path + '/name', message: 'duplicate name "' + item.name + '" (also at ' + names[item.name] + ')' };
    names[item.name] = path;
    return null;
  };
  const list = (key: string): unknown[] | ConfigProblem | null => {
    const value = config[key];
    if (value === undefined) return null;
    if (!Array.isArray(value)) return { path: '/' + key, message: 'must be an array' };
    return value;
  };

  const modbus = config.modbus;
  if (modbus !== undefined) {
    if (!isObject(modbus) || !Array.isArray(modbus.devices)) return { path: '/modbus/devices', message: 'must be an array' };
    if (board && !board.rs485 && modbus.devices.length > 0) return { path: '/modbus', message: 'board ' + board.id + ' has no RS485 port' };
    const bus = modbus.bus;
    if (bus !== undefined) {
      if (!isObject(bus)) return { path: '/modbus/bus', message: 'must be an object' };
      if (bus.baudRate !== undefined && !integerIn(bus.baudRate, 1200, 115200)) return { path: '/modbus/bus/baudRate', message: 'must be 1200..115200' };
      if (bus.responseTimeout !== undefined && !integerIn(bus.responseTimeout, 20, 10000)) return { path: '/modbus/bus/responseTimeout', message: 'must be 20..10000 ms' };
      if (bus.retries !== undefined && !integerIn(bus.retries, 0, 5)) return { path: '/modbus/bus/retries', message: 'must be 0..5' };
    }
    const units: { [unit: string]: string } = {};
    for (let index = 0; index < modbus.devices.length; index++) {
      const path = '/modbus/devices/' + index;
      const device = modbus.devices[index];
      if (!isObject(device)) return { path, message: 'must be an object' };
      const nameProblem = checkName(device, path);
      if (nameProblem) return nameProblem;
      if (typeof device.profile !== 'string' || device.profile.length === 0) return { path: path + '/profile', message: 'must name a profile' };
      if (!integerIn(device.unitId, 1, 247)) return { path: path + '/unitId', message: 'must be 1..247' };
      if (units[String(device.unitId)]) return { path: path + '/unitId', message: 'unit id ' + device.unitId + ' already used at ' + units[String(device.unitId)] };
      units[String(device.unitId)] = path;
      if (!integerIn(device.interval, 1000, 86400000)) return { path: path + '/interval', message: 'must be 1000..86400000 ms' };
      if (device.points !== undefined && (!Array.isArray(device.points) || device.points.length === 0)) return { path: path + '/points', message: 'must be a non-empty array of point names' };
    }
  }

  const pulses = list('pulseInputs');
  if (pulses && !Array.isArray(pulses)) return pulses;
  const inputs = list('digitalInputs');
  if (inputs && !Array.isArray(inputs)) return inputs;
  const groups: Array<[string, unknown[] | null]> = [['pulseInputs', pulses as unknown[] | null], ['digitalInputs', inputs as unknown[] | null]];
  for (let group = 0; group < groups.length; group++) {
    const items = groups[group][1] || [];
    for (let index = 0; index < items.length; index++) {
      const path = '/' + groups[group][0] + '/' + index;
      const item = items[index];
      if (!isObject(item)) return { path, message: 'must be an object' };
      const nameProblem = checkName(item, path);
      if (nameProblem) return nameProblem;
      if (typeof item.input !== 'string') return { path: path + '/input', message: 'must name a board input' };
      if (board && !boardInputs[item.input]) return { path: path + '/input', message: 'board ' + board.id + ' has no input "' + item.input + '"' };
      if (usedInputs[item.input]) return { path: path + '/input', message: 'input "' + item.input + '" already used at ' + usedInputs[item.input] };
      usedInputs[item.input] = path;
      if (item.debounce !== undefined && !integerIn(item.debounce, 0, 10000)) return { path: path + '/debounce', message: 'must be 0..10000 ms' };
      if (item.saveEvery !== undefined && !integerIn(item.saveEvery, 1, 1000)) return { path: path + '/saveEvery', message: 'must be 1..1000 pulses' };
    }
  }

  const relays = list('relays');
  if (relays && !Array.isArray(relays)) return relays;
  const relayItems = (relays as unknown[] | null) || [];
  for (let index = 0; index < relayItems.length; index++) {
    const path = '/relays/' + index;
    const relay = relayItems[index];
    if (!isObject(relay)) return { path, message: 'must be an object' };
    const nameProblem = checkName(relay, path);
    if (nameProblem) return nameProblem;
    if (typeof relay.output !== 'string') return { path: path + '/output', message: 'must name a board output' };
    if (board && !boardOutputs[relay.output]) return { path: path + '/output', message: 'board ' + board.id + ' has no output "' + relay.output + '"' };
  }

  const sensors = list('sensors');
  if (sensors && !Array.isArray(sensors)) return sensors;
  const sensorItems = (sensors as unknown[] | null) || [];
  for (let index = 0; index < sensorItems.length; index++) {
    const path = '/sensors/' + index;
    const sensor = sensorItems[index];
    if (!isObject(sensor)) return { path, message: 'must be an object' };
    const nameProblem = checkName(sensor, path);
    if (nameProblem) return nameProblem;
    if (board && !board.i2c) return { path, message: 'board ' + board.id + ' has no I2C bus' };
    if (sensor.address !== undefined && !integerIn(sensor.address, 8, 119)) return { path: path + '/address', message: 'must be a 7-bit address 8..119' };
  }

  const passthrough = config.passthrough;
  if (passthrough !== undefined) {
    if (!isObject(passthrough) || typeof passthrough.enabled !== 'boolean') return { path: '/passthrough/enabled', message: 'must be true or false' };
    if (passthrough.enabled && board && !board.auxiliarySerial) return { path: '/passthrough', message: 'board ' + board.id + ' has no spare UART' };
  }
  return null;
}
