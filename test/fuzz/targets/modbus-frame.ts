/**
 * Fuzz target: Modbus RTU response parsing (firmware/modbus/frame.ts) for function codes 1-6, 15, 16 and
 * exceptions. Correct answers are built here independently (the simulator slave's bitwise CRC, frames from the
 * spec's tables), then mutated. The parser must accept exactly the correct answer and read its content right, and
 * never accept a frame with a bad CRC, another unit id, another function code, a wrong length, a wrong byte count
 * or a wrong write echo; it throws only ModbusError with the right code.
 */
import fc from 'fast-check';
import { announcedLength, buildRequest, ModbusRequest, parseResponse } from '../../../firmware/modbus/frame';
import { isModbusError, ModbusErrorCode } from '../../../firmware/modbus/errors';
import { modbusCrcBitwise } from '../../../simulator/models/modbus-slave';
import type { FuzzTarget } from '../support/runner';

const quantityLimit: Record<number, number> = { 1: 2000, 2: 2000, 3: 125, 4: 125, 15: 1968, 16: 123 };

const request: fc.Arbitrary<ModbusRequest> = fc
  .record({
    unitId: fc.integer({ min: 1, max: 247 }),
    functionCode: fc.constantFrom(1, 2, 3, 4, 5, 6, 15, 16),
    address: fc.integer({ min: 0, max: 0xffff }),
    size: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.nat()),
    seed: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 200 }),
  })
  .map(({ unitId, functionCode, address, size, seed }) => {
    const room = 0x10000 - address;
    if (functionCode === 5) return { unitId, functionCode, address, value: seed[0]! & 1 };
    if (functionCode === 6) return { unitId, functionCode, address, value: seed[0]! };
    const quantity = 1 + (size % Math.min(quantityLimit[functionCode]!, room));
    if (functionCode === 15) return { unitId, functionCode, address, values: Array.from({ length: quantity }, (_, index) => seed[index % seed.length]! & 1) };
    if (functionCode === 16) return { unitId, functionCode, address, values: Array.from({ length: quantity }, (_, index) => seed[(index * 7) % seed.length]!) };
    return { unitId, functionCode, address, quantity };
  });

function withCrc(body: number[]): Uint8Array {
  const crc = modbusCrcBitwise(Uint8Array.from(body));
  return Uint8Array.from([...body, crc & 0xff, crc >> 8]);
}

interface Answer {
  frame: Uint8Array;
  bits?: number[];
  registers?: number[];
}

/** The correct answer to `request` from the spec (Modbus Application Protocol V1.1b3, section 6). */
function correctAnswer(request: ModbusRequest, data: number[]): Answer {
  const { unitId, functionCode, address } = request;
  if (functionCode === 1 || functionCode === 2) {
    const quantity = request.quantity!;
    const bits = Array.from({ length: quantity }, (_, index) => data[index % data.length]! & 1);
    const packed = new Array<number>(Math.ceil(quantity / 8)).fill(0);
    bits.forEach((bit, index) => (packed[Math.floor(index / 8)]! |= bit << (index % 8)));
    return { frame: withCrc([unitId, functionCode, packed.length, ...packed]), bits };
  }
  if (functionCode === 3 || functionCode === 4) {
    const registers = Array.from({ length: request.quantity! }, (_, index) => data[index % data.length]! & 0xffff);
    return { frame: withCrc([unitId, functionCode, registers.length * 2, ...registers.flatMap((value) => [value >> 8, value & 0xff])]), registers };
  }
  const word = functionCode === 5 ? (request.value ? 0xff00 : 0) : functionCode === 6 ? request.value! : request.values!.length;
  return { frame: withCrc([unitId, functionCode, address >> 8, address & 0xff, word >> 8, word & 0xff]) };
}

