/**
 * Model-based AT engine fuzzing: the fuzzer plays a modem that answers each command it receives with a generated
 * response (echo, intermediate lines, a '>' prompt, raw reads, OK/ERROR/+CME ERROR/+CMS ERROR, success and failure
 * lines, silence, or a final result that comes after the timeout), with URCs interleaved anywhere between lines,
 * bytes modems emit around power-up (NUL, 0xFF, ESC...) and blank lines between lines, every byte stream cut into
 * random receive chunks. An oracle computed from the script says what each command must end with; the engine must
 * match it exactly, line for line, on the virtual clock.
 */
import fc from 'fast-check';
import { AtCommandOptions, AtEngine, AtError, AtResponse, isAtError } from '../../../firmware/modem/at-engine';
import { integer, parameters } from '../../../firmware/modem/text';
import { bytesOf, concatBytes, createClocks, FuzzSerial, Settlement, splitIntoChunks, withSettlementTracking } from '../support/at-rig';

type Kind = 'plain' | 'expect' | 'completeOn' | 'send' | 'prompt' | 'raw';
type Outcome = 'ok' | 'error' | 'cme' | 'cms' | 'timeout' | 'late' | 'complete' | 'fail';

const outcomesByKind: Record<Kind, Outcome[]> = {
  plain: ['ok', 'error', 'cme', 'cms', 'timeout', 'late'],
  expect: ['ok', 'error', 'cme', 'timeout', 'late'],
  completeOn: ['complete', 'error', 'cme', 'timeout', 'late'],
  send: ['complete', 'fail', 'error', 'timeout', 'late'],
  prompt: ['complete', 'fail', 'error', 'timeout', 'late'],
  raw: ['ok', 'error', 'timeout', 'late'],
};

export interface CommandScript {
  kind: Kind;
  outcomeChoice: number;
  echo: boolean;
  timeout: number;
  /** Lines a modem may send that match nothing (lower-case start: never a final, URC, echo or prompt). */
  texts: string[];
  /** Which of `texts` carry the expected prefix (expect kind). */
  prefixed: boolean[];
  data: Uint8Array;
  code: number;
  verboseCode: boolean;
  urcs: Array<{ position: number; raw: boolean; number: number; data: Uint8Array }>;
  garbage: Array<{ position: number; bytes: Uint8Array }>;
  delays: number[];
  cuts: number[];
  lateDelay: number;
}

const safeText = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), fc.string({ unit: fc.constantFrom(...'abcxyz0189 ,.:"-=()'), maxLength: 24 }))
  .map(([first, rest]) => first + rest);

/** Bytes that are dropped in line mode, and blank-line terminators. */
const garbageBytes = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) =>
  bytes.map((byte) => [0x00, 0x01, 0x1b, 0x7f, 0x80, 0xfe, 0xff, 0x0d, 0x0a, 0x00][byte % 10]!),
);

