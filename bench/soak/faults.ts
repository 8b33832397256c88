/**
 * The soak's options and its fault schedule, drawn from one seed: the same seed gives the same terminals
 * (boards, drift, coverage), the same fault moments in virtual time and the same meter values. What real time
 * adds (which datagram a SIGKILL lands on, thread timing) is not seeded.
 */
import { SeededRandom, type CoverageClass } from '../../simulator/radio/radio-model';
import type { BrokerKind } from './broker';

export interface SoakOptions {
  terminals: number;
  days: number;
  seed: number;
  /** Each datagram, each way. */
  loss: number;
  /** Crystal drift is drawn from -driftPpm..+driftPpm (the first two terminals get the extremes). */
  driftPpm: number;
  gatewayKills: number;
  brokerRestarts: number;
  hangsPerTerminal: number;
  powerCutsPerTerminal: number;
  /** Boards, used in turn (each with the modem boards.json fits). */
  boards: string[];
  /** null: Mosquitto when installed, else Aedes. */
  broker: BrokerKind | null;
  /** Virtual hours the drain may take at most. */
  drainHours: number;
  log: (line: string) => void;
}

export const hour = 3_600_000;
export const day = 24 * hour;

export function fullOptions(log: (line: string) => void = () => undefined): SoakOptions {
  return {
    terminals: 50, days: 7, seed: 10, loss: 0.3, driftPpm: 250, gatewayKills: 5, brokerRestarts: 3, hangsPerTerminal: 2,
    powerCutsPerTerminal: 10, boards: ['nucleo-l476-bc95', 'linux'], broker: null, drainHours: 12, log,
  };
}

/** The CI size: every fault kind at least once, about a minute on a 2-core machine. */
export function quickOptions(log: (line: string) => void = () => undefined): SoakOptions {
  return { ...fullOptions(log), terminals: 6, days: 1, gatewayKills: 2, brokerRestarts: 1, hangsPerTerminal: 1, powerCutsPerTerminal: 3 };
}

export interface TerminalPlan {
  board: string;
  driftPartsPerMillion: number;
  coverageClass: CoverageClass;
  powerOnAt: number;
  hangsAt: number[];
  powerCutsAt: number[];
}

export interface ControlEvent {
  at: number;
  kind: 'gateway-kill' | 'broker-stop' | 'broker-start';
}

export interface FaultPlan {
  terminals: TerminalPlan[];
  control: ControlEvent[];
}

function times(random: SeededRandom, count: number, from: number, to: number): number[] {
  const result: number[] = [];
  for (let index = 0; index < count; index++) result.push(Math.round(random.between(from, to)));
  return result.sort((left, right) => left - right);
}

export function planFaults(options: SoakOptions): FaultPlan {
  const random = new SeededRandom(options.seed * 7919 + 17);
  const end = options.days * day;
  const terminals: TerminalPlan[] = [];
  for (let index = 0; index < options.terminals; index++) {
    const drift = index === 0 ? options.driftPpm : index === 1 ? -options.driftPpm : Math.round(random.between(-options.driftPpm, options.driftPpm) * 10) / 10;
    const draw = random.next();
    terminals.push({
      board: options.boards[index % options.boards.length]!,
      driftPartsPerMillion: drift,
      coverageClass: draw < 0.6 ? 0 : draw < 0.9 ? 1 : 2,
      powerOnAt: Math.round(random.between(0, 10 * 60_000)),
      hangsAt: times(random, options.hangsPerTerminal, hour, end * 0.9),
      powerCutsAt: times(random, options.powerCutsPerTerminal, hour, end * 0.95),
    });
  }
  const control: ControlEvent[] = [];
  for (const at of times(random, options.gatewayKills, end * 0.05, end * 0.95)) control.push({ at, kind: 'gateway-kill' });
  // Broker outages of 10 min to 2 h, each in its own slice of the run so they never overlap.
  const slice = (end * 0.9) / Math.max(1, options.brokerRestarts);
  for (let index = 0; index < options.brokerRestarts; index++) {
    const outage = Math.round(random.between(10 * 60_000, 2 * hour));
    const at = Math.round(end * 0.05 + slice * index + random.between(0, Math.max(0, slice - outage)));
    control.push({ at, kind: 'broker-stop' }, { at: at + outage, kind: 'broker-start' });
  }
  control.sort((left, right) => left.at - right.at);
  return { terminals, control };
}
