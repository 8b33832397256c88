/**
 * OSCORE message protection (RFC 8613 Section 8) for CoAP requests and piggybacked responses.
 *
 * Option classes (Section 4.1): Uri-Host, Uri-Port, Proxy-Scheme and Proxy-Uri stay outside (class U);
 * every other option is encrypted (class E). The outer code is POST for requests and 2.04 for responses.
 * Verification failures come back as typed reasons, never as exceptions, because the gateway has to answer
 * hostile datagrams without crashing.
 */
import { ByteWriter } from './bytes';
import { CoapCode, CoapMessage, CoapOption, CoapOptionEntry, findOption, readOptions, writeOptions } from './coap';
import { isProtocolError } from './errors';
import {
  OscoreContext,
  buildAad,
  buildNonce,
  decodeOscoreOption,
  decodePartialIv,
  encodeOscoreOption,
  encodePartialIv,
  OscoreOptionValue,
  OSCORE_MAX_ID_LENGTH,
} from './oscore-context';
import { ProtocolError } from './errors';

/** What a response must be bound to: the request's kid and Partial IV (they go into the response AAD). */
export interface RequestBinding {
  kid: Uint8Array;
  partialIv: Uint8Array;
  sequenceNumber: number;
  /**
   * The request's AAD, which is also the response's (both are built from the request's kid and Partial IV):
   * kept by the receiving side so its response does not build it again. Absent on the terminal's side.
   */
  aad?: Uint8Array;
}

export type OscoreRejectReason =
  | 'not-oscore' // no OSCORE option
  | 'bad-outer-code' // outer code other than POST (requests) or 2.04 (responses); Observe (FETCH/2.05) is not used
  | 'malformed-oscore-option'
  | 'missing-kid' // a request without kid
  | 'missing-partial-iv' // a request without Partial IV
  | 'unknown-kid'
  | 'replay'
  | 'auth-failed' // tag did not verify: wrong key, tampering, or a response to another request
  | 'malformed-inner'; // authenticated, but the decrypted CoAP part is not valid

export interface OscoreRejection {
  ok: false;
  reason: OscoreRejectReason;
  detail: string;
}

function reject(reason: OscoreRejectReason, detail: string): OscoreRejection {
  return { ok: false, reason: reason, detail: detail };
}

function isOuterOption(number: number): boolean {
  return number === CoapOption.UriHost || number === CoapOption.UriPort || number === CoapOption.ProxyScheme || number === CoapOption.ProxyUri;
}

function splitOptions(options: CoapOptionEntry[]): { outer: CoapOptionEntry[]; inner: CoapOptionEntry[] } {
  const outer: CoapOptionEntry[] = [];
  const inner: CoapOptionEntry[] = [];
  for (let index = 0; index < options.length; index++) {
    const option = options[index];
    if (option.number === CoapOption.Oscore) throw new ProtocolError('invalid-argument', 'message is already OSCORE-protected');
    if (isOuterOption(option.number)) outer.push(option);
    else inner.push(option);
  }
  return { outer: outer, inner: inner };
}

/** Plaintext (Section 5.3): inner code, class E options, and 0xFF + payload when there is one. */
export function encodePlaintext(code: number, innerOptions: CoapOptionEntry[], payload: Uint8Array): Uint8Array {
  const writer = new ByteWriter(8 + payload.length);
  writer.byte(code);
  writeOptions(writer, innerOptions);
  if (payload.length > 0) {
    writer.byte(0xff);
    writer.append(payload);
  }
  return writer.bytes();
}

export function decodePlaintext(plaintext: Uint8Array): { code: number; options: CoapOptionEntry[]; payload: Uint8Array } {
  if (plaintext.length < 1) throw new ProtocolError('truncated', 'OSCORE plaintext without a code', 0);
  const parsed = readOptions(plaintext, 1, plaintext.length);
  for (let index = 0; index < parsed.options.length; index++) {
    if (parsed.options[index].number === CoapOption.Oscore) throw new ProtocolError('malformed', 'OSCORE option inside the plaintext', 1);
  }
  return { code: plaintext[0], options: parsed.options, payload: plaintext.subarray(parsed.payloadStart, plaintext.length) };
}

