/**
 * Fuzz target: the terminal's downlink command handler (firmware/application/commands.ts, runCommand) on commands
 * as decodeDownlink hands them over: any id, known and unknown names, arguments of any CBOR shape (including keys
 * such as "__proto__" and "constructor"). The target it acts on records every call; config patches go through
 * the application's real mergePatch.
 */
import fc from 'fast-check';
import { CommandStatus, CommandTarget, runCommand } from '../../../firmware/application/commands';
import { mergePatch } from '../../../firmware/application/config-store';
import { ByteWriter } from '../../../firmware/protocol/bytes';
import { CborMap, CborValue, writeValue } from '../../../firmware/protocol/cbor';
import type { Command } from '../../../firmware/protocol/uplink';
import type { FuzzTarget } from '../support/runner';

const names = ['config', 'relay', 'read', 'time', 'reboot', 'ping', 'status'];
const keys = ['revision', 'config', 'patch', 'name', 'on', 'pulse', 'source', 'time', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '0'];

const { value: cborValue } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.integer({ min: -2, max: 2e9 }),
    fc.constantFrom(0, 1, 600000, 600001, 1704067201, 4102444799, 4102444800, NaN, Infinity, -Infinity, -0, 1e300, 0.5),
    fc.double(),
    fc.constantFrom('relay1', 'valve', 'meter', 'x', ''),
    fc.string({ maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.integer({ min: 0, max: 5 })), tie('value')), { maxLength: 4 }).map((entries) => {
      const map = new CborMap();
      for (const [key, value] of entries) map.set(key, value);
      return map;
    }),
  ),
})) as { value: fc.Arbitrary<CborValue> };

const command: fc.Arbitrary<Command> = fc.record({
  id: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.nat()),
  name: fc.oneof({ arbitrary: fc.constantFrom(...names), weight: 5 }, { arbitrary: fc.string({ maxLength: 8 }), weight: 1 }),
  arguments: cborValue,
});

interface Recorder extends CommandTarget {
  calls: string[];
  timers: number[];
}

function recorder(highestExecuted: number, configAccepts: boolean): Recorder {
  let executedUpTo = highestExecuted;
  let config: unknown = { interval: 900, sources: { meter: {} } };
  const target: Recorder = {
    calls: [],
    timers: [],
    changeConfig(revision, replacement, patch) {
      target.calls.push('changeConfig');
      const next = replacement !== undefined ? replacement : mergePatch(config, patch);
      if (!configAccepts || typeof next !== 'object' || next === null) return { ok: false, problem: 'invalid config at revision ' + revision, unchanged: false };
      config = next;
      return { ok: true, problem: null, unchanged: false };
    },
    relayNames: () => ['relay1', 'valve'],
    setRelay(name, on) {
      target.calls.push(`setRelay ${name} ${on}`);
    },
    readNow(sources) {
      target.calls.push('readNow');
      return sources.length === 0 ? 3 : sources[0] === 'meter' ? 1 : 0;
    },
    setTime(epochSeconds) {
      target.calls.push(`setTime ${epochSeconds}`);
    },
    reboot() {
      target.calls.push('reboot');
    },
    status() {
      target.calls.push('status');
    },
    executedUpTo: () => executedUpTo,
    executed(commandId) {
      target.calls.push(`executed ${commandId}`);
      executedUpTo = Math.max(executedUpTo, commandId);
    },
    setTimeout(_handler, milliseconds) {
      target.timers.push(milliseconds);
    },
  };
  return target;
}

function prototypeSnapshot(): string {
  return JSON.stringify([Object.getOwnPropertyNames(Object.prototype).sort(), Object.keys(Object.prototype)]);
}

const pristine = prototypeSnapshot();

function checkCommand(entry: Command, highestExecuted: number, configAccepts: boolean): void {
  const target = recorder(highestExecuted, configAccepts);
  let outcome;
  try {
    outcome = runCommand(entry, target);
  } catch (error) {
    throw new Error(`runCommand threw: ${String(error)}`);
  }
  if (prototypeSnapshot() !== pristine) throw new Error('Object.prototype was changed');
  if (outcome.commandId !== entry.id) throw new Error('result for another command id');
  if (![0, 1, 2, 3, 4].includes(outcome.status)) throw new Error(`status ${outcome.status}`);
  // The result travels in the next uplink: its detail must encode.
  if (outcome.detail !== undefined) writeValue(new ByteWriter(16), outcome.detail);
  const acted = target.calls.filter((call) => /^(setRelay|setTime|reboot|status|changeConfig|readNow)/.test(call));
  if (entry.id <= highestExecuted) {
    if (outcome.status !== CommandStatus.Done || target.calls.length > 0) throw new Error(`command ${entry.id} ran again (executed up to ${highestExecuted}): ${target.calls.join(', ')}`);
    return;
  }
  const drastic = target.calls.filter((call) => /^(setRelay|setTime|reboot)/.test(call));
  if (outcome.status !== CommandStatus.Done && drastic.length > 0) throw new Error(`status ${outcome.status} but ${drastic.join(', ')}`);
  if (outcome.status === CommandStatus.Unknown && acted.length > 0) throw new Error(`unknown command acted: ${acted.join(', ')}`);
  for (const call of target.calls) {
    const time = /^setTime (.*)$/.exec(call);
    if (time && !(Number(time[1]) > 1704067200 && Number(time[1]) < 4102444800)) throw new Error(`clock set to ${time[1]}`);
  }
  for (const milliseconds of target.timers) if (!(milliseconds > 0 && milliseconds <= 600000)) throw new Error(`relay pulse of ${milliseconds} ms`);
  if (target.calls.filter((call) => call.startsWith('executed')).length > 1) throw new Error('recorded as executed twice');
}

export const commandsTarget: FuzzTarget = {
  name: 'commands',
  description: 'downlink command handler (runCommand): any id, name and argument shape',
  properties: [
    {
      name: 'never throws, never runs a command twice, acts only when done, keeps values in range, result encodes',
      property: () => fc.property(command, fc.integer({ min: 0, max: 10 }), fc.boolean(), checkCommand) as fc.IRawProperty<unknown>,
      runs: 5000,
    },
  ],
};