function parse(request: ModbusRequest, frame: Uint8Array): { ok: true; value: ReturnType<typeof parseResponse> } | { ok: false; code: ModbusErrorCode; exceptionCode?: number } {
  try {
    return { ok: true, value: parseResponse(request, frame) };
  } catch (error) {
    if (!isModbusError(error)) throw new Error('parseResponse threw a non-ModbusError: ' + String(error));
    return { ok: false, code: error.code, exceptionCode: error.exceptionCode };
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function checkAccepted(request: ModbusRequest, answer: Answer, frame: Uint8Array, result: ReturnType<typeof parse>): void {
  if (!result.ok) return;
  // Anything accepted must be the correct answer, byte for byte (there is exactly one for a given content), and
  // its content what was sent.
  const value = result.value;
  if (frame.length !== answer.frame.length) throw new Error(`accepted a ${frame.length}-byte frame for a ${answer.frame.length}-byte answer: ${hex(frame)}`);
  if (frame[0] !== request.unitId || frame[1] !== request.functionCode) throw new Error(`accepted unit ${frame[0]} function ${frame[1]}: ${hex(frame)}`);
  const crc = modbusCrcBitwise(frame, frame.length - 2);
  if (frame[frame.length - 2] !== (crc & 0xff) || frame[frame.length - 1] !== crc >> 8) throw new Error(`accepted a bad CRC: ${hex(frame)}`);
  if (request.functionCode >= 5 && hex(frame) !== hex(answer.frame)) throw new Error(`accepted a wrong write echo: ${hex(frame)}`);
  if (request.functionCode <= 2) {
    const sent = Array.from({ length: request.quantity! }, (_, index) => (frame[3 + (index >> 3)]! >> (index & 7)) & 1);
    if (JSON.stringify(value.bits) !== JSON.stringify(sent)) throw new Error('bits read wrong');
    if (frame[2] !== Math.ceil(request.quantity! / 8)) throw new Error(`accepted byte count ${frame[2]}`);
  }
  if (request.functionCode === 3 || request.functionCode === 4) {
    if (frame[2] !== request.quantity! * 2) throw new Error(`accepted byte count ${frame[2]}`);
    if (hex(value.registerBytes!) !== hex(frame.subarray(3, frame.length - 2))) throw new Error('register bytes read wrong');
  }
}

type Mutation =
  | { kind: 'flip'; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'extend'; bytes: Uint8Array; fixCrc: boolean }
  | { kind: 'overwrite'; at: number; byte: number; fixCrc: boolean }
  | { kind: 'header'; at: number; byte: number }
  | { kind: 'unit'; unit: number }
  | { kind: 'function'; code: number }
  | { kind: 'random'; bytes: Uint8Array; fixCrc: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), bit: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }), fixCrc: fc.boolean() }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), fixCrc: fc.boolean() }),
  fc.record({ kind: fc.constant('header' as const), at: fc.integer({ min: 0, max: 5 }), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('unit' as const), unit: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('function' as const), code: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 260 }), fixCrc: fc.boolean() }),
);

function recrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 3) return bytes;
  return withCrc([...bytes.subarray(0, bytes.length - 2)]);
}