function outerMessage(message: CoapMessage, code: number, outer: CoapOptionEntry[], optionValue: Uint8Array, ciphertext: Uint8Array): CoapMessage {
  const options = outer.slice(0);
  options.push({ number: CoapOption.Oscore, value: optionValue });
  return { type: message.type, code: code, messageId: message.messageId, token: message.token, options: options, payload: ciphertext };
}

function innerMessage(outer: CoapMessage, outerOptions: CoapOptionEntry[], plaintext: Uint8Array): CoapMessage {
  const decoded = decodePlaintext(plaintext);
  const options: CoapOptionEntry[] = [];
  for (let index = 0; index < outerOptions.length; index++) {
    if (outerOptions[index].number !== CoapOption.Oscore) options.push(outerOptions[index]);
  }
  for (let index = 0; index < decoded.options.length; index++) options.push(decoded.options[index]);
  return { type: outer.type, code: decoded.code, messageId: outer.messageId, token: outer.token, options: options, payload: decoded.payload };
}

/** Protects a request with the context's next sequence number (Section 8.1). May throw 'persist-failed'. */
export function protectRequest(context: OscoreContext, request: CoapMessage): { message: CoapMessage; binding: RequestBinding } {
  if (!context.sequence) throw new ProtocolError('invalid-argument', 'context has no sender sequence');
  const keys = context.keys;
  const parts = splitOptions(request.options);
  const sequenceNumber = context.sequence.take();
  const partialIv = encodePartialIv(sequenceNumber);
  const nonce = buildNonce(keys.senderId, partialIv, keys.commonIv);
  const aad = buildAad(keys.senderId, partialIv);
  const ciphertext = context.aead.seal(keys.senderKey, nonce, aad, encodePlaintext(request.code, parts.inner, request.payload));
  const optionValue = encodeOscoreOption({
    partialIv: partialIv,
    kid: keys.senderId,
    kidContext: context.sendIdContext && keys.idContext ? keys.idContext : null,
  });
  return {
    message: outerMessage(request, CoapCode.Post, parts.outer, optionValue, ciphertext),
    binding: { kid: keys.senderId, partialIv: partialIv, sequenceNumber: sequenceNumber },
  };
}

export interface UnprotectedRequest {
  ok: true;
  context: OscoreContext;
  request: CoapMessage;
  binding: RequestBinding;
}

/** Finds the context for a request's kid (and kid context when the request carries one), or null. */
export type OscoreContextLookup = (kid: Uint8Array, kidContext: Uint8Array | null) => OscoreContext | null;

function parseOption(message: CoapMessage): OscoreOptionValue | OscoreRejection {
  const option = findOption(message.options, CoapOption.Oscore);
  if (!option) return reject('not-oscore', 'no OSCORE option');
  let count = 0;
  for (let index = 0; index < message.options.length; index++) if (message.options[index].number === CoapOption.Oscore) count++;
  if (count > 1) return reject('malformed-oscore-option', 'repeated OSCORE option');
  try {
    return decodeOscoreOption(option.value);
  } catch (error) {
    if (isProtocolError(error)) return reject('malformed-oscore-option', error.message);
    throw error;
  }
}

function isRejection(value: unknown): value is OscoreRejection {
  return (value as OscoreRejection).ok === false;
}

/**
 * Verifies and decrypts a request (Section 8.2). On success the sequence number is recorded in the context's
 * replay window (the caller persists `context.replay.state()` if it must survive a restart).
 */
