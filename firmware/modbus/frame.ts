/**
 * Modbus RTU frames: build requests and check/parse responses for function codes 01, 02, 03, 04, 05, 06,
 * 15 and 16 (Modbus Application Protocol V1.1b3, section 6; Modbus over Serial Line V1.02, section 2.5).
 * Every check is strict: length, CRC, unit id, function, byte count and the echo of a write.
 */
import { crc16 } from './crc16';
import { ModbusError } from './errors';
import { copyBytes } from '../runtime/typed-arrays';

export const FunctionCodes = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
};

export interface ModbusRequest {
  /** 1..247; 0 is broadcast (writes only, nobody answers). */
  unitId: number;
  functionCode: number;
  /** First coil, input or register (protocol address, 0-based). */
  address: number;
  /** Reads: how many coils/inputs/registers. */
  quantity?: number;
  /** FC05: coil state (0 or 1); FC06: register value. */
  value?: number;
  /** FC15: coil states (0/1 each); FC16: register values. */
  values?: number[];
}

export interface ModbusResponse {
  unitId: number;
  functionCode: number;
  address: number;
  /** FC03/04: the register bytes exactly as on the wire (two per register, high byte first). */
  registerBytes?: Uint8Array;
  /** FC01/02: one entry (0 or 1) per coil or input asked for. */
  bits?: number[];
}

export const maximumQuantity: { [functionCode: number]: number } = { 1: 2000, 2: 2000, 3: 125, 4: 125, 15: 1968, 16: 123 };

function invalid(request: ModbusRequest, message: string): ModbusError {
  return new ModbusError('invalid-request', message, request.unitId, request.functionCode, request.address);
}

function isWord(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value <= 0xffff && value === Math.floor(value);
}

/** Number of data items the request covers (coils, inputs or registers). */
export function requestQuantity(request: ModbusRequest): number {
  const code = request.functionCode;
  if (code === 5 || code === 6) return 1;
  if (code === 15 || code === 16) return request.values ? request.values.length : 0;
  return request.quantity === undefined ? 0 : request.quantity;
}

/** Throws ModbusError('invalid-request') naming the first thing wrong with `request`. */
export function validateRequest(request: ModbusRequest): void {
  const code = request.functionCode;
  if (!(request.unitId >= 0 && request.unitId <= 247 && request.unitId === Math.floor(request.unitId))) {
    throw invalid(request, 'unit id must be 0..247');
  }
  if (!maximumQuantity[code] && code !== 5 && code !== 6) throw invalid(request, 'unsupported function code');
  if (request.unitId === 0 && code <= 4) throw invalid(request, 'broadcast (unit 0) is for writes only');
  if (!isWord(request.address)) throw invalid(request, 'address must be 0..65535');
  const quantity = requestQuantity(request);
  if (code === 5) {
    if (request.value !== 0 && request.value !== 1) throw invalid(request, 'coil value must be 0 or 1');
  } else if (code === 6) {
    if (!isWord(request.value)) throw invalid(request, 'register value must be 0..65535');
  } else if (quantity < 1 || quantity > maximumQuantity[code] || quantity !== Math.floor(quantity)) {
    throw invalid(request, 'quantity must be 1..' + maximumQuantity[code]);
  }
  if (request.address + quantity > 0x10000) throw invalid(request, 'address + quantity passes 65535');
  if (code === 15 || code === 16) {
    const values = request.values as number[];
    for (let index = 0; index < values.length; index++) {
      if (code === 15 ? values[index] !== 0 && values[index] !== 1 : !isWord(values[index])) {
        throw invalid(request, 'value ' + index + (code === 15 ? ' must be 0 or 1' : ' must be 0..65535'));
      }
    }
  }
}

function appendCrc(frame: Uint8Array): Uint8Array {
  const crc = crc16(frame, 0, frame.length - 2);
  frame[frame.length - 2] = crc & 0xff;
  frame[frame.length - 1] = crc >>> 8;
  return frame;
}

/** The RTU frame (address, PDU, CRC) for a request. Throws ModbusError('invalid-request'). */
export function buildRequest(request: ModbusRequest): Uint8Array {
  validateRequest(request);
  const code = request.functionCode;
  const quantity = requestQuantity(request);
  let frame: Uint8Array;
  if (code === 15) {
    const byteCount = (quantity + 7) >> 3;
    frame = new Uint8Array(9 + byteCount);
    frame[6] = byteCount;
    const values = request.values as number[];
    for (let index = 0; index < quantity; index++) if (values[index]) frame[7 + (index >> 3)] |= 1 << (index & 7);
  } else if (code === 16) {
    frame = new Uint8Array(9 + quantity * 2);
    frame[6] = quantity * 2;
    const values = request.values as number[];
    for (let index = 0; index < quantity; index++) {
      frame[7 + index * 2] = values[index] >>> 8;
      frame[8 + index * 2] = values[index] & 0xff;
    }
  } else {
    frame = new Uint8Array(8);
  }
  frame[0] = request.unitId;
  frame[1] = code;
  frame[2] = request.address >>> 8;
  frame[3] = request.address & 0xff;
  let word = quantity;
  if (code === 5) word = request.value ? 0xff00 : 0;
  else if (code === 6) word = request.value as number;
  frame[4] = word >>> 8;
  frame[5] = word & 0xff;
  return appendCrc(frame);
}

