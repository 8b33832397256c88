/**
 * Plain CoAP (no OSCORE) for the explicit development mode, so standard tools (libcoap's coap-client) can talk
 * to the gateway: `POST /up?imei=<IMEI>` with a SenML-CBOR uplink (Content-Format 112 or 60) answered with the
 * CBOR downlink, and `GET /.well-known/core` (RFC 6690). Never active unless `insecurePlainCoap` is set.
 */
import { utf8Decode, utf8Encode } from '../../firmware/protocol/bytes';
import { CoapCode, CoapMessage, CoapOption, CoapTypes, CONTENT_FORMAT_CBOR, CONTENT_FORMAT_SENML_CBOR, decodeUintOption, encodeCoap, encodeUintOption } from '../../firmware/protocol/coap';

export const UPLINK_PATH = 'up';
const CONTENT_FORMAT_LINK_FORMAT = 40;
const CONTENT_FORMAT_TEXT = 0;

function optionText(message: CoapMessage, number: number): string[] {
  const values: string[] = [];
  for (const option of message.options) {
    if (option.number !== number) continue;
    try {
      values.push(utf8Decode(option.value, 0, option.value.length));
    } catch {
      values.push('\ufffd');
    }
  }
  return values;
}

export type PlainRequest =
  | { kind: 'uplink'; imei: string }
  | { kind: 'discovery' }
  | { kind: 'invalid'; code: number; text: string };

export function classifyPlainRequest(message: CoapMessage): PlainRequest {
  const path = optionText(message, CoapOption.UriPath).join('/');
  if (path === '.well-known/core') {
    return message.code === CoapCode.Get ? { kind: 'discovery' } : { kind: 'invalid', code: 0x85, text: 'Method Not Allowed' };
  }
  if (path !== UPLINK_PATH) return { kind: 'invalid', code: CoapCode.NotFound, text: 'Not Found' };
  if (message.code !== CoapCode.Post) return { kind: 'invalid', code: 0x85, text: 'Method Not Allowed' };
  const format = message.options.find((option) => option.number === CoapOption.ContentFormat);
  if (format) {
    let value: number;
    try {
      value = decodeUintOption(format.value);
    } catch {
      return { kind: 'invalid', code: CoapCode.BadOption, text: 'Bad Content-Format' };
    }
    if (value !== CONTENT_FORMAT_SENML_CBOR && value !== CONTENT_FORMAT_CBOR) {
      return { kind: 'invalid', code: CoapCode.UnsupportedContentFormat, text: 'Uplink must be SenML-CBOR (112) or CBOR (60)' };
    }
  }
  const imei = optionText(message, CoapOption.UriQuery)
    .map((query) => /^imei=([0-9]{15})$/.exec(query))
    .find((match) => match !== null);
  if (!imei) return { kind: 'invalid', code: CoapCode.BadRequest, text: 'Query imei=<15 digits> required' };
  return { kind: 'uplink', imei: imei[1]! };
}

/** A piggybacked response (ACK for a confirmable request, NON otherwise) without OSCORE. */
export function plainResponse(request: CoapMessage, code: number, contentFormat: number | null, payload: Uint8Array, messageId: number): Buffer {
  const confirmable = request.type === CoapTypes.Confirmable;
  const options = contentFormat === null ? [] : [{ number: CoapOption.ContentFormat, value: encodeUintOption(contentFormat) }];
  return Buffer.from(
    encodeCoap({
      type: confirmable ? CoapTypes.Acknowledgement : CoapTypes.NonConfirmable,
      code,
      messageId: confirmable ? request.messageId : messageId,
      token: request.token,
      options,
      payload,
    }),
  );
}

/** An error with a diagnostic text, unless that would make it larger than the request (no amplification). */
export function plainErrorResponse(request: CoapMessage, code: number, text: string, messageId: number, requestLength: number): Buffer {
  const withText = plainResponse(request, code, CONTENT_FORMAT_TEXT, utf8Encode(text), messageId);
  return withText.length <= requestLength ? withText : plainResponse(request, code, null, new Uint8Array(0), messageId);
}

export function discoveryResponse(request: CoapMessage, messageId: number): Buffer {
  const links = `</${UPLINK_PATH}>;rt="udt.uplink";ct=${CONTENT_FORMAT_SENML_CBOR};title="POST a SenML-CBOR uplink with ?imei="`;
  return plainResponse(request, CoapCode.Content, CONTENT_FORMAT_LINK_FORMAT, utf8Encode(links), messageId);
}

export { CONTENT_FORMAT_CBOR };