export function unprotectRequest(message: CoapMessage, lookup: OscoreContextLookup): UnprotectedRequest | OscoreRejection {
  const parsed = parseOption(message);
  if (isRejection(parsed)) return parsed;
  if (message.code !== CoapCode.Post) return reject('bad-outer-code', 'outer code of a request must be POST');
  if (!parsed.kid) return reject('missing-kid', 'request without kid');
  if (!parsed.partialIv) return reject('missing-partial-iv', 'request without Partial IV');
  if (parsed.kid.length > OSCORE_MAX_ID_LENGTH) return reject('unknown-kid', 'kid longer than any sender ID');
  let sequenceNumber: number;
  try {
    sequenceNumber = decodePartialIv(parsed.partialIv);
  } catch (error) {
    if (isProtocolError(error)) return reject('malformed-oscore-option', error.message);
    throw error;
  }
  const context = lookup(parsed.kid, parsed.kidContext);
  if (!context) return reject('unknown-kid', 'no security context for this kid');
  const keys = context.keys;
  if (context.replay && !context.replay.isFresh(sequenceNumber)) return reject('replay', 'sequence number already seen or too old');
  const nonce = buildNonce(parsed.kid, parsed.partialIv, keys.commonIv);
  const aad = buildAad(parsed.kid, parsed.partialIv);
  const plaintext = context.aead.open(keys.recipientKey, nonce, aad, message.payload);
  if (!plaintext) return reject('auth-failed', 'authentication tag did not verify');
  if (context.replay) context.replay.accept(sequenceNumber);
  let request: CoapMessage;
  try {
    request = innerMessage(message, message.options, plaintext);
  } catch (error) {
    if (isProtocolError(error)) return reject('malformed-inner', error.message);
    throw error;
  }
  return { ok: true, context: context, request: request, binding: { kid: parsed.kid, partialIv: parsed.partialIv, sequenceNumber: sequenceNumber, aad: aad } };
}

/**
 * Protects a response to the request described by `binding` (Section 8.3). Without `ownPartialIv` it reuses
 * the request nonce, which is safe only if each request gets at most one response (the gateway answers a
 * duplicate request from its cache, never by protecting a new plaintext). With `ownPartialIv` it takes a number
 * from the context's own sequence and sends it in the option (like RFC 8613 Appendix C.8).
 */
export function protectResponse(context: OscoreContext, binding: RequestBinding, response: CoapMessage, ownPartialIv: boolean): CoapMessage {
  const keys = context.keys;
  const parts = splitOptions(response.options);
  let nonce: Uint8Array;
  let optionPartialIv: Uint8Array | null = null;
  if (ownPartialIv) {
    if (!context.sequence) throw new ProtocolError('invalid-argument', 'context has no sender sequence');
    optionPartialIv = encodePartialIv(context.sequence.take());
    nonce = buildNonce(keys.senderId, optionPartialIv, keys.commonIv);
  } else {
    nonce = buildNonce(binding.kid, binding.partialIv, keys.commonIv);
  }
  const aad = binding.aad || buildAad(binding.kid, binding.partialIv);
  const ciphertext = context.aead.seal(keys.senderKey, nonce, aad, encodePlaintext(response.code, parts.inner, response.payload));
  const optionValue = encodeOscoreOption({ partialIv: optionPartialIv, kid: null, kidContext: null });
  return outerMessage(response, CoapCode.Changed, parts.outer, optionValue, ciphertext);
}

export interface UnprotectedResponse {
  ok: true;
  response: CoapMessage;
}

/** Verifies and decrypts a response to the request described by `binding` (Section 8.4). */
export function unprotectResponse(context: OscoreContext, binding: RequestBinding, message: CoapMessage): UnprotectedResponse | OscoreRejection {
  const parsed = parseOption(message);
  if (isRejection(parsed)) return parsed;
  if (message.code !== CoapCode.Changed) return reject('bad-outer-code', 'outer code of a response must be 2.04');
  // Neither field is bound into a response's nonce or AAD, so accepting them would let anyone rewrite them.
  if (parsed.kid || parsed.kidContext) return reject('malformed-oscore-option', 'kid or kid context in a response');
  const keys = context.keys;
  let nonce: Uint8Array;
  if (parsed.partialIv) {
    try {
      decodePartialIv(parsed.partialIv);
    } catch (error) {
      if (isProtocolError(error)) return reject('malformed-oscore-option', error.message);
      throw error;
    }
    nonce = buildNonce(keys.recipientId, parsed.partialIv, keys.commonIv);
  } else {
    nonce = buildNonce(binding.kid, binding.partialIv, keys.commonIv);
  }
  const aad = buildAad(binding.kid, binding.partialIv);
  const plaintext = context.aead.open(keys.recipientKey, nonce, aad, message.payload);
  if (!plaintext) return reject('auth-failed', 'authentication tag did not verify');
  try {
    return { ok: true, response: innerMessage(message, message.options, plaintext) };
  } catch (error) {
    if (isProtocolError(error)) return reject('malformed-inner', error.message);
    throw error;
  }
}
