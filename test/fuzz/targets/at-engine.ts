/**
 * Fuzz target: the AT engine (firmware/modem/at-engine.ts): line assembler, final result classification, URC
 * dispatch, '>' prompt, raw reads and the command queue with timeouts, all on the virtual clock.
 */
import fc from 'fast-check';
import { AtCommandOptions, AtEngine, AtResponse, isAtError } from '../../../firmware/modem/at-engine';
import { integer, parameters } from '../../../firmware/modem/text';
import { bytesOf, concatBytes, createClocks, FuzzSerial, Settlement, splitIntoChunks, withSettlementTracking } from '../support/at-rig';
import type { FuzzTarget } from '../support/runner';
import { scriptedModemProperty, urcRawLength } from './at-engine-model';

/** Pieces of modem output, so random streams often form meaningful and half-meaningful lines. */
const tokens = [
  'OK', 'ERROR', '+CME ERROR: ', '+CMS ERROR: ', '+CME ERROR: 5', '\r', '\n', '\r\n', '> ', '>', ' ', '+QIRD: ', '+QIRD: 4\r\n', '+RAWURC: 0,',
  '+RAWURC: 0,3\r\n', '+NSONMI: 1,', 'SEND OK', 'SEND FAIL', '+FZOPEN: 0,0', '+FZV: ', '0', '7', '12', '99999', ',', '"', 'AT+FZ0', 'AT+FZ1\r', 'RDY', 'CONNECT',
];

const streamPiece = fc.oneof(
  { arbitrary: fc.constantFrom(...tokens).map(bytesOf), weight: 6 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 10 }).map(bytesOf), weight: 1 },
);

const burst = fc.record({
  at: fc.integer({ min: 0, max: 4000 }),
  bytes: fc.array(streamPiece, { minLength: 1, maxLength: 12 }).map(concatBytes),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
});

const chaosCommand = fc.record({
  timeout: fc.integer({ min: 20, max: 800 }),
  expect: fc.option(fc.constantFrom('+FZV:', '+QIRD:', '+NSONMI:'), { nil: undefined }),
  completeOn: fc.option(fc.constantFrom('SEND OK', '+FZOPEN:', 'CONNECT'), { nil: undefined }),
  failOn: fc.option(fc.constant(['SEND FAIL', 'ERROR']).map((prefixes) => [...prefixes]), { nil: undefined }),
  payload: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
  raw: fc.boolean(),
});

/** A driver's raw length callback, bounded as a careful driver does it. */
function boundedRawLength(line: string): number {
  const length = integer(parameters(line, '+QIRD:')[0]);
  return length > 0 ? Math.min(length, 64) : 0;
}

