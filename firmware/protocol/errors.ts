/**
 * The one error type of the protocol codec. It does not extend Error: on Espruino a subclass of Error is not
 * `instanceof Error`, so callers check `error.name === 'ProtocolError'` and switch on `code`.
 */

export type ProtocolErrorCode =
  | 'truncated' // input ended inside an item
  | 'malformed' // bytes that the format forbids (reserved values, bad UTF-8, ...)
  | 'unsupported' // valid in the format but outside what this codec accepts (indefinite lengths, tags, huge integers)
  | 'limit' // a depth, size or count limit was exceeded
  | 'invalid-argument' // a caller passed a value that cannot be encoded
  | 'sequence-exhausted' // the OSCORE sender sequence number space is used up
  | 'persist-failed' // the sequence number checkpoint could not be stored, so nothing may be sent
  | 'crypto'; // a crypto backend returned something unusable

export class ProtocolError {
  readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    readonly message: string,
    /** Byte offset in the input where the problem was found, when there is one. */
    readonly offset?: number,
  ) {}
  toString(): string {
    return 'ProtocolError[' + this.code + '] ' + this.message + (this.offset === undefined ? '' : ' at byte ' + this.offset);
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'ProtocolError';
}