export const commandScript: fc.Arbitrary<CommandScript> = fc.record({
  kind: fc.constantFrom<Kind>('plain', 'expect', 'completeOn', 'send', 'prompt', 'raw'),
  outcomeChoice: fc.nat(),
  echo: fc.boolean(),
  timeout: fc.integer({ min: 300, max: 3000 }),
  texts: fc.array(safeText, { maxLength: 3 }),
  prefixed: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  data: fc.uint8Array({ minLength: 1, maxLength: 48 }),
  code: fc.integer({ min: 0, max: 999 }),
  verboseCode: fc.boolean(),
  urcs: fc.array(fc.record({ position: fc.nat(), raw: fc.boolean(), number: fc.integer({ min: 0, max: 99999 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), { maxLength: 3 }),
  garbage: fc.array(fc.record({ position: fc.nat(), bytes: garbageBytes }), { maxLength: 3 }),
  delays: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 8 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  lateDelay: fc.integer({ min: 1, max: 150 }),
});

interface Piece {
  bytes: Uint8Array;
  urc?: string;
}

type Expected =
  | { kind: 'resolve'; final: string; lines: string[]; raw: Uint8Array | null }
  | { kind: 'reject'; errorKind: AtError['kind']; code: number | null; lines: string[] };

interface Plan {
  text: string;
  options: AtCommandOptions;
  outcome: Outcome;
  /** Sent when the command arrives; `afterPayload` once the prompt's payload has arrived. */
  beforePayload: Piece[];
  afterPayload: Piece[];
  /** A final result sent after the timeout (outcome 'late'). */
  late: Piece | null;
  expected: Expected;
  unknownLines: number;
  droppedBytes: number;
  urcLines: string[];
}

const line = (text: string): Piece => ({ bytes: bytesOf('\r\n' + text + '\r\n') });

const quietAfterTimeout = 200;

export function urcRawLength(line: string): number {
  const length = integer(parameters(line, '+RAWURC:')[1]);
  return length > 0 ? length : 0;
}

export function planCommand(index: number, script: CommandScript): Plan {
  const kind = script.kind;
  const outcomes = outcomesByKind[kind];
  const outcome = outcomes[script.outcomeChoice % outcomes.length]!;
  const text = 'AT+FZ' + index + (kind === 'raw' ? '=1' : '');
  const options: AtCommandOptions = { timeout: script.timeout };
  if (kind === 'expect') options.expect = '+FZV:';
  if (kind === 'raw') {
    options.expect = '+QIRD:';
    options.rawLength = (received) => {
      const length = integer(parameters(received, '+QIRD:')[0]);
      return isNaN(length) ? 0 : length;
    };
  }
  if (kind === 'completeOn') options.completeOn = '+FZOPEN:';
  if (kind === 'send' || kind === 'prompt') {
    options.completeOn = 'SEND OK';
    options.failOn = ['SEND FAIL'];
  }
  if (kind === 'prompt') options.payload = script.data;

  const before: Piece[] = [];
  const after: Piece[] = [];
  let unknownLines = 0;
  const collected: string[] = [];
  let raw: Uint8Array | null = null;
  if (script.echo) before.push({ bytes: bytesOf(text + '\r') });
  const body = kind === 'prompt' ? after : before;
  if (kind === 'prompt') before.push({ bytes: bytesOf('\r\n> ') });
  if (kind === 'raw') {
    body.push({ bytes: concatBytes([bytesOf('\r\n+QIRD: ' + script.data.length + ',"10.0.0.1",5683\r\n'), script.data]) });
    collected.push('+QIRD: ' + script.data.length + ',"10.0.0.1",5683');
    raw = script.data;
  } else {
    script.texts.forEach((entry, position) => {
      if (kind === 'expect' && script.prefixed[position]) {
        body.push(line('+FZV: ' + entry));
        collected.push('+FZV: ' + entry);
      } else {
        body.push(line(entry));
        if (kind === 'expect') unknownLines++;
        else collected.push(entry);
      }
    });
  }
  const errorLine = (script.verboseCode ? '+CME ERROR: sim busy' : '+CME ERROR: ' + script.code).replace('CME', outcome === 'cms' ? 'CMS' : 'CME');
  const finals: Record<Outcome, string[]> = {
    ok: ['OK'],
    error: ['ERROR'],
    cme: [errorLine],
    cms: [errorLine],
    complete: kind === 'completeOn' ? ['OK', '+FZOPEN: 0,0'] : ['SEND OK'],
    fail: ['SEND FAIL'],
    timeout: kind === 'completeOn' ? ['OK'] : [],
    late: [],
  };
  for (const final of finals[outcome]) body.push(line(final));
  let late: Piece | null = null;
  if (outcome === 'late') {
    const lateLine = kind === 'completeOn' ? '+FZOPEN: 0,0' : kind === 'send' || kind === 'prompt' ? 'SEND OK' : 'OK';
    late = line(lateLine);
    unknownLines++;
  }

  // URCs and garbage go between pieces (never inside one: a raw read's bytes follow its line directly).
  const urcLines: string[] = [];
  let droppedBytes = 0;
  const all = kind === 'prompt' ? [before, after] : [before];
  const insert = (position: number, piece: Piece): void => {
    const total = all.reduce((sum, list) => sum + list.length + 1, 0);
    let at = position % total;
    for (const list of all) {
      if (at <= list.length) {
        list.splice(at, 0, piece);
        return;
      }
      at -= list.length + 1;
    }
  };
  for (const urc of script.urcs) {
    const urcLine = urc.raw ? '+RAWURC: 0,' + urc.data.length : '+NSONMI: 0,' + urc.number;
    urcLines.push(urcLine + (urc.raw ? ' ' + Buffer.from(urc.data).toString('hex') : ''));
    insert(urc.position, { bytes: concatBytes([bytesOf('\r\n' + urcLine + '\r\n'), urc.raw ? urc.data : new Uint8Array(0)]), urc: urcLine });
  }
  for (const entry of script.garbage) {
    insert(entry.position, { bytes: entry.bytes });
    for (const byte of entry.bytes) if (byte !== 13 && byte !== 10) droppedBytes++;
  }

  let expected: Expected;
  const reject = (errorKind: AtError['kind'], code: number | null): Expected => ({ kind: 'reject', errorKind, code, lines: collected });
  switch (outcome) {
    case 'ok':
      expected = { kind: 'resolve', final: 'OK', lines: collected, raw };
      break;
    case 'complete': {
      const final = kind === 'completeOn' ? '+FZOPEN: 0,0' : 'SEND OK';
      expected = { kind: 'resolve', final, lines: collected.concat([final]), raw: null };
      break;
    }
    case 'error':
      expected = reject('error', null);
      break;
    case 'cme':
    case 'cms':
      expected = reject(outcome, script.verboseCode ? null : script.code);
      break;
    case 'fail':
      expected = reject('failure', null);
      break;
    default:
      expected = reject('timeout', null);
  }
  return { text, options, outcome, beforePayload: before, afterPayload: after, late, expected, unknownLines, droppedBytes, urcLines };
}

/** Runs the scripted modem against a fresh engine and checks everything the oracle predicts; throws on a mismatch. */
export function checkScriptedModem(scripts: CommandScript[]): void {
  const { clock, halClock } = createClocks();
  const serial = new FuzzSerial();
  const engine = new AtEngine(serial, halClock, { quietAfterTimeout });
  const plans = scripts.map((script, index) => planCommand(index, script));
  const urcsSeen: string[] = [];
  engine.onUrc('+NSONMI:', (received) => urcsSeen.push(received));
  engine.onUrc('+RAWURC:', (received, raw) => urcsSeen.push(received + ' ' + Buffer.from(raw ?? new Uint8Array(0)).toString('hex')), urcRawLength);

  // The modem: answers the command it receives next, in order; the prompt's payload releases the rest.
  let next = 0;
  let awaitingPayload: { plan: Plan; script: CommandScript } | null = null;
  const transmitted: Array<{ at: number; text: string }> = [];
  const schedule = (pieces: Piece[], script: CommandScript, startDelay: number): number => {
    let at = startDelay;
    pieces.forEach((piece, position) => {
      at += script.delays[position % script.delays.length]!;
      for (const chunk of splitIntoChunks(piece.bytes, script.cuts)) clock.schedule(at, () => serial.deliver(chunk));
    });
    return at;
  };
  serial.onTransmit = (data) => {
    if (awaitingPayload) {
      const { plan, script } = awaitingPayload;
      awaitingPayload = null;
      if (Buffer.compare(Buffer.from(data), Buffer.from(plan.options.payload as Uint8Array)) !== 0) throw new Error(`payload of ${plan.text} garbled`);
      schedule(plan.afterPayload, script, 0);
      return;
    }
    const plan = plans[next];
    const script = scripts[next];
    if (!plan || !script) throw new Error('the engine transmitted more commands than were sent: ' + JSON.stringify(Buffer.from(data).toString('latin1')));
    next++;
    transmitted.push({ at: clock.now(), text: Buffer.from(data).toString('latin1') });
    if (plan.options.payload !== undefined) awaitingPayload = { plan, script };
    schedule(plan.beforePayload, script, 0);
    if (plan.late) {
      const late = plan.late;
      const at = (plan.options.timeout as number) + script.lateDelay;
      for (const chunk of splitIntoChunks(late.bytes, script.cuts)) clock.schedule(at, () => serial.deliver(chunk));
    }
  };

  const settlements = withSettlementTracking(
    () => clock.now(),
    (recorded): Settlement[] => {
      const promises = plans.map((plan) => engine.send(plan.text, plan.options));
      for (const promise of promises) promise.then(undefined, () => undefined);
      const bound = plans.reduce((sum, plan) => sum + (plan.options.timeout as number) + quietAfterTimeout + 200, 0);
      clock.runUntilIdle(bound * 2);
      return recorded;
    },
  );

  if (serial.escaped.length > 0) throw new Error('exception escaped the receive handler: ' + String(serial.escaped[0]));
  if (engine.busy()) throw new Error('the queue did not drain');
  const expectedWritten = plans.map((plan) => plan.text + '\r' + (plan.options.payload ? Buffer.from(plan.options.payload as Uint8Array).toString('latin1') : '')).join('');
  if (serial.written !== expectedWritten) throw new Error('written ' + JSON.stringify(serial.written) + ', expected ' + JSON.stringify(expectedWritten));
  const byPromise = new Map<number, Settlement[]>();
  for (const settlement of settlements) byPromise.set(settlement.promise, [...(byPromise.get(settlement.promise) ?? []), settlement]);
  plans.forEach((plan, index) => {
    const entries = byPromise.get(index) ?? [];
    if (entries.length !== 1) throw new Error(`${plan.text} settled ${entries.length} times`);
    const settlement = entries[0]!;
    const elapsed = settlement.at - transmitted[index]!.at;
    const timeout = plan.options.timeout as number;
    if (elapsed > timeout + 1e-9) throw new Error(`${plan.text} settled ${elapsed} ms after it was written (timeout ${timeout})`);
    const expected = plan.expected;
    if (expected.kind === 'resolve') {
      if (settlement.kind !== 'resolve') throw new Error(`${plan.text} (${plan.outcome}) rejected: ${String(settlement.value)}`);
      const response = settlement.value as AtResponse;
      if (response.final !== expected.final) throw new Error(`${plan.text} final ${response.final}, expected ${expected.final}`);
      if (JSON.stringify(response.lines) !== JSON.stringify(expected.lines)) throw new Error(`${plan.text} lines ${JSON.stringify(response.lines)}, expected ${JSON.stringify(expected.lines)}`);
      const rawText = response.raw ? Buffer.from(response.raw).toString('hex') : null;
      const expectedRaw = expected.raw ? Buffer.from(expected.raw).toString('hex') : null;
      if (rawText !== expectedRaw) throw new Error(`${plan.text} raw ${rawText}, expected ${expectedRaw}`);
    } else {
      if (settlement.kind !== 'reject' || !isAtError(settlement.value)) throw new Error(`${plan.text} (${plan.outcome}) resolved: ${JSON.stringify(settlement.value)}`);
      const error = settlement.value;
      if (error.kind !== expected.errorKind || error.code !== expected.code) throw new Error(`${plan.text} failed with ${error.toString()}, expected ${expected.errorKind} ${expected.code}`);
      if (JSON.stringify(error.lines) !== JSON.stringify(expected.lines)) throw new Error(`${plan.text} error lines ${JSON.stringify(error.lines)}, expected ${JSON.stringify(expected.lines)}`);
      if (expected.errorKind === 'timeout' && Math.abs(elapsed - timeout) > 1e-9) throw new Error(`${plan.text} timed out after ${elapsed} ms, not ${timeout}`);
    }
  });
  const expectedUrcs = plans.flatMap((plan) => plan.urcLines).sort();
  if (JSON.stringify([...urcsSeen].sort()) !== JSON.stringify(expectedUrcs)) throw new Error(`URCs ${JSON.stringify(urcsSeen)}, expected ${JSON.stringify(expectedUrcs)}`);
  const statistics = engine.statistics;
  const sum = (select: (plan: Plan) => number): number => plans.reduce((total, plan) => total + select(plan), 0);
  const expectedStatistics = {
    commands: plans.length,
    timeouts: sum((plan) => (plan.outcome === 'timeout' || plan.outcome === 'late' ? 1 : 0)),
    errors: sum((plan) => (plan.expected.kind === 'reject' && plan.expected.errorKind !== 'timeout' ? 1 : 0)),
    urcs: expectedUrcs.length,
    unknownLines: sum((plan) => plan.unknownLines),
    droppedBytes: sum((plan) => plan.droppedBytes),
  };
  if (JSON.stringify(statistics) !== JSON.stringify(expectedStatistics)) throw new Error(`statistics ${JSON.stringify(statistics)}, expected ${JSON.stringify(expectedStatistics)}`);
}

export const scriptedModemProperty = (): fc.IRawProperty<unknown> =>
  fc.property(fc.array(commandScript, { minLength: 1, maxLength: 6 }), (scripts) => {
    checkScriptedModem(scripts);
  }) as fc.IRawProperty<unknown>;
