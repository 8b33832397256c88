/**
 * Adapters from the crypto a platform has to what the codec needs. Each takes the platform's crypto module as
 * an injected object (never a global), so the same code runs on a board, in the simulator and on the gateway:
 * - Espruino: `require("crypto")`, whose `AES.encrypt(data, key, {mode, iv})` returns an ArrayBuffer of the
 *   input's length. ECB processes whole blocks; CBC starts from `iv`; CTR ignores `iv` (it always counts from a
 *   zero block, libs/crypto/jswrap_crypto.c) so it is of no use for CCM and not used here.
 * - Node: `require("node:crypto")`, ECB/CBC for the BlockCipher, or its own aes-128-ccm as a complete AEAD.
 */
import { BlockCipher } from './aes';
import { Aead, CCM_TAG_LENGTH } from './aesccm';
import { ProtocolError } from './errors';
import { copyBytes } from '../runtime/typed-arrays';

export interface EspruinoAesOptions {
  mode?: string;
  iv?: Uint8Array;
}

/** The part of Espruino's `require("crypto")` that the codec uses. */
export interface EspruinoCryptoModule {
  AES: {
    encrypt(data: Uint8Array, key: Uint8Array, options?: EspruinoAesOptions): ArrayBuffer | undefined;
  };
}

const ZERO_IV = new Uint8Array(16);
const NO_IV = new Uint8Array(0);

function checkedResult(result: ArrayBuffer | undefined, length: number): Uint8Array {
  // On errors Espruino prints "ERROR: ..." and returns undefined instead of throwing.
  if (!result || result.byteLength !== length) throw new ProtocolError('crypto', 'native AES returned no result or a wrong length');
  return new Uint8Array(result);
}

export function createEspruinoBlockCipher(cryptoModule: EspruinoCryptoModule): BlockCipher {
  const aes = cryptoModule.AES;
  return {
    encryptBlock: function (key, block) {
      return checkedResult(aes.encrypt(block, key, { mode: 'ECB' }), 16);
    },
    encryptBlocks: function (key, data) {
      return checkedResult(aes.encrypt(data, key, { mode: 'ECB' }), data.length);
    },
    cbcMac: function (key, data) {
      const chained = checkedResult(aes.encrypt(data, key, { mode: 'CBC', iv: ZERO_IV }), data.length);
      return chained.subarray(chained.length - 16);
    },
  };
}

export interface NodeCipherLike {
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  setAutoPadding(autoPadding?: boolean): unknown;
}

export interface NodeCcmCipherLike {
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  setAAD(data: Uint8Array, options: { plaintextLength: number }): unknown;
  getAuthTag(): Uint8Array;
}

export interface NodeCcmDecipherLike {
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  setAAD(data: Uint8Array, options: { plaintextLength: number }): unknown;
  setAuthTag(tag: Uint8Array): unknown;
}

/** The part of node:crypto the adapters use; pass `require("node:crypto")` (typed loosely to avoid Node types here). */
export interface NodeCryptoModule {
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options?: { authTagLength: number }): unknown;
  createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options?: { authTagLength: number }): unknown;
}

function runCipher(cipher: NodeCipherLike, data: Uint8Array): Uint8Array {
  cipher.setAutoPadding(false);
  const first = cipher.update(data);
  const last = cipher.final();
  if (last.length === 0) return new Uint8Array(first.buffer, first.byteOffset, first.length);
  const joined = new Uint8Array(first.length + last.length);
  joined.set(first);
  joined.set(last, first.length);
  return joined;
}

export function createNodeBlockCipher(nodeCrypto: NodeCryptoModule): BlockCipher {
  function ecb(key: Uint8Array, data: Uint8Array): Uint8Array {
    return runCipher(nodeCrypto.createCipheriv('aes-128-ecb', key, NO_IV) as NodeCipherLike, data);
  }
  return {
    encryptBlock: ecb,
    encryptBlocks: ecb,
    cbcMac: function (key, data) {
      const chained = runCipher(nodeCrypto.createCipheriv('aes-128-cbc', key, ZERO_IV) as NodeCipherLike, data);
      return chained.subarray(chained.length - 16);
    },
  };
}

/** node:crypto's own AES-CCM (OpenSSL): fast, and an independent implementation to check ours against. */
export function createNodeCcmAead(nodeCrypto: NodeCryptoModule): Aead {
  return {
    seal: function (key, nonce, aad, plaintext) {
      const cipher = nodeCrypto.createCipheriv('aes-128-ccm', key, nonce, { authTagLength: CCM_TAG_LENGTH }) as NodeCcmCipherLike;
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      const tag = cipher.getAuthTag();
      const output = new Uint8Array(body.length + tag.length);
      output.set(body);
      output.set(tag, body.length);
      return output;
    },
    open: function (key, nonce, aad, ciphertextAndTag) {
      if (ciphertextAndTag.length < CCM_TAG_LENGTH) return null;
      const length = ciphertextAndTag.length - CCM_TAG_LENGTH;
      const decipher = nodeCrypto.createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: CCM_TAG_LENGTH }) as NodeCcmDecipherLike;
      decipher.setAuthTag(ciphertextAndTag.subarray(length));
      decipher.setAAD(aad, { plaintextLength: length });
      try {
        const plaintext = decipher.update(ciphertextAndTag.subarray(0, length));
        decipher.final();
        return copyBytes(new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length));
      } catch (error) {
        return null;
      }
    },
  };
}
