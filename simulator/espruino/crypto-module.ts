/**
 * require("crypto") of the virtual board: simulator/espruino-crypto.ts (Espruino's module over node:crypto)
 * for builds that have the CRYPTO library, with its results and exceptions moved into the sandbox's realm.
 */
import type { BoardDefinition } from '../../hal/board';
import { createEspruinoCrypto, EspruinoCryptoException } from '../espruino-crypto';
import type { EspruinoSession } from './session';

export function createCryptoModule(definition: BoardDefinition, session: EspruinoSession): unknown {
  const native = definition.nativeCrypto;
  if (!native.aes && !native.sha256) return null;
  const realm = session.realm;
  const module = createEspruinoCrypto({
    aes: native.aes,
    sha512: false,
    printError: (line) => session.print(line + '\n'),
    newArrayBuffer: (length) => realm.arrayBuffer(new Uint8Array(length)),
  }) as unknown as Record<string, unknown>;
  const wrap = (target: Record<string, unknown>): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(target)) {
      if (typeof value === 'function') {
        result[key] = realm.wrapFunction((...args: unknown[]) => {
          session.assertAlive();
          try {
            return (value as (...values: unknown[]) => unknown).apply(target, args);
          } catch (error) {
            if (error instanceof EspruinoCryptoException) throw realm.error(error.message);
            throw error;
          }
        });
      } else if (value && typeof value === 'object') {
        result[key] = wrap(value as Record<string, unknown>);
      }
    }
    return realm.object(result);
  };
  return wrap(module);
}
