/**
 * The gateway's side of an uplink exchange. `receiveUplink` takes raw datagram bytes from anyone on the
 * Internet and never throws: it returns the authenticated, decoded uplink or a typed rejection. Responses are
 * built here too: the protected downlink, and the error responses RFC 8613 Section 8.2 prescribes.
 */
import { utf8Encode } from './bytes';
import { CoapCode, CoapMessage, CoapOption, CoapOptionEntry, CoapTypes, decodeCoap, encodeCoap, encodeUintOption } from './coap';
import { isProtocolError } from './errors';
import { OscoreContext } from './oscore-context';
import { OscoreContextLookup, OscoreRejectReason, protectResponse, RequestBinding, unprotectRequest, UnprotectedRequest } from './oscore';
import { decodeUplink, DecodedUplink, DownlinkMessage, encodeDownlink } from './uplink';

export type UplinkRejectReason =
  | 'malformed-coap'
  | 'ping' // an empty confirmable message: answer with a Reset (RFC 7252 Section 4.3)
  | 'not-request' // acknowledgements, resets, responses
  | OscoreRejectReason
  | 'wrong-method' // authenticated, but not a POST
  | 'malformed-payload' // authenticated, but the uplink does not decode
  | 'internal-error'; // a bug: something threw that should not have

export interface AcceptedUplink {
  ok: true;
  context: OscoreContext;
  binding: RequestBinding;
  /** The datagram as received (outer message). */
  coap: CoapMessage;
  uplink: DecodedUplink;
}

export interface RejectedUplink {
  ok: false;
  reason: UplinkRejectReason;
  detail: string;
  /** The outer message when it parsed. */
  coap: CoapMessage | null;
  /** Set when the request authenticated (wrong-method, malformed-payload): the error response can be protected. */
  context: OscoreContext | null;
  binding: RequestBinding | null;
}

function rejected(reason: UplinkRejectReason, detail: string, coap: CoapMessage | null): RejectedUplink {
  return { ok: false, reason: reason, detail: detail, coap: coap, context: null, binding: null };
}

/** A request that authenticated but is refused: its context and binding let the error response be protected. */
function rejectedAuthenticated(reason: UplinkRejectReason, detail: string, coap: CoapMessage, unprotected: UnprotectedRequest): RejectedUplink {
  return { ok: false, reason: reason, detail: detail, coap: coap, context: unprotected.context, binding: unprotected.binding };
}

export function receiveUplink(datagram: Uint8Array, lookup: OscoreContextLookup): AcceptedUplink | RejectedUplink {
  try {
    return receive(datagram, lookup);
  } catch (error) {
    return rejected('internal-error', String(error), null);
  }
}

function receive(datagram: Uint8Array, lookup: OscoreContextLookup): AcceptedUplink | RejectedUplink {
  let coap: CoapMessage;
  try {
    coap = decodeCoap(datagram);
  } catch (error) {
    if (isProtocolError(error)) return rejected('malformed-coap', error.message, null);
    throw error;
  }
  if (coap.code === CoapCode.Empty) {
    return rejected(coap.type === CoapTypes.Confirmable ? 'ping' : 'not-request', 'empty message', coap);
  }
  if (coap.code >> 5 !== 0 || coap.type === CoapTypes.Acknowledgement || coap.type === CoapTypes.Reset) {
    return rejected('not-request', 'not a request', coap);
  }
  const unprotected = unprotectRequest(coap, lookup);
  if (!unprotected.ok) return rejected(unprotected.reason, unprotected.detail, coap);
  const request = unprotected.request;
  if (request.code !== CoapCode.Post) return rejectedAuthenticated('wrong-method', 'uplink must be a POST', coap, unprotected);
  let uplink: DecodedUplink;
  try {
    uplink = decodeUplink(request.payload);
  } catch (error) {
    if (isProtocolError(error)) return rejectedAuthenticated('malformed-payload', error.message, coap, unprotected);
    throw error;
  }
  return { ok: true, context: unprotected.context, binding: unprotected.binding, coap: coap, uplink: uplink };
}