function chaos(commands: Array<typeof chaosCommand extends fc.Arbitrary<infer T> ? T : never>, bursts: Array<typeof burst extends fc.Arbitrary<infer T> ? T : never>): void {
  const { clock, halClock } = createClocks();
  const serial = new FuzzSerial();
  const quiet = 200;
  const engine = new AtEngine(serial, halClock, { quietAfterTimeout: quiet });
  const prefixes = ['+NSONMI:', '+RAWURC:', 'RDY'];
  const urcProblems: string[] = [];
  for (const prefix of prefixes) {
    engine.onUrc(prefix, (line) => {
      if (line.indexOf(prefix) !== 0) urcProblems.push(`${prefix} handler got ${JSON.stringify(line)}`);
    }, prefix === '+RAWURC:' ? (line) => Math.min(urcRawLength(line), 64) : undefined);
  }
  const transmitted: number[] = [];
  serial.onTransmit = (data) => {
    if (Buffer.from(data).toString('latin1') === 'AT+FZ' + transmitted.length + '\r') transmitted.push(clock.now());
  };
  for (const entry of bursts) for (const chunk of splitIntoChunks(entry.bytes, entry.cuts)) clock.schedule(entry.at, () => serial.deliver(chunk));
  const options: AtCommandOptions[] = commands.map((command) => {
    const option: AtCommandOptions = { timeout: command.timeout };
    if (command.expect !== undefined) option.expect = command.expect;
    if (command.completeOn !== undefined) option.completeOn = command.completeOn;
    if (command.failOn !== undefined) option.failOn = command.failOn;
    if (command.payload !== undefined) option.payload = command.payload;
    if (command.raw) option.rawLength = boundedRawLength;
    return option;
  });
  const settlements = withSettlementTracking(
    () => clock.now(),
    (recorded): Settlement[] => {
      const promises = options.map((option, index) => engine.send('AT+FZ' + index, option));
      for (const promise of promises) promise.then(undefined, () => undefined);
      // Every command ends by its timeout at the latest; then the queue must be empty.
      const bound = 4000 + options.reduce((sum, option) => sum + (option.timeout as number) + quiet, 0) + 1;
      clock.runUntil(bound);
      return recorded;
    },
  );
  if (serial.escaped.length > 0) throw new Error('exception escaped the receive handler: ' + String(serial.escaped[0]));
  if (urcProblems.length > 0) throw new Error(urcProblems[0]);
  if (engine.busy()) throw new Error('queue not drained after every timeout passed');
  options.forEach((option, index) => {
    const mine = settlements.filter((settlement) => settlement.promise === index);
    if (mine.length !== 1) throw new Error(`command ${index} settled ${mine.length} times`);
    const settlement = mine[0]!;
    if (index > 0 && settlements.findIndex((entry) => entry.promise === index - 1) > settlements.indexOf(settlement)) throw new Error('commands settled out of order');
    const sentAt = transmitted[index];
    if (sentAt === undefined) throw new Error(`command ${index} settled without being written`);
    if (settlement.at - sentAt > (option.timeout as number) + 1e-9) throw new Error(`command ${index} settled ${settlement.at - sentAt} ms after it was written`);
    if (settlement.kind === 'resolve') {
      const response = settlement.value as AtResponse;
      const completeOn = option.completeOn;
      const legal = completeOn === undefined ? response.final === 'OK' : response.final.indexOf(completeOn) === 0;
      if (!legal) throw new Error(`command ${index} resolved with final ${JSON.stringify(response.final)}`);
      for (const line of response.lines) {
        if (line === 'OK' || line === 'ERROR' || line.indexOf('+CME ERROR:') === 0 || line.indexOf('+CMS ERROR:') === 0) throw new Error(`a final result collected as a line: ${line}`);
        if (option.expect !== undefined && line.indexOf(option.expect) !== 0 && line !== response.final) throw new Error(`line ${JSON.stringify(line)} collected though ${option.expect} was expected`);
      }
    } else {
      if (!isAtError(settlement.value)) throw new Error(`command ${index} rejected with a non-AtError: ${String(settlement.value)}`);
      const error = settlement.value;
      if (error.kind === 'failure' && !(option.failOn ?? []).some((prefix) => error.message.indexOf(prefix) === 0)) throw new Error(`failure on ${error.message}`);
      if (error.kind === 'timeout' && Math.abs(settlement.at - sentAt - (option.timeout as number)) > 1e-9) throw new Error('timeout at the wrong time');
      if (!['timeout', 'error', 'cme', 'cms', 'failure'].includes(error.kind)) throw new Error(`unexpected error kind ${error.kind}`);
    }
  });
  // The engine still works afterwards. A raw read the stream announced but never finished may swallow one
  // answer (the command's timeout ends the read); the exchange after that must succeed.
  const after = withSettlementTracking(
    () => clock.now(),
    (recorded): Settlement[] => {
      for (let attempt = 0; attempt < 2; attempt++) {
        engine.send('AT', { timeout: 500 }).then(undefined, () => undefined);
        clock.advance(quiet + 1);
        serial.deliver(bytesOf('\r\nOK\r\n'));
        clock.advance(quiet + 600);
      }
      return recorded;
    },
  );
  if (after.length !== 2 || after[1]!.kind !== 'resolve') throw new Error('the engine did not recover: ' + JSON.stringify(after.map((entry) => entry.kind)));
}

/** A modem line announcing more raw bytes than exist (line noise on '+QIRD: 1500' gives '+QIRD: 99999999999'). */
function corruptedRawLength(lengthText: string, tail: Uint8Array): void {
  const { clock, halClock } = createClocks();
  const serial = new FuzzSerial();
  const engine = new AtEngine(serial, halClock);
  // The same callback bg96.ts gives AT+QIRD.
  const rawLength = (line: string): number => {
    const length = integer(parameters(line, '+QIRD:')[0]);
    return isNaN(length) ? 0 : length;
  };
  const settled = withSettlementTracking(
    () => clock.now(),
    (recorded): Settlement[] => {
      engine.send('AT+QIRD=0', { expect: '+QIRD:', rawLength, timeout: 1000 }).then(undefined, () => undefined);
      clock.advance(1);
      serial.deliver(bytesOf('\r\n+QIRD: ' + lengthText + ',"10.0.0.1",5683\r\n'));
      serial.deliver(tail);
      clock.advance(2000);
      return recorded;
    },
  );
  if (serial.escaped.length > 0) throw new Error(`'+QIRD: ${lengthText}' threw out of the receive handler: ${String(serial.escaped[0])}`);
  if (settled.length !== 1) throw new Error('the command did not settle');
}

export const atEngineTarget: FuzzTarget = {
  name: 'at-engine',
  description: 'AT engine: scripted modem with exact oracle; random byte streams with random commands; corrupted raw lengths',
  properties: [
    { name: 'scripted modem: every command ends exactly as the modem said, URCs never taken for results', property: scriptedModemProperty, runs: 1000 },
    {
      name: 'random streams: no throw, settles once in order within its timeout, drains, recovers',
      property: () => fc.property(fc.array(chaosCommand, { minLength: 1, maxLength: 5 }), fc.array(burst, { maxLength: 12 }), chaos) as fc.IRawProperty<unknown>,
      runs: 1500,
    },
    {
      name: 'raw read announcing an absurd length (BG96 AT+QIRD callback): no throw',
      property: () =>
        fc.property(
          // Lengths from 2^33 up (smaller absurd ones allocate gigabytes in Node before failing)
          fc.oneof(fc.bigInt({ min: 2n ** 33n, max: 10n ** 15n }).map(String), fc.constantFrom('99999999999', '8589934592')),
          fc.uint8Array({ maxLength: 32 }),
          corruptedRawLength,
        ) as fc.IRawProperty<unknown>,
      runs: 20,
    },
  ],
};
