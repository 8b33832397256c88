/**
 * AES-CCM (RFC 3610, NIST SP 800-38C) with the OSCORE default parameters: COSE algorithm 10,
 * AES-CCM-16-64-128 = 128-bit key, 13-byte nonce (L = 2, so messages up to 65535 bytes), 8-byte tag (M = 8).
 *
 * It runs over any BlockCipher. When the backend offers batch operations (Espruino's native AES does: one
 * CBC call gives the CBC-MAC, one ECB call gives the whole key stream) a message costs two native calls.
 */
import { BlockCipher } from './aes';
import { constantTimeEqual } from './bytes';
import { ProtocolError } from './errors';

export const CCM_KEY_LENGTH = 16;
export const CCM_NONCE_LENGTH = 13;
export const CCM_TAG_LENGTH = 8;

/** Authenticated encryption as OSCORE uses it. `open` returns null when the tag does not verify. */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null;
}

function checkParameters(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, length: number): void {
  if (key.length !== CCM_KEY_LENGTH) throw new ProtocolError('invalid-argument', 'AES-CCM key must be 16 bytes');
  if (nonce.length !== CCM_NONCE_LENGTH) throw new ProtocolError('invalid-argument', 'AES-CCM nonce must be 13 bytes');
  if (length > 0xffff) throw new ProtocolError('invalid-argument', 'AES-CCM message longer than 65535 bytes');
  if (aad.length > 0xfeff) throw new ProtocolError('invalid-argument', 'AES-CCM associated data longer than 65279 bytes');
}

function roundUpToBlock(length: number): number {
  return (length + 15) & ~15;
}

/** B0 | encoded AAD | message, each part zero-padded to whole blocks (RFC 3610 Section 2.2). */
function macInput(nonce: Uint8Array, aad: Uint8Array, message: Uint8Array): Uint8Array {
  const aadPart = aad.length > 0 ? roundUpToBlock(2 + aad.length) : 0;
  const data = new Uint8Array(16 + aadPart + roundUpToBlock(message.length));
  data[0] = (aad.length > 0 ? 0x40 : 0) | (((CCM_TAG_LENGTH - 2) / 2) << 3) | 1;
  data.set(nonce, 1);
  data[14] = message.length >> 8;
  data[15] = message.length & 0xff;
  if (aad.length > 0) {
    data[16] = aad.length >> 8;
    data[17] = aad.length & 0xff;
    data.set(aad, 18);
  }
  data.set(message, 16 + aadPart);
  return data;
}

function cbcMac(cipher: BlockCipher, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (cipher.cbcMac) return cipher.cbcMac(key, data);
  let chain: Uint8Array = new Uint8Array(16);
  for (let offset = 0; offset < data.length; offset += 16) {
    for (let index = 0; index < 16; index++) chain[index] ^= data[offset + index];
    chain = cipher.encryptBlock(key, chain);
  }
  return chain;
}

/** Key stream blocks S_0 .. S_n for counter blocks A_i = flags | nonce | i (RFC 3610 Section 2.3). */
function keyStream(cipher: BlockCipher, key: Uint8Array, nonce: Uint8Array, messageLength: number): Uint8Array {
  const blocks = 1 + roundUpToBlock(messageLength) / 16;
  const counters = new Uint8Array(blocks * 16);
  for (let block = 0; block < blocks; block++) {
    const offset = block * 16;
    counters[offset] = 1; // L' = L - 1
    counters.set(nonce, offset + 1);
    counters[offset + 14] = block >> 8;
    counters[offset + 15] = block & 0xff;
  }
  if (cipher.encryptBlocks) return cipher.encryptBlocks(key, counters);
  const stream = new Uint8Array(counters.length);
  for (let offset = 0; offset < counters.length; offset += 16) {
    stream.set(cipher.encryptBlock(key, counters.subarray(offset, offset + 16)), offset);
  }
  return stream;
}

export function ccmSeal(cipher: BlockCipher, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkParameters(key, nonce, aad, plaintext.length);
  const tag = cbcMac(cipher, key, macInput(nonce, aad, plaintext));
  const stream = keyStream(cipher, key, nonce, plaintext.length);
  if (tag.length !== 16 || stream.length < 16 + plaintext.length) throw new ProtocolError('crypto', 'block cipher returned a short result');
  const output = new Uint8Array(plaintext.length + CCM_TAG_LENGTH);
  for (let index = 0; index < plaintext.length; index++) output[index] = plaintext[index] ^ stream[16 + index];
  for (let index = 0; index < CCM_TAG_LENGTH; index++) output[plaintext.length + index] = tag[index] ^ stream[index];
  return output;
}

export function ccmOpen(
  cipher: BlockCipher,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertextAndTag: Uint8Array,
): Uint8Array | null {
  if (ciphertextAndTag.length < CCM_TAG_LENGTH) return null;
  const length = ciphertextAndTag.length - CCM_TAG_LENGTH;
  checkParameters(key, nonce, aad, length);
  const stream = keyStream(cipher, key, nonce, length);
  if (stream.length < 16 + length) throw new ProtocolError('crypto', 'block cipher returned a short result');
  const plaintext = new Uint8Array(length);
  for (let index = 0; index < length; index++) plaintext[index] = ciphertextAndTag[index] ^ stream[16 + index];
  const tag = cbcMac(cipher, key, macInput(nonce, aad, plaintext));
  if (tag.length !== 16) throw new ProtocolError('crypto', 'block cipher returned a short result');
  const expected = new Uint8Array(CCM_TAG_LENGTH);
  for (let index = 0; index < CCM_TAG_LENGTH; index++) expected[index] = tag[index] ^ stream[index];
  if (!constantTimeEqual(expected, ciphertextAndTag.subarray(length))) return null;
  return plaintext;
}

export function createCcmAead(cipher: BlockCipher): Aead {
  return {
    seal: function (key, nonce, aad, plaintext) {
      return ccmSeal(cipher, key, nonce, aad, plaintext);
    },
    open: function (key, nonce, aad, ciphertextAndTag) {
      return ccmOpen(cipher, key, nonce, aad, ciphertextAndTag);
    },
  };
}