function responseShell(request: CoapMessage, messageId: number | undefined, code: number, options: CoapOptionEntry[], payload: Uint8Array): CoapMessage {
  const confirmable = request.type === CoapTypes.Confirmable;
  return {
    type: confirmable ? CoapTypes.Acknowledgement : CoapTypes.NonConfirmable,
    code: code,
    messageId: confirmable || messageId === undefined ? request.messageId : messageId,
    token: request.token,
    options: options,
    payload: payload,
  };
}

/**
 * The piggybacked 2.04 response carrying the downlink. `ownPartialIv`: see protectResponse. `messageId` is
 * needed only for non-confirmable requests (their response is a new NON message).
 */
export function buildDownlinkResponse(accepted: AcceptedUplink, downlink: DownlinkMessage, ownPartialIv: boolean, messageId?: number): Uint8Array {
  const inner = responseShell(accepted.coap, messageId, CoapCode.Changed, [], encodeDownlink(downlink));
  return encodeCoap(protectResponse(accepted.context, accepted.binding, inner, ownPartialIv));
}

/**
 * An application error (4.xx/5.xx) for an authenticated request, protected, with a diagnostic text and an
 * optional Max-Age telling the terminal when to retry (e.g. 5.03 while the journal is unavailable).
 */
export function buildProtectedErrorResponse(
  context: OscoreContext,
  binding: RequestBinding,
  request: CoapMessage,
  code: number,
  diagnostic: string,
  retryAfterSeconds?: number,
  ownPartialIv?: boolean,
  messageId?: number,
): Uint8Array {
  const options: CoapOptionEntry[] = [];
  if (retryAfterSeconds !== undefined) options.push({ number: CoapOption.MaxAge, value: encodeUintOption(retryAfterSeconds) });
  const inner = responseShell(request, messageId, code, options, utf8Encode(diagnostic));
  return encodeCoap(protectResponse(context, binding, inner, ownPartialIv === true));
}

/**
 * What to send back for a rejected datagram, or null for silence. RFC 8613 Section 8.2: OSCORE failures get an
 * unprotected error (4.02 for a bad option, 4.01 for an unknown context or a replay, 4.00 for failed
 * decryption); failures after authentication get a protected 4.00 or 4.05. Pings get a Reset. Non-requests
 * and unparseable datagrams get nothing, so the gateway is no amplifier.
 */
export function buildRejectionResponse(rejection: RejectedUplink, ownPartialIv: boolean, messageId?: number): Uint8Array | null {
  const request = rejection.coap;
  if (!request) return null;
  if (rejection.reason === 'ping') {
    return encodeCoap({ type: CoapTypes.Reset, code: CoapCode.Empty, messageId: request.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
  }
  if (request.type !== CoapTypes.Confirmable && request.type !== CoapTypes.NonConfirmable) return null;
  if (rejection.context && rejection.binding) {
    const code = rejection.reason === 'wrong-method' ? 0x85 /* 4.05 Method Not Allowed */ : CoapCode.BadRequest;
    const inner = responseShell(request, messageId, code, [], utf8Encode(rejection.detail));
    return encodeCoap(protectResponse(rejection.context, rejection.binding, inner, ownPartialIv));
  }
  // Unauthenticated replies carry no diagnostic payload (RFC 8613 Section 8.2 allows one, it does not require it):
  // with the token echoed and nothing added they are never larger than the request, so a spoofed source address
  // cannot use the gateway as an amplifier.
  let code: number;
  switch (rejection.reason) {
    case 'malformed-oscore-option':
    case 'bad-outer-code':
    case 'missing-kid':
    case 'missing-partial-iv':
      code = CoapCode.BadOption;
      break;
    case 'unknown-kid':
    case 'replay':
    case 'not-oscore':
      code = CoapCode.Unauthorized;
      break;
    case 'auth-failed':
    case 'malformed-inner':
      code = CoapCode.BadRequest;
      break;
    default:
      return null;
  }
  return encodeCoap(responseShell(request, messageId, code, [], new Uint8Array(0)));
}
