/** The gateway's own error type. `code` says what went wrong; callers switch on it rather than on messages. */
export type GatewayErrorCode =
  | 'config' // a setting is missing or invalid
  | 'registry' // a device cannot be created, found or changed as asked
  | 'storage' // SQLite failed
  | 'mqtt' // the broker refused or is unreachable
  | 'shutdown'; // the gateway is stopping

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
