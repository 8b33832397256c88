import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { createEspruinoCrypto, EspruinoCryptoException } from '../../simulator/espruino-crypto';
import { createEspruinoBlockCipher, EspruinoCryptoModule } from '../../firmware/protocol/crypto-backends';
import { isProtocolError } from '../../firmware/protocol/errors';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { seeded } from './support';

const hex = (buffer: ArrayBuffer | undefined): string => {
  assert.ok(buffer instanceof ArrayBuffer, 'expected an ArrayBuffer');
  return bytesToHex(new Uint8Array(buffer));
};

describe('simulator: Espruino require("crypto") over node:crypto', () => {
  const printed: string[] = [];
  const crypto = createEspruinoCrypto({ printError: (line) => printed.push(line) });
  const aes = crypto.AES!;
  beforeEach(() => (printed.length = 0));

  it('SHA1/SHA256/SHA512 of "abc" (FIPS 180 examples) from strings, arrays and typed arrays', () => {
    assert.equal(hex(crypto.SHA1('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(hex(crypto.SHA256('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hex(crypto.SHA256([0x61, 0x62, 0x63])), hex(crypto.SHA256(new Uint8Array([0x61, 0x62, 0x63]))));
    assert.equal(hex(crypto.SHA256(new Uint8Array([0x61, 0x62, 0x63]).buffer)), hex(crypto.SHA256('abc')));
    assert.equal(hex(crypto.SHA512!('abc')).slice(0, 16), 'ddaf35a193617aba');
    assert.equal(createEspruinoCrypto({ sha512: false }).SHA512, undefined);
    assert.equal(createEspruinoCrypto({ aes: false }).AES, undefined);
  });

  it('AES ECB: FIPS-197 Appendix C.1, whole blocks only (a trailing partial block stays zero)', () => {
    const key = hexToBytes('000102030405060708090a0b0c0d0e0f');
    assert.equal(hex(aes.encrypt(hexToBytes('00112233445566778899aabbccddeeff'), key, { mode: 'ECB' })), '69c4e0d86a7b0430d8cdb78070b4c55a');
    assert.equal(hex(aes.decrypt(hexToBytes('69c4e0d86a7b0430d8cdb78070b4c55a'), key, { mode: 'ECB' })), '00112233445566778899aabbccddeeff');
    assert.equal(hex(aes.encrypt(hexToBytes('00112233445566778899aabbccddeeff0102'), key, { mode: 'ECB' })), '69c4e0d86a7b0430d8cdb78070b4c55a0000');
  });

  it('AES CBC is the default mode, with a zero IV by default (NIST SP 800-38A F.2.1 with its IV)', () => {
    const key = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c');
    const iv = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const plaintext = hexToBytes('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
    assert.equal(hex(aes.encrypt(plaintext, key, { iv })), '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2');
    assert.equal(hex(aes.decrypt(hexToBytes('7649abac8119b246cee98e9b12e9197d'), key, { mode: 'CBC', iv })), '6bc1bee22e409f96e93d7e117393172a');
    const zeroIv = nodeCrypto.createCipheriv('aes-128-cbc', key, Buffer.alloc(16)).setAutoPadding(false).update(plaintext);
    assert.equal(hex(aes.encrypt(plaintext, key)), zeroIv.toString('hex'));
  });

  it('AES CTR ignores the iv and counts from a zero block, and is its own inverse', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (key, data, iv) => {
        const expected = nodeCrypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(data).toString('hex');
        assert.equal(hex(aes.encrypt(data, key, { mode: 'CTR', iv })), expected);
        assert.equal(hex(aes.decrypt(hexToBytes(expected), key, { mode: 'CTR' })), bytesToHex(data));
      }),
      seeded(200),
    );
  });

  it('AES CFB is CFB8', () => {
    const key = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c');
    const iv = hexToBytes('000102030405060708090a0b0c0d0e0f');
    // NIST SP 800-38A F.3.7 CFB8-AES128.Encrypt, first 4 bytes
    assert.equal(hex(aes.encrypt(hexToBytes('6bc1bee2'), key, { mode: 'CFB', iv })), '3b79424c');
  });

  it('reports errors like jsError: printed, result undefined (bad key length, CBC length, OFB, options)', () => {
    assert.equal(aes.encrypt(new Uint8Array(16), new Uint8Array(15), { mode: 'ECB' }), undefined);
    assert.equal(aes.encrypt(new Uint8Array(15), new Uint8Array(16), { mode: 'CBC' }), undefined);
    assert.equal(aes.encrypt(new Uint8Array(16), new Uint8Array(16), { mode: 'OFB' }), undefined);
    assert.equal(aes.encrypt(new Uint8Array(16), new Uint8Array(16), 'ECB'), undefined);
    assert.deepEqual(printed, ['ERROR: Unknown error: -0x20', 'ERROR: Invalid input length', 'ERROR: Feature unavailable', "ERROR: 'options' must be undefined, or an Object"]);
  });

  it('throws for an unknown mode, like jsExceptionHere', () => {
    assert.throws(() => aes.encrypt(new Uint8Array(16), new Uint8Array(16), { mode: 'GCM' }), (error: unknown) => error instanceof EspruinoCryptoException && /Unknown Crypto mode "GCM"/.test(error.message));
  });

  it('PBKDF2: defaults SHA1, 1 iteration, 4 words (RFC 6070 test 1, truncated to 16 bytes)', () => {
    assert.equal(hex(crypto.PBKDF2('password', 'salt')), '0c60c80f961f0e71f3a9b524af601206');
    assert.equal(hex(crypto.PBKDF2('password', 'salt', { iterations: 2, keySize: 5 })), 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
    assert.throws(() => crypto.PBKDF2('password', 'salt', { hasher: 'MD5' }), EspruinoCryptoException);
  });

  it('the codec adapter turns a missing native result into ProtocolError "crypto" instead of using garbage', () => {
    const cipher = createEspruinoBlockCipher(crypto as unknown as EspruinoCryptoModule);
    assert.throws(() => cipher.encryptBlock(new Uint8Array(15), new Uint8Array(16)), (error: unknown) => isProtocolError(error) && error.code === 'crypto');
    assert.equal(printed.length, 1);
  });
});
