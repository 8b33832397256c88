import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CommandStatus, runCommand, type CommandTarget } from '../../firmware/application/commands';
import { checkCommand, COMMANDS, MAXIMUM_COMMAND_BYTES } from '../../gateway/command-catalogue';
import { jsonToCbor } from '../../gateway/commands';

/** A terminal on which every state-dependent check passes: any relay or source name exists, any config is taken. */
function permissiveTarget(args: unknown): CommandTarget {
  const given = (field: string): string | null => {
    const value = typeof args === 'object' && args !== null ? (args as Record<string, unknown>)[field] : undefined;
    return typeof value === 'string' && value.length > 0 ? value : null;
  };
  return {
    changeConfig: () => ({ ok: true, problem: null, unchanged: false }),
    relayNames: () => [given('name') ?? 'relay_one'],
    setRelay: () => undefined,
    readNow: () => 1,
    setTime: () => undefined,
    reboot: () => undefined,
    status: () => undefined,
    executedUpTo: () => 0,
    executed: () => undefined,
    setTimeout: () => undefined,
  };
}

/** What the terminal's own command handler answers (on a terminal where every named thing exists). */
function terminalStatus(name: string, args: unknown): number {
  const cbor = args === undefined || args === null ? null : jsonToCbor(args);
  return runCommand({ id: 1, name, arguments: cbor }, permissiveTarget(args)).status;
}

const validConfig = {
  version: 1,
  sensors: [{ name: 'climate', part: 'SHT3x', address: 0x45, interval: 900000 }],
  relays: [{ name: 'valve', output: 'relay1' }],
  terminal: { gateway: { host: 'gateway.example', port: 5683 }, sendInterval: 3600000 },
};