function apply(frame: Uint8Array, change: Mutation): Uint8Array {
  switch (change.kind) {
    case 'flip': {
      const out = frame.slice();
      const bit = change.bit % (frame.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
      return out;
    }
    case 'truncate':
      return frame.slice(0, change.keep % frame.length);
    case 'extend': {
      const out = Uint8Array.from([...frame, ...change.bytes]);
      return change.fixCrc ? recrc(out) : out;
    }
    case 'overwrite': {
      const out = frame.slice();
      out[change.at % (frame.length - 2)] = change.byte;
      return change.fixCrc ? recrc(out) : out;
    }
    case 'header': {
      // A header field (unit, function, byte count, echoed address or value) changed, with a valid CRC.
      const out = frame.slice();
      out[change.at % (frame.length - 2)] = change.byte;
      return recrc(out);
    }
    case 'unit': {
      const out = frame.slice();
      out[0] = change.unit;
      return recrc(out);
    }
    case 'function': {
      const out = frame.slice();
      out[1] = change.code;
      return recrc(out);
    }
    default:
      return change.fixCrc ? recrc(Uint8Array.from([...change.bytes, 0, 0])) : change.bytes;
  }
}

function roundTrip(request: ModbusRequest, data: number[]): void {
  buildRequest(request);
  const answer = correctAnswer(request, data);
  const result = parse(request, answer.frame);
  if (!result.ok) throw new Error(`the correct answer was refused (${result.code}): ${hex(answer.frame)}`);
  if (answer.bits && JSON.stringify(result.value.bits) !== JSON.stringify(answer.bits)) throw new Error('bits differ');
  if (answer.registers) {
    const bytes = result.value.registerBytes!;
    const registers = Array.from({ length: bytes.length / 2 }, (_, index) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
    if (JSON.stringify(registers) !== JSON.stringify(answer.registers)) throw new Error('registers differ');
  }
  // The length the receiver waits for, once the header is in, is the whole answer.
  for (let received = 3; received <= answer.frame.length; received++) {
    const announced = announcedLength(request, answer.frame, received);
    if (announced !== answer.frame.length) throw new Error(`announced ${announced} after ${received} bytes of a ${answer.frame.length}-byte answer`);
  }
}

function mutated(request: ModbusRequest, data: number[], changes: Mutation[]): void {
  const answer = correctAnswer(request, data);
  let frame = answer.frame;
  for (const change of changes) frame = frame.length > 2 ? apply(frame, change) : frame;
  const result = parse(request, frame);
  checkAccepted(request, answer, frame, result);
  if (result.ok) return;
  // A frame whose CRC is wrong is refused for its CRC or its length, never for its content.
  const crc = frame.length >= 3 ? modbusCrcBitwise(frame, frame.length - 2) : -1;
  const crcGood = frame.length >= 3 && frame[frame.length - 2] === (crc & 0xff) && frame[frame.length - 1] === crc >> 8;
  if (!crcGood && result.code !== 'crc' && result.code !== 'short-frame') throw new Error(`bad-CRC frame refused as ${result.code}: ${hex(frame)}`);
  if (crcGood && frame.length >= 5 && frame[0] !== request.unitId && result.code !== 'wrong-unit' && result.code !== 'short-frame') throw new Error(`wrong unit refused as ${result.code}`);
  if (result.code === 'exception' && !(frame.length === 5 && frame[1] === (request.functionCode | 0x80) && result.exceptionCode === frame[2])) throw new Error(`exception misread: ${hex(frame)}`);
  for (let received = 0; received <= frame.length; received++) {
    const announced = announcedLength(request, frame, received);
    if (announced !== -1 && announced < 5) throw new Error(`announced length ${announced}`);
  }
}

function exception(request: ModbusRequest, code: number): void {
  const frame = withCrc([request.unitId, request.functionCode | 0x80, code]);
  const result = parse(request, frame);
  if (result.ok || result.code !== 'exception' || result.exceptionCode !== code) throw new Error(`exception ${code} read as ${JSON.stringify(result)}`);
  if (announcedLength(request, frame, 2) !== 5) throw new Error('an exception answer is 5 bytes');
}

const data = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 64 });

export const modbusFrameTarget: FuzzTarget = {
  name: 'modbus-frame',
  description: 'Modbus RTU response parser: correct answers, mutated answers (bit flips, truncation, extension, overwrites, other unit/function with a valid CRC, random frames), exceptions',
  properties: [
    { name: 'correct answers accepted with the right content; announced length right', property: () => fc.property(request, data, roundTrip) as fc.IRawProperty<unknown>, runs: 2000 },
    {
      name: 'mutated answers: never accepted unless byte-identical to a correct one; refused for the right reason',
      property: () => fc.property(request, data, fc.array(mutation, { minLength: 1, maxLength: 3 }), mutated) as fc.IRawProperty<unknown>,
      runs: 15000,
    },
    { name: 'exception answers read with their code', property: () => fc.property(request, fc.integer({ min: 0, max: 255 }), exception) as fc.IRawProperty<unknown>, runs: 1000 },
  ],
};
