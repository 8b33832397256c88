/**
 * OSCORE key derivation (RFC 8613 Section 3.2) with HKDF-SHA256 (RFC 5869). The terminal never runs it: the
 * provisioning tool derives the sender/recipient keys and Common IV and the terminal stores only those.
 * HMAC-SHA256 is injected (node:crypto on the gateway), so this file has no platform dependency.
 */
import { ByteWriter, concatBytes } from './bytes';
import { MAJOR_ARRAY, writeBytes, writeHead, writeInteger, writeText } from './cbor';
import { ProtocolError } from './errors';
import { OscoreKeys, OSCORE_ALGORITHM_AES_CCM_16_64_128, OSCORE_MAX_ID_LENGTH, OSCORE_NONCE_LENGTH } from './oscore-context';

export type HmacSha256 = (key: Uint8Array, data: Uint8Array) => Uint8Array;

export function hkdfSha256(hmac: HmacSha256, salt: Uint8Array, inputKey: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 1 || length > 255 * 32) throw new ProtocolError('invalid-argument', 'HKDF output length out of range');
  const pseudoRandomKey = hmac(salt, inputKey);
  const output = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  let filled = 0;
  for (let counter = 1; filled < length; counter++) {
    previous = hmac(pseudoRandomKey, concatBytes([previous, info, new Uint8Array([counter])]));
    const take = Math.min(previous.length, length - filled);
    output.set(previous.subarray(0, take), filled);
    filled += take;
  }
  return output;
}

/** The HKDF info structure [id, id_context, alg_aead, type, L] (Section 3.2.1). */
export function derivationInfo(id: Uint8Array, idContext: Uint8Array | null, type: 'Key' | 'IV', length: number): Uint8Array {
  const writer = new ByteWriter(32);
  writeHead(writer, MAJOR_ARRAY, 5);
  writeBytes(writer, id);
  if (idContext) writeBytes(writer, idContext);
  else writer.byte(0xf6);
  writeInteger(writer, OSCORE_ALGORITHM_AES_CCM_16_64_128);
  writeText(writer, type);
  writeInteger(writer, length);
  return writer.bytes();
}

export interface MasterParameters {
  masterSecret: Uint8Array;
  /** Empty when not used (the default, Section 3.1). */
  masterSalt: Uint8Array;
  senderId: Uint8Array;
  recipientId: Uint8Array;
  idContext: Uint8Array | null;
}

export function deriveOscoreKeys(hmac: HmacSha256, parameters: MasterParameters): OscoreKeys {
  if (parameters.senderId.length > OSCORE_MAX_ID_LENGTH || parameters.recipientId.length > OSCORE_MAX_ID_LENGTH) {
    throw new ProtocolError('invalid-argument', 'OSCORE IDs must be at most 7 bytes with AES-CCM-16-64-128');
  }
  const derive = function (id: Uint8Array, type: 'Key' | 'IV', length: number): Uint8Array {
    return hkdfSha256(hmac, parameters.masterSalt, parameters.masterSecret, derivationInfo(id, parameters.idContext, type, length), length);
  };
  return {
    senderId: parameters.senderId,
    recipientId: parameters.recipientId,
    idContext: parameters.idContext,
    senderKey: derive(parameters.senderId, 'Key', 16),
    recipientKey: derive(parameters.recipientId, 'Key', 16),
    commonIv: derive(new Uint8Array(0), 'IV', OSCORE_NONCE_LENGTH),
  };
}

/** HMAC-SHA256 (RFC 2104) over a bare SHA-256, e.g. Espruino's `require("crypto").SHA256`. */
export function hmacFromSha256(sha256: (data: Uint8Array) => Uint8Array): HmacSha256 {
  return function (key: Uint8Array, data: Uint8Array): Uint8Array {
    let block = key;
    if (block.length > 64) block = sha256(block);
    const inner = new Uint8Array(64 + data.length);
    const outer = new Uint8Array(64 + 32);
    for (let index = 0; index < 64; index++) {
      const keyByte = index < block.length ? block[index] : 0;
      inner[index] = keyByte ^ 0x36;
      outer[index] = keyByte ^ 0x5c;
    }
    inner.set(data, 64);
    outer.set(sha256(inner), 64);
    return sha256(outer);
  };
}
