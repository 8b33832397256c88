/**
 * The terminal's side of an uplink exchange: a confirmable, OSCORE-protected POST carrying the uplink, and the
 * piggybacked response carrying the downlink. The CoAP token is empty: the exchange is matched by message id
 * (piggybacked responses only), and OSCORE binds the response to the request anyway (request kid and Partial IV
 * are in the response's AAD). Reading a response never throws.
 */
import { CoapCode, CoapMessage, CoapTypes, codeToString, decodeCoap, encodeCoap, findOption, CoapOption } from './coap';
import { utf8Decode } from './bytes';
import { isProtocolError } from './errors';
import { OscoreContext } from './oscore-context';
import { OscoreRejectReason, protectRequest, RequestBinding, unprotectResponse } from './oscore';
import { decodeDownlink, DownlinkMessage, encodeUplink, UplinkMessage } from './uplink';

export interface UplinkRequest {
  datagram: Uint8Array;
  messageId: number;
  binding: RequestBinding;
}

/** Builds the datagram (throws ProtocolError 'persist-failed' if the sequence checkpoint cannot be stored). */
export function buildUplinkRequest(context: OscoreContext, messageId: number, message: UplinkMessage): UplinkRequest {
  const inner: CoapMessage = {
    type: CoapTypes.Confirmable,
    code: CoapCode.Post,
    messageId: messageId,
    token: new Uint8Array(0),
    options: [],
    payload: encodeUplink(message),
  };
  const protectedRequest = protectRequest(context, inner);
  return { datagram: encodeCoap(protectedRequest.message), messageId: messageId, binding: protectedRequest.binding };
}

export type UplinkResponseRejectReason =
  | 'malformed-coap'
  | 'unrelated' // not an acknowledgement of this request (other message id, or a request)
  | 'reset' // the gateway reset the exchange
  | 'empty-acknowledgement' // a separate response was announced; we do not wait for those
  | 'security-error' // an unprotected error (4.00/4.01...) from the gateway's OSCORE layer; unauthenticated, so only informative
  | 'error-response' // an authenticated 4.xx/5.xx from the gateway application
  | 'malformed-payload'
  | OscoreRejectReason;

export type UplinkResponseResult =
  | { ok: true; code: number; downlink: DownlinkMessage }
  | { ok: false; reason: UplinkResponseRejectReason; detail: string; code?: number; maxAge?: number };

function diagnostic(payload: Uint8Array): string {
  try {
    return utf8Decode(payload, 0, payload.length);
  } catch (error) {
    return '';
  }
}

export function readUplinkResponse(context: OscoreContext, request: UplinkRequest, datagram: Uint8Array): UplinkResponseResult {
  let outer: CoapMessage;
  try {
    outer = decodeCoap(datagram);
  } catch (error) {
    return { ok: false, reason: 'malformed-coap', detail: isProtocolError(error) ? error.message : String(error) };
  }
  if (outer.messageId !== request.messageId || (outer.type !== CoapTypes.Acknowledgement && outer.type !== CoapTypes.Reset)) {
    return { ok: false, reason: 'unrelated', detail: 'not an acknowledgement of message ' + request.messageId };
  }
  if (outer.type === CoapTypes.Reset) return { ok: false, reason: 'reset', detail: 'gateway reset the exchange' };
  if (outer.code === CoapCode.Empty) return { ok: false, reason: 'empty-acknowledgement', detail: 'separate response announced' };
  if (!findOption(outer.options, CoapOption.Oscore)) {
    return { ok: false, reason: 'security-error', detail: codeToString(outer.code) + ' ' + diagnostic(outer.payload), code: outer.code };
  }
  const unprotected = unprotectResponse(context, request.binding, outer);
  if (!unprotected.ok) return { ok: false, reason: unprotected.reason, detail: unprotected.detail };
  const response = unprotected.response;
  if (response.code >> 5 !== 2) {
    const maxAgeOption = findOption(response.options, CoapOption.MaxAge);
    let maxAge: number | undefined;
    if (maxAgeOption && maxAgeOption.value.length <= 4) {
      maxAge = 0;
      for (let index = 0; index < maxAgeOption.value.length; index++) maxAge = maxAge * 256 + maxAgeOption.value[index];
    }
    const result: UplinkResponseResult = {
      ok: false,
      reason: 'error-response',
      detail: codeToString(response.code) + ' ' + diagnostic(response.payload),
      code: response.code,
    };
    if (maxAge !== undefined) result.maxAge = maxAge;
    return result;
  }
  try {
    return { ok: true, code: response.code, downlink: decodeDownlink(response.payload) };
  } catch (error) {
    if (isProtocolError(error)) return { ok: false, reason: 'malformed-payload', detail: error.message };
    throw error;
  }
}
