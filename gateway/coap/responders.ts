/**
 * How the gateway answers one authentic uplink: OSCORE-protected (RFC 8613 Section 8.3), or plain CoAP in the
 * development mode. Plain classes, not closures per uplink: they are made for every datagram.
 */
import type { Logger } from 'pino';
import { utf8Encode } from '../../firmware/protocol/bytes';
import { CoapCode, CoapMessage, CoapOption, CoapTypes, encodeCoap, encodeUintOption } from '../../firmware/protocol/coap';
import { isProtocolError } from '../../firmware/protocol/errors';
import { AcceptedUplink, buildDownlinkResponse, buildProtectedErrorResponse } from '../../firmware/protocol/server';
import { DownlinkMessage, encodeDownlink } from '../../firmware/protocol/uplink';
import type { ResponseSequence } from '../store/response-sequence';
import { CONTENT_FORMAT_CBOR, plainErrorResponse, plainResponse } from './plain';

export const SERVICE_UNAVAILABLE_RETRY_SECONDS = 10;

/** The codec's bytes as a Buffer without copying them (the codec hands over arrays it no longer uses). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export interface Responder {
  downlink(message: DownlinkMessage): Buffer;
  /** An application error (deterministic for a given request, so a repeat costs no fresh nonce use). */
  error(code: number, text: string): Buffer;
  /** 5.03 with Max-Age: store nothing, retry later. Null when it cannot be protected safely (nothing is sent). */
  unavailable(text: string): Buffer | null;
}

/** Message ids for responses that are new messages (answers to non-confirmable requests). */
export class MessageIds {
  private last = Math.floor(Math.random() * 0x10000);

  next(): number {
    this.last = (this.last + 1) & 0xffff;
    return this.last;
  }
}

export class OscoreResponder implements Responder {
  constructor(
    private readonly accepted: AcceptedUplink,
    private readonly requestLength: number,
    private readonly responseSequence: ResponseSequence,
    private readonly messageIds: MessageIds,
    private readonly logger: Logger,
  ) {}

  downlink(message: DownlinkMessage): Buffer {
    return asBuffer(buildDownlinkResponse(this.accepted, message, false));
  }

  error(code: number, text: string): Buffer {
    const accepted = this.accepted;
    return asBuffer(buildProtectedErrorResponse(accepted.context, accepted.binding, accepted.coap, code, text));
  }

  /**
   * RFC 8613 Section 8.3: an error from processing an authenticated request is a protected response (only the
   * OSCORE errors of Section 8.2 go unprotected). The request's replay window was not stored, so the same
   * request may be accepted again later and answered 2.04 under the request's nonce: this response therefore
   * uses a nonce of the gateway's own (its Partial IV is in the response; store/response-sequence.ts).
   */
  unavailable(text: string): Buffer | null {
    try {
      // Never larger than the request: the diagnostic text goes only if it fits.
      const withText = this.protectedUnavailable(text);
      return withText.length <= this.requestLength ? withText : this.protectedUnavailable('');
    } catch (error) {
      // No reserved sequence number left (the journal cannot reserve more): silence; the terminal retries anyway.
      if (isProtocolError(error) && (error.code === 'persist-failed' || error.code === 'sequence-exhausted')) {
        this.logger.warn({ error: error.message }, 'no response sequence number reserved; 5.03 not sent');
        return null;
      }
      throw error;
    }
  }

  private protectedUnavailable(diagnostic: string): Buffer {
    const accepted = this.accepted;
    const context = { ...accepted.context, sequence: this.responseSequence.sequence };
    const code = CoapCode.ServiceUnavailable;
    return asBuffer(buildProtectedErrorResponse(context, accepted.binding, accepted.coap, code, diagnostic, SERVICE_UNAVAILABLE_RETRY_SECONDS, true, this.messageIds.next()));
  }
}

/** Development mode (`insecurePlainCoap`): the same answers without OSCORE. */
export class PlainResponder implements Responder {
  private readonly messageId: number;

  constructor(
    private readonly request: CoapMessage,
    private readonly requestLength: number,
    private readonly messageIds: MessageIds,
  ) {
    this.messageId = messageIds.next();
  }

  downlink(message: DownlinkMessage): Buffer {
    return plainResponse(this.request, CoapCode.Changed, CONTENT_FORMAT_CBOR, encodeDownlink(message), this.messageId);
  }

  error(code: number, text: string): Buffer {
    return plainErrorResponse(this.request, code, text, this.messageId, this.requestLength);
  }

  unavailable(text: string): Buffer {
    // Never larger than the request: the diagnostic text goes only if it fits.
    const withText = this.plainUnavailable(text);
    return withText.length <= this.requestLength ? withText : this.plainUnavailable('');
  }

  private plainUnavailable(text: string): Buffer {
    const request = this.request;
    const confirmable = request.type === CoapTypes.Confirmable;
    return asBuffer(
      encodeCoap({
        type: confirmable ? CoapTypes.Acknowledgement : CoapTypes.NonConfirmable,
        code: CoapCode.ServiceUnavailable,
        messageId: confirmable ? request.messageId : this.messageIds.next(),
        token: request.token,
        options: [{ number: CoapOption.MaxAge, value: encodeUintOption(SERVICE_UNAVAILABLE_RETRY_SECONDS) }],
        payload: utf8Encode(text),
      }),
    );
  }
}
