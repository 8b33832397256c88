import assert from 'node:assert/strict';
import {
  aesVectors,
  ccmVectors,
  checkAesVector,
  checkCcmVector,
  checkDerivationVector,
  checkRequestVector,
  checkResponseVector,
  derivationVectors,
  requestVectors,
  responseVectors,
} from './fixtures/vectors';
import { cryptoBackends, nodeHmacSha256 } from './support';
import { hmacFromSha256 } from '../../firmware/protocol/derivation';
import { createEspruinoCrypto } from '../../simulator/espruino-crypto';

describe('protocol: published test vectors (Node)', () => {
  describe('OSCORE key derivation, RFC 8613 Appendix C.1-C.3', () => {
    const espruino = createEspruinoCrypto();
    const espruinoHmac = hmacFromSha256((data) => new Uint8Array(espruino.SHA256(data) as ArrayBuffer));
    for (const vector of derivationVectors) {
      it(`${vector.section} with node:crypto HMAC`, () => assert.deepEqual(checkDerivationVector(vector, nodeHmacSha256), []));
      it(`${vector.section} with HMAC over Espruino's crypto.SHA256`, () => assert.deepEqual(checkDerivationVector(vector, espruinoHmac), []));
    }
  });

  for (const backend of cryptoBackends()) {
    describe(`backend: ${backend.name}`, () => {
      if (!backend.name.includes('aes-128-ccm')) {
        for (const vector of aesVectors) it(`AES-128 block, ${vector.section}`, () => assert.deepEqual(checkAesVector(vector, backend.cipher), []));
        for (const vector of ccmVectors) it(`AES-CCM M=8 L=2, ${vector.section}`, () => assert.deepEqual(checkCcmVector(vector, backend.cipher), []));
      }
      for (const vector of requestVectors) it(vector.section, () => assert.deepEqual(checkRequestVector(vector, backend.aead), []));
      for (const vector of responseVectors) it(vector.section, () => assert.deepEqual(checkResponseVector(vector, backend.aead), []));
    });
  }
});
