/** Shared helpers for the protocol tests (Node side). */
import nodeCrypto from 'node:crypto';
import { BlockCipher, createSoftwareBlockCipher } from '../../firmware/protocol/aes';
import { Aead, createCcmAead } from '../../firmware/protocol/aesccm';
import { createEspruinoBlockCipher, createNodeBlockCipher, createNodeCcmAead, EspruinoCryptoModule } from '../../firmware/protocol/crypto-backends';
import { HmacSha256 } from '../../firmware/protocol/derivation';
import { createEspruinoCrypto } from '../../simulator/espruino-crypto';

export const nodeHmacSha256: HmacSha256 = (key, data) => new Uint8Array(nodeCrypto.createHmac('sha256', key).update(data).digest());

export interface CryptoBackend {
  name: string;
  cipher: BlockCipher;
  aead: Aead;
}

/** The three ways the codec gets AES: pure TypeScript, Espruino's native module (simulated), node:crypto. */
export function cryptoBackends(): CryptoBackend[] {
  const software = createSoftwareBlockCipher();
  const espruino = createEspruinoBlockCipher(createEspruinoCrypto() as unknown as EspruinoCryptoModule);
  const node = createNodeBlockCipher(nodeCrypto);
  return [
    { name: 'pure TypeScript AES', cipher: software, aead: createCcmAead(software) },
    { name: 'Espruino native AES (simulated crypto module)', cipher: espruino, aead: createCcmAead(espruino) },
    { name: 'node:crypto ECB/CBC under our CCM', cipher: node, aead: createCcmAead(node) },
    { name: 'node:crypto aes-128-ccm', cipher: node, aead: createNodeCcmAead(nodeCrypto) },
  ];
}

/** fast-check settings: a fixed seed keeps the property tests deterministic (the brief). */
export function seeded(numRuns: number): { numRuns: number; seed: number } {
  return { numRuns, seed: 0x5eed };
}
