/**
 * AES-CCM for the gateway's OSCORE contexts: the codec's own CCM (firmware/protocol/aesccm.ts, the same code the
 * terminal runs) over node:crypto AES whose cipher objects are kept per key. A message then costs two native
 * calls (one CBC-MAC, one key stream) and no cipher set-up, where node:crypto's aes-128-ccm allocates a context
 * and expands the key for every message (about a tenth of the gateway's time per uplink, in profiles).
 *
 * The CBC cipher of a key is reused from one MAC to the next: its chaining value after a call is the last
 * ciphertext block, so XORing that into the first block of the next input gives exactly the CBC-MAC with a zero
 * IV that CCM needs (E(P1 xor C_prev xor C_prev) = E(P1)). At most `maximumKeys` keys keep their ciphers (about
 * 2.7 KB each); a full cache starts over.
 */
import nodeCrypto, { Cipher } from 'node:crypto';
import type { BlockCipher } from '../firmware/protocol/aes';
import { Aead, createCcmAead } from '../firmware/protocol/aesccm';
import { bytesEqual } from '../firmware/protocol/bytes';

interface KeyCiphers {
  /** A copy of the key. */
  key: Uint8Array;
  ecb: Cipher;
  cbc: Cipher;
  /** The CBC cipher's chaining value: the last block it produced (zero before the first call). */
  chain: Uint8Array;
}

const ZERO_BLOCK = Buffer.alloc(16);

export const DEFAULT_CACHED_KEYS = 8192;

export function createCachedCcmAead(maximumKeys = DEFAULT_CACHED_KEYS): Aead {
  const ciphers = new Map<string, KeyCiphers>();
  /**
   * The same ciphers by key array: a device's keys are arrays kept in its context, so a lookup by identity finds
   * them without turning the key into a string. Replaced when the cache starts over, so that bound holds.
   */
  let byArray = new WeakMap<Uint8Array, KeyCiphers>();
  // CCM asks twice per message for the same key (key stream, then MAC): the second time needs no lookup.
  const lastKey = new Uint8Array(16);
  let lastEntry: KeyCiphers | null = null;

  function sameAsLast(key: Uint8Array): boolean {
    if (key.length !== 16) return false;
    for (let index = 0; index < 16; index++) if (key[index] !== lastKey[index]) return false;
    return true;
  }

  function ciphersFor(key: Uint8Array): KeyCiphers {
    if (lastEntry && sameAsLast(key)) return lastEntry;
    let entry = byArray.get(key);
    // The array's bytes may have changed since (a caller reusing its array): the entry counts only if they match.
    if (!entry || !bytesEqual(entry.key, key)) {
      const name = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
      entry = ciphers.get(name);
      if (!entry) {
        if (ciphers.size >= maximumKeys) {
          ciphers.clear();
          byArray = new WeakMap();
        }
        const ecb = nodeCrypto.createCipheriv('aes-128-ecb', key, null);
        ecb.setAutoPadding(false);
        const cbc = nodeCrypto.createCipheriv('aes-128-cbc', key, ZERO_BLOCK);
        cbc.setAutoPadding(false);
        entry = { key: new Uint8Array(key), ecb, cbc, chain: ZERO_BLOCK };
        ciphers.set(name, entry);
      }
      byArray.set(key, entry);
    }
    lastKey.set(key);
    lastEntry = entry;
    return entry;
  }

  function blocks(cipher: Cipher, data: Uint8Array, length: number): Buffer {
    const output = cipher.update(data);
    // Whole blocks in, the same length out (no padding, nothing held back when encrypting).
    if (output.length !== length) throw new Error(`AES returned ${output.length} bytes for ${length}`);
    return output;
  }

  const blockCipher: BlockCipher = {
    encryptBlock: (key, block) => blocks(ciphersFor(key).ecb, block, 16),
    encryptBlocks: (key, data) => blocks(ciphersFor(key).ecb, data, data.length),
    cbcMac: (key, data) => {
      const entry = ciphersFor(key);
      const chain = entry.chain;
      // XOR the chaining value in for the call and out again afterwards: no copy, and the caller's bytes come back unchanged.
      for (let index = 0; index < 16; index++) data[index]! ^= chain[index]!;
      let output: Buffer;
      try {
        output = blocks(entry.cbc, data, data.length);
      } finally {
        for (let index = 0; index < 16; index++) data[index]! ^= chain[index]!;
      }
      entry.chain = output.subarray(output.length - 16);
      return entry.chain;
    },
  };
  return createCcmAead(blockCipher);
}