describe('gateway: command catalogue (refusing at queue time what the terminal could not decode or does not know)', () => {
  it('takes the commands the terminal runs, with their arguments', () => {
    const accepted: Array<[string, unknown]> = [
      ['config', { revision: 2, patch: { sensors: [] } }],
      ['config', { revision: 1, config: validConfig }],
      ['relay', { name: 'valve', on: true }],
      ['relay', { pulse: 3000 }],
      ['read', {}],
      ['read', { source: 'meter' }],
      ['time', { time: 1800000000 }],
      ['reboot', undefined],
      ['ping', null],
      ['status', {}],
    ];
    for (const [name, args] of accepted) {
      assert.deepEqual(checkCommand(name, args), { ok: true }, `${name} ${JSON.stringify(args)}`);
      assert.equal(terminalStatus(name, args), CommandStatus.Done, `the terminal runs ${name} ${JSON.stringify(args)}`);
    }
  });

  it('refuses unknown names with the terminal code 3 and the list of known ones', () => {
    const refused = checkCommand('selfdestruct', {});
    assert.ok(!refused.ok);
    assert.equal(refused.code, 3);
    assert.match(refused.error, /unknown command selfdestruct \(the terminal knows config, relay, read, time, reboot, ping, status\)/);
    assert.equal(terminalStatus('selfdestruct', {}), CommandStatus.Unknown, 'the terminal would have answered the same');
    for (const name of ['toString', '__proto__', 'constructor', 'RELAY', '']) assert.equal(checkCommand(name, {}).ok, false, name);
  });

  it('refuses arguments the terminal would reject, naming the problem (code 1)', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['relay', { output: 1, state: 'on' }, /unknown argument output \(relay takes name, on, pulse\)/],
      ['relay', { on: 'yes' }, /on must be true or false/],
      ['relay', {}, /needs either on \(true\/false\) or pulse/],
      ['relay', { on: true, pulse: 100 }, /needs either on/],
      ['relay', { pulse: 600001 }, /pulse must be 1\.\.600000 ms/],
      ['relay', { name: 'Valve 1', on: true }, /name must be a relay name/],
      ['read', { source: 7 }, /source must be a source name/],
      ['time', { time: '2026-01-01' }, /time must be seconds since 1970/],
      ['time', { time: 1000 }, /after 2024/],
      ['config', { patch: {} }, /revision must be an integer/],
      ['config', { revision: 0.5, patch: {} }, /revision must be an integer/],
      ['config', { revision: 2 }, /either config .* or patch/],
      ['config', { revision: 2, config: validConfig, patch: {} }, /either config/],
      ['config', { revision: 2, patch: [1] }, /patch must be a JSON object/],
      ['config', { revision: 2, config: { version: 2 } }, /config is not valid: \/version/],
      ['config', { revision: 2, config: { ...validConfig, terminal: { gateway: { host: 'gateway.example' } } } }, /config is not valid: \/terminal\/gateway: needs host \(text\) and port/],
      ['config', { revision: 2, config: 'version 1' }, /config must be a JSON object/],
      ['config', { revision: 2, config: { ...validConfig, relays: [{ name: 'valve', output: 'relay1' }, { name: 'valve', output: 'relay2' }] } }, /config is not valid/],
      ['ping', { now: true }, /unknown argument now \(ping takes no arguments\)/],
      ['reboot', [1], /arguments of reboot must be a JSON object/],
      ['status', 'now', /must be a JSON object/],
    ];
    for (const [name, args, pattern] of cases) {
      const check = checkCommand(name, args);
      assert.ok(!check.ok, `${name} ${JSON.stringify(args)} accepted`);
      assert.equal(check.code, 1);
      assert.match(check.error, pattern);
    }
  });

  it('refuses what the terminal could not decode or receive: too deep, too many entries, too long a string, too big', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 10; level++) deep = { a: deep };
    const wide = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, index]));
    const cases: Array<[unknown, RegExp]> = [
      [{ revision: 2, patch: deep }, /nest too deeply|could not decode/],
      [{ revision: 2, patch: wide }, /could not decode the arguments: CBOR map too large/],
      [{ revision: 2, patch: { note: 'x'.repeat(513) } }, /could not decode the arguments: CBOR string too long/],
      [{ revision: 2, patch: { a: 'x'.repeat(500), b: 'x'.repeat(500), c: 'x'.repeat(100) } }, new RegExp(`at most ${MAXIMUM_COMMAND_BYTES} fit a response`)],
    ];
    for (const [args, pattern] of cases) {
      const check = checkCommand('config', args);
      assert.ok(!check.ok, JSON.stringify(args).slice(0, 80));
      assert.match(check.error, pattern);
    }
  });

  it('agrees with the terminal: what it takes the terminal runs, and what the terminal refuses it refuses', () => {
    const names = [...Object.keys(COMMANDS), 'reset', 'Relay'];
    const field = fc.constantFrom('name', 'on', 'pulse', 'source', 'time', 'revision', 'config', 'patch', 'other');
    const value = fc.oneof(
      fc.boolean(),
      fc.integer({ min: -10, max: 700000 }),
      fc.constantFrom(0.5, 1800000000, 1704067200, 4102444800, 600000, 600001),
      fc.constantFrom('valve', 'meter', 'Bad Name', ''),
      fc.constant(null),
      fc.constant({}),
      fc.constant(validConfig),
      fc.constant([1, 2]),
    );
    const argumentsValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.dictionary(field, value, { maxKeys: 3 }), fc.constant('text'));
    fc.assert(
      fc.property(fc.constantFrom(...names), argumentsValue, (name, args) => {
        const gateway = checkCommand(name, args);
        const terminal = terminalStatus(name, args);
        const terminalRefuses = terminal === CommandStatus.BadArguments || terminal === CommandStatus.Unknown;
        if (gateway.ok) assert.ok(!terminalRefuses, `gateway took ${name} ${JSON.stringify(args)}, the terminal answers ${terminal}`);
        if (terminalRefuses) assert.ok(!gateway.ok, `the terminal refuses ${name} ${JSON.stringify(args)} (${terminal}); the gateway took it`);
      }),
      { numRuns: 3000, seed: 8 },
    );
  });
});
