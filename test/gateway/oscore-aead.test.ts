import { strict as assert } from 'node:assert';
import nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { createNodeCcmAead } from '../../firmware/protocol/crypto-backends';
import { createCachedCcmAead } from '../../gateway/oscore-aead';

describe('gateway: AES-CCM with cipher objects kept per key', () => {
  const reference = createNodeCcmAead(nodeCrypto);
  const bytes = (minimum: number, maximum: number) => fc.uint8Array({ minLength: minimum, maxLength: maximum });
  const message = fc.record({ key: fc.integer({ min: 0, max: 3 }), nonce: bytes(13, 13), aad: bytes(0, 70), plaintext: bytes(0, 100) });

  it("seals and opens exactly as node:crypto's aes-128-ccm, across keys and messages in any order and cache clears", () => {
    fc.assert(
      fc.property(fc.array(bytes(16, 16), { minLength: 4, maxLength: 4 }), fc.array(message, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), (keys, messages, cachedKeys) => {
        const cached = createCachedCcmAead(cachedKeys);
        for (const { key, nonce, aad, plaintext } of messages) {
          const sealed = cached.seal(keys[key]!, nonce, aad, plaintext);
          assert.deepEqual(Buffer.from(sealed), Buffer.from(reference.seal(keys[key]!, nonce, aad, plaintext)));
          assert.deepEqual(Buffer.from(cached.open(keys[key]!, nonce, aad, sealed)!), Buffer.from(plaintext));
        }
      }),
      { numRuns: 300, seed: 8613 },
    );
  });

  it('uses the bytes a key array holds now, when a caller writes another key into the same array', () => {
    fc.assert(
      fc.property(fc.array(bytes(16, 16), { minLength: 1, maxLength: 6 }), bytes(13, 13), bytes(0, 40), (keys, nonce, plaintext) => {
        const cached = createCachedCcmAead(2);
        const reused = new Uint8Array(16);
        for (const key of keys) {
          reused.set(key);
          assert.deepEqual(Buffer.from(cached.seal(reused, nonce, new Uint8Array(0), plaintext)), Buffer.from(reference.seal(key, nonce, new Uint8Array(0), plaintext)));
          // Another array in between, so the next lookup of `reused` is not the one just made.
          cached.seal(new Uint8Array(16).fill(keys.length), nonce, new Uint8Array(0), plaintext);
        }
      }),
      { numRuns: 200, seed: 8613 },
    );
  });

  it('refuses a changed ciphertext, tag, nonce, additional data or key', () => {
    const cached = createCachedCcmAead();
    const key = new Uint8Array(16).fill(7);
    const nonce = new Uint8Array(13).fill(1);
    const aad = new Uint8Array([1, 2, 3]);
    const sealed = cached.seal(key, nonce, aad, new Uint8Array([10, 20, 30, 40]));
    for (let index = 0; index < sealed.length; index++) {
      const changed = Uint8Array.from(sealed);
      changed[index]! ^= 0x01;
      assert.equal(cached.open(key, nonce, aad, changed), null, `byte ${index} flipped`);
    }
    assert.equal(cached.open(key, new Uint8Array(13).fill(2), aad, sealed), null);
    assert.equal(cached.open(key, nonce, new Uint8Array([1, 2, 4]), sealed), null);
    assert.equal(cached.open(new Uint8Array(16).fill(8), nonce, aad, sealed), null);
    assert.equal(cached.open(key, nonce, aad, sealed.subarray(0, 7)), null, 'shorter than a tag');
    assert.deepEqual(Array.from(cached.open(key, nonce, aad, sealed)!), [10, 20, 30, 40], 'still opens after the refusals');
  });
});
