/**
 * Downlink commands. Each arrives as [id, name, arguments] in a gateway response and is answered with a result
 * [id, status, detail] in the following uplinks until the gateway lists the id as stored (docs/firmware.md):
 *
 *   config  {revision, config} or {revision, patch}   whole or partial (JSON merge patch), versioned
 *   relay   {name?, on} or {name?, pulse: ms}          switch a configured relay, or pulse it on
 *   read    {source?}                                  sample now (all sources, or one) and send
 *   time    {time: seconds since the epoch}            set the clock
 *   reboot  {}                                         restart (the result is reported after the restart)
 *   ping    {}                                         answer at once
 *   status  {}                                         make a status report now
 *
 * Status: 0 done, 1 bad arguments, 2 refused (detail says why), 3 unknown command, 4 failed.
 * A command whose id is not above the highest one executed was already carried out (the result was lost in a
 * reboot and the gateway sent it again): it is answered "done" without running it twice.
 */
import { CborMap, type CborValue } from '../protocol/cbor';
import type { Command, CommandResult } from '../protocol/uplink';

export const CommandStatus = { Done: 0, BadArguments: 1, Refused: 2, Unknown: 3, Failed: 4 };

/** What commands act on; the terminal provides it. */
export interface CommandTarget {
  changeConfig(revision: number, replacement: unknown, patch: unknown): { ok: boolean; problem: string | null; unchanged: boolean };
  relayNames(): string[];
  setRelay(name: string, on: boolean): void;
  readNow(sources: string[]): number;
  setTime(epochSeconds: number): void;
  reboot(commandId: number): void;
  status(): void;
  /** The highest command id executed so far, and recording a new one. */
  executedUpTo(): number;
  executed(commandId: number): void;
  setTimeout(handler: () => void, milliseconds: number): void;
}

/** A CBOR value as plain JSON-like data (maps with text keys become objects). */
export function plainValue(value: CborValue): unknown {
  if (value instanceof CborMap) {
    const result: { [key: string]: unknown } = {};
    for (let index = 0; index < value.keys.length; index++) result[String(value.keys[index])] = plainValue(value.values[index]);
    return result;
  }
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (let index = 0; index < value.length; index++) items.push(plainValue(value[index]));
    return items;
  }
  if (value instanceof Uint8Array) return null;
  return value === undefined ? null : value;
}

function result(command: Command, status: number, detail?: CborValue): CommandResult {
  const output: CommandResult = { commandId: command.id, status: status };
  if (detail !== undefined) output.detail = detail;
  return output;
}

/** The result to report. A reboot's is reported by the restarted terminal ("rebooted"), not this one. */
export function runCommand(command: Command, target: CommandTarget): CommandResult {
  if (command.id <= target.executedUpTo()) return result(command, CommandStatus.Done, 'already executed');
  const argumentsValue = plainValue(command.arguments);
  const args = (typeof argumentsValue === 'object' && argumentsValue !== null && !Array.isArray(argumentsValue) ? argumentsValue : {}) as { [key: string]: unknown };
  let outcome: CommandResult;
  switch (command.name) {
    case 'config': {
      const revision = args.revision as number;
      if (typeof revision !== 'number') return result(command, CommandStatus.BadArguments, 'revision missing');
      if ((args.config === undefined) === (args.patch === undefined)) return result(command, CommandStatus.BadArguments, 'give either config or patch');
      const change = target.changeConfig(revision, args.config, args.patch);
      outcome = change.ok ? result(command, CommandStatus.Done, change.unchanged ? 'revision already active' : 'revision ' + revision) : result(command, CommandStatus.Refused, change.problem || 'refused');
      break;
    }
    case 'relay': {
      const names = target.relayNames();
      const name = typeof args.name === 'string' ? args.name : names[0];
      if (!name || names.indexOf(name) < 0) return result(command, CommandStatus.BadArguments, 'no relay ' + (name || ''));
      if (typeof args.pulse === 'number' && args.pulse > 0 && args.pulse <= 600000) {
        target.setRelay(name, true);
        target.setTimeout(function () {
          target.setRelay(name, false);
        }, args.pulse);
      } else if (typeof args.on === 'boolean') {
        target.setRelay(name, args.on);
      } else {
        return result(command, CommandStatus.BadArguments, 'needs on (true/false) or pulse (1..600000 ms)');
      }
      outcome = result(command, CommandStatus.Done);
      break;
    }
    case 'read': {
      const sources = typeof args.source === 'string' ? [args.source] : [];
      const count = target.readNow(sources);
      if (count === 0) return result(command, CommandStatus.BadArguments, 'no such source');
      outcome = result(command, CommandStatus.Done, count);
      break;
    }
    case 'time': {
      if (typeof args.time !== 'number' || !(args.time > 1704067200 && args.time < 4102444800)) return result(command, CommandStatus.BadArguments, 'time must be seconds since 1970 after 2024');
      target.setTime(args.time);
      outcome = result(command, CommandStatus.Done);
      break;
    }
    case 'reboot':
      target.executed(command.id);
      target.reboot(command.id);
      return result(command, CommandStatus.Done, 'rebooting');
    case 'ping':
      return result(command, CommandStatus.Done, 'pong');
    case 'status':
      target.status();
      return result(command, CommandStatus.Done);
    default:
      return result(command, CommandStatus.Unknown, 'unknown command ' + command.name);
  }
  target.executed(command.id);
  return outcome;
}