/** Length of the normal answer to `request`. */
export function expectedResponseLength(request: ModbusRequest): number {
  const code = request.functionCode;
  const quantity = requestQuantity(request);
  if (code === 1 || code === 2) return 5 + ((quantity + 7) >> 3);
  if (code === 3 || code === 4) return 5 + quantity * 2;
  return 8;
}

/**
 * The total length the frame in `received` announces once enough of its header is in, or -1 while that
 * is not known yet. Read answers carry a byte count; everything else has a fixed length.
 */
export function announcedLength(request: ModbusRequest, received: Uint8Array, receivedLength: number): number {
  if (receivedLength < 2) return -1;
  if (received[1] & 0x80) return 5;
  const code = received[1];
  if (code >= 1 && code <= 4) return receivedLength < 3 ? -1 : 5 + received[2];
  if (code === 5 || code === 6 || code === 15 || code === 16) return 8;
  return expectedResponseLength(request);
}

function fail(request: ModbusRequest, code: 'crc' | 'short-frame' | 'wrong-unit' | 'wrong-function' | 'malformed', message: string): never {
  throw new ModbusError(code, message, request.unitId, request.functionCode, request.address);
}

function word(frame: Uint8Array, offset: number): number {
  return (frame[offset] << 8) | frame[offset + 1];
}

/**
 * Check an answer frame against the request it answers and return its content. Throws ModbusError:
 * 'short-frame' when fewer bytes came than the frame announces, 'crc', 'wrong-unit', 'wrong-function',
 * 'malformed' (byte count or write echo wrong), 'exception' (with exceptionCode).
 */
export function parseResponse(request: ModbusRequest, frame: Uint8Array): ModbusResponse {
  const announced = announcedLength(request, frame, frame.length);
  if (frame.length < 4 || (announced > 0 && frame.length < announced)) {
    fail(request, 'short-frame', 'answer ended after ' + frame.length + ' bytes' + (announced > 0 ? ' of ' + announced : ''));
  }
  const crc = crc16(frame, 0, frame.length - 2);
  if (frame[frame.length - 2] !== (crc & 0xff) || frame[frame.length - 1] !== crc >>> 8) {
    fail(request, 'crc', 'CRC mismatch in a ' + frame.length + '-byte answer');
  }
  if (frame[0] !== request.unitId) fail(request, 'wrong-unit', 'answer from unit ' + frame[0]);
  if ((frame[1] & 0x7f) !== request.functionCode) fail(request, 'wrong-function', 'answer names function ' + (frame[1] & 0x7f));
  if (frame[1] & 0x80) {
    if (frame.length !== 5) fail(request, 'malformed', 'exception answer of ' + frame.length + ' bytes');
    throw new ModbusError('exception', 'exception ' + frame[2], request.unitId, request.functionCode, request.address, frame[2]);
  }
  if (frame.length !== expectedResponseLength(request)) {
    fail(request, 'malformed', 'answer has ' + frame.length + ' bytes, expected ' + expectedResponseLength(request));
  }
  const code = request.functionCode;
  const quantity = requestQuantity(request);
  const response: ModbusResponse = { unitId: frame[0], functionCode: code, address: request.address };
  if (code === 1 || code === 2) {
    if (frame[2] !== (quantity + 7) >> 3) fail(request, 'malformed', 'byte count ' + frame[2]);
    const bits: number[] = [];
    for (let index = 0; index < quantity; index++) bits.push((frame[3 + (index >> 3)] >> (index & 7)) & 1);
    response.bits = bits;
  } else if (code === 3 || code === 4) {
    if (frame[2] !== quantity * 2) fail(request, 'malformed', 'byte count ' + frame[2]);
    response.registerBytes = copyBytes(frame, 3, 3 + quantity * 2);
  } else {
    let echoed = quantity;
    if (code === 5) echoed = request.value ? 0xff00 : 0;
    else if (code === 6) echoed = request.value as number;
    if (word(frame, 2) !== request.address || word(frame, 4) !== echoed) fail(request, 'malformed', 'write echo does not match');
  }
  return response;
}
