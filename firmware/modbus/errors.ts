/**
 * The one error type of the Modbus master. It does not extend Error (on Espruino a subclass of Error is
 * not `instanceof Error`): check `error.name === 'ModbusError'` and switch on `code`.
 */

export type ModbusErrorCode =
  | 'timeout' // no (complete) answer within the response timeout
  | 'crc' // a frame arrived whose CRC does not match
  | 'short-frame' // the line went silent before the frame was complete
  | 'wrong-unit' // an answer came from another unit id than the one asked
  | 'wrong-function' // the answer names another function than the request
  | 'malformed' // length or content of the answer contradicts the request
  | 'exception' // the slave answered with an exception response (see exceptionCode)
  | 'invalid-request' // the caller asked for something Modbus cannot express
  | 'offline' // the slave is marked offline and this request was not attempted
  | 'cancelled'; // the master was stopped with the request still queued

/** Modbus Application Protocol V1.1b3, section 7. */
export const exceptionNames: { [code: number]: string } = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export class ModbusError {
  readonly name = 'ModbusError';
  constructor(
    readonly code: ModbusErrorCode,
    readonly message: string,
    readonly unitId: number,
    readonly functionCode: number,
    /** First register or coil address of the request, when it has one. */
    readonly address?: number,
    /** The exception code of an exception response. */
    readonly exceptionCode?: number,
  ) {}
  toString(): string {
    let text = 'ModbusError[' + this.code + '] unit ' + this.unitId + ' function ' + this.functionCode;
    if (this.address !== undefined) text += ' address ' + this.address;
    return text + ': ' + this.message;
  }
}

export function isModbusError(value: unknown): value is ModbusError {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'ModbusError';
}
