import { strict as assert } from 'node:assert';
import { checkConfigEssentials } from '../../firmware/config/essentials';
import { formatProblems, validateDeviceConfig } from '../../firmware/config/validate-config';
import type { Profile } from '../../firmware/modbus/profile';
import { loadBoard } from '../../hal/board-loader';
import { loadProfileJson } from '../../simulator/models/modbus-meter';

const board = loadBoard('pico-bc66');
const profile = (id: string): Profile | null => {
  try {
    return loadProfileJson(id) as Profile;
  } catch {
    return null;
  }
};

function fullConfig(): Record<string, unknown> {
  return {
    version: 1,
    modbus: {
      bus: { baudRate: 9600, parity: 'even', stopBits: 1, responseTimeout: 300, retries: 2, offlineAfter: 3 },
      devices: [
        { name: 'energy', profile: 'eastron-sdm630', unitId: 1, interval: 60000, points: ['voltage_l1', 'import_energy'] },
        { name: 'water', profile: 'tuf2000-water', unitId: 2, interval: 900000, responseTimeout: 1000 },
      ],
    },
    sensors: [{ name: 'ambient', part: 'SHT3x', address: 0x44, interval: 300000 }],
    pulseInputs: [{ name: 'gas', input: 'pulse1', edge: 'falling', debounce: 10, saveEvery: 10, unitPerPulse: 0.01, unit: 'm3' }],
    digitalInputs: [
      { name: 'tamper', input: 'tamper', activeLevel: 'low', event: 'tamper' },
      { name: 'door', input: 'door', activeLevel: 'low', debounce: 100, event: 'door' },
    ],
    relays: [{ name: 'valve', output: 'relay1', restore: 'last' }],
  };
}

describe('device configuration', () => {
  it('accepts a full config for the board', () => {
    const result = validateDeviceConfig(fullConfig(), { board, profile });
    assert.deepEqual(result.problems, []);
    assert.equal(checkConfigEssentials(fullConfig(), board), null);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case reaches into a different corner of the config
  const broken: Array<[string, (config: any) => void, string, RegExp]> = [
    ['unit id out of range', (config) => (config.modbus.devices[1].unitId = 300), '/modbus/devices/1/unitId', /<= 247|1..247/],
    ['duplicate unit id', (config) => (config.modbus.devices[1].unitId = 1), '/modbus/devices/1/unitId', /already used/],
    ['unknown profile', (config) => (config.modbus.devices[0].profile = 'nosuchmeter'), '/modbus/devices/0/profile', /no profile "nosuchmeter"/],
    ['unknown point', (config) => config.modbus.devices[0].points.push('flux_capacitor'), '/modbus/devices/0/points', /no point flux_capacitor/],
    ['missing interval', (config) => delete config.modbus.devices[0].interval, '/modbus/devices/0/interval', /required/],
    ['misspelt property', (config) => (config.relays[0].restor = 'last'), '/relays/0/restor', /unknown property/],
    ['bad parity', (config) => (config.modbus.bus.parity = 'mark'), '/modbus/bus/parity', /must be one of/],
    ['duplicate name', (config) => (config.digitalInputs[1].name = 'tamper'), '/digitalInputs/1/name', /duplicate name "tamper"/],
    ['input the board lacks', (config) => (config.pulseInputs[0].input = 'pulse7'), '/pulseInputs/0/input', /has no input "pulse7"/],
    ['input used twice', (config) => (config.digitalInputs[1].input = 'tamper'), '/digitalInputs/1/input', /already used/],
    ['output the board lacks', (config) => (config.relays[0].output = 'relay9'), '/relays/0/output', /has no output "relay9"/],
    ['passthrough without a spare UART', (config) => (config.passthrough = { enabled: true }), '/passthrough', /no spare UART/],
    ['sensor part unknown', (config) => (config.sensors[0].part = 'DHT22'), '/sensors/0/part', /must be one of/],
    ['wrong version', (config) => (config.version = 2), '/version', /constant|must be/],
  ];
  for (const [label, breakIt, path, message] of broken) {
    it(`names the field and the reason: ${label}`, () => {
      const config = fullConfig();
      breakIt(config);
      const result = validateDeviceConfig(config, { board, profile });
      assert.equal(result.valid, false);
      const problem = result.problems.find((candidate) => candidate.path === path);
      assert.ok(problem, `expected a problem at ${path}, got:\n${formatProblems(result.problems)}`);
      assert.match(problem.message, message);
    });
  }

  it('the terminal-side check catches what matters without the schema', () => {
    const cases: Array<[unknown, string]> = [
      [null, ''],
      [{ version: 1, modbus: { devices: [{ name: 'a', profile: 'generic', unitId: 0, interval: 1000 }] } }, '/modbus/devices/0/unitId'],
      [{ version: 1, modbus: { devices: 'x' } }, '/modbus/devices'],
      [{ version: 1, pulseInputs: [{ name: 'Bad Name', input: 'pulse1' }] }, '/pulseInputs/0/name'],
      [{ version: 1, pulseInputs: [{ name: 'a', input: 'pulse1', saveEvery: 0 }] }, '/pulseInputs/0/saveEvery'],
      [{ version: 1, relays: [{ name: 'r', output: 'nope' }] }, '/relays/0/output'],
      [{ version: 1, passthrough: { enabled: 'yes' } }, '/passthrough/enabled'],
    ];
    for (const [config, path] of cases) assert.equal(checkConfigEssentials(config, board)?.path, path, JSON.stringify(config));
  });
});
