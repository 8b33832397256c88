/**
 * Espruino's `require("crypto")` module over node:crypto, for the simulator's virtual board.
 *
 * Follows libs/crypto/jswrap_crypto.c of the Espruino source, including its quirks, so firmware that works
 * here works on a board:
 * - Inputs (message, key, iv, passphrase, salt) may be strings (one char = one byte), arrays of numbers,
 *   typed arrays, DataViews or ArrayBuffers. Results are ArrayBuffers.
 * - `AES.encrypt/decrypt(message, key, {mode, iv})`: default mode CBC, default iv 16 zero bytes (a shorter iv
 *   is zero-filled). CBC needs a whole number of blocks. CFB is CFB8. CTR ignores `iv` and counts from a zero
 *   block. ECB processes whole blocks and leaves a trailing partial block as zero bytes. OFB is accepted as a
 *   name but fails ("Feature unavailable").
 * - Errors: an unknown mode or hasher throws; everything else (bad key length, bad input length, options that
 *   are not an object) prints "ERROR: ..." on the console and returns undefined, like jsError() does.
 */
import nodeCrypto from 'node:crypto';

export interface EspruinoCryptoOptions {
  /** Boards built without SHA512 have no SHA384/SHA512 (espruino.md: "SHA512 on boards that build it"). */
  sha512?: boolean;
  /** Boards built without AES (no `crypto.AES`). */
  aes?: boolean;
  /** Where jsError() output goes: the virtual board's console. Defaults to console.log. */
  printError?: (line: string) => void;
  /** Creates result buffers, e.g. inside the sandbox realm so `instanceof ArrayBuffer` holds there. */
  newArrayBuffer?: (length: number) => ArrayBuffer;
}

type Bytes = Uint8Array;

export interface EspruinoAesClass {
  encrypt(message: unknown, key: unknown, options?: unknown): ArrayBuffer | undefined;
  decrypt(message: unknown, key: unknown, options?: unknown): ArrayBuffer | undefined;
}

export interface EspruinoCrypto {
  SHA1(message: unknown): ArrayBuffer | undefined;
  SHA224(message: unknown): ArrayBuffer | undefined;
  SHA256(message: unknown): ArrayBuffer | undefined;
  SHA384?(message: unknown): ArrayBuffer | undefined;
  SHA512?(message: unknown): ArrayBuffer | undefined;
  PBKDF2(passphrase: unknown, salt: unknown, options?: unknown): ArrayBuffer | undefined;
  AES?: EspruinoAesClass;
}

/** Thrown where Espruino raises a JS exception (jsExceptionHere). Its `message` matches the interpreter's. */
export class EspruinoCryptoException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Error';
  }
}

/** JSV_GET_AS_CHAR_ARRAY / jsvIterateCallback: the bytes of whatever Espruino accepts as data. */
export function espruinoBytes(value: unknown): Bytes {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value === 'string') {
    const bytes = new Uint8Array(value.length);
    for (let index = 0; index < value.length; index++) bytes[index] = value.charCodeAt(index) & 0xff;
    return bytes;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return new Uint8Array([Number(value) & 0xff]);
  if (ArrayBuffer.isView(value)) {
    // jsvGetDataPointer: the raw bytes behind any typed array or DataView view.
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  }
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') return new Uint8Array(value as ArrayBuffer).slice();
  if (Array.isArray(value)) {
    const parts: number[] = [];
    for (const element of value) {
      const inner = espruinoBytes(element);
      for (const byte of inner) parts.push(byte);
    }
    return new Uint8Array(parts);
  }
  return new Uint8Array(0);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

const hashers: Record<string, string> = { SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

export function createEspruinoCrypto(options: EspruinoCryptoOptions = {}): EspruinoCrypto {
  const printError = options.printError ?? ((line: string) => console.log(line));
  const newArrayBuffer = options.newArrayBuffer ?? ((length: number) => new ArrayBuffer(length));
  const jsError = (message: string): undefined => {
    printError('ERROR: ' + message);
    return undefined;
  };
  const toArrayBuffer = (bytes: Bytes): ArrayBuffer => {
    const buffer = newArrayBuffer(bytes.length);
    new Uint8Array(buffer).set(bytes);
    return buffer;
  };
  // ECB keeps no state between blocks, so one cipher per key serves every call (firmware encrypts block by block).
  const ecbCiphers = new Map<string, nodeCrypto.Cipher | nodeCrypto.Decipher>();
  const ecbCipher = (encrypt: boolean, bits: number, keyBytes: Bytes): nodeCrypto.Cipher | nodeCrypto.Decipher => {
    const cacheKey = (encrypt ? 'e' : 'd') + Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.length).toString('hex');
    let cipher = ecbCiphers.get(cacheKey);
    if (!cipher) {
      cipher = encrypt ? nodeCrypto.createCipheriv(`aes-${bits}-ecb`, keyBytes, null) : nodeCrypto.createDecipheriv(`aes-${bits}-ecb`, keyBytes, null);
      cipher.setAutoPadding(false);
      if (ecbCiphers.size >= 8) ecbCiphers.clear();
      ecbCiphers.set(cacheKey, cipher);
    }
    return cipher;
  };
  const hash = (algorithm: string) => (message: unknown): ArrayBuffer =>
    toArrayBuffer(nodeCrypto.createHash(algorithm).update(espruinoBytes(message)).digest());

  const aesCrypt = (message: unknown, key: unknown, aesOptions: unknown, encrypt: boolean): ArrayBuffer | undefined => {
    const iv = new Uint8Array(16);
    let mode = 'CBC';
    if (isPlainObject(aesOptions)) {
      if (aesOptions.iv !== undefined) iv.set(espruinoBytes(aesOptions.iv).subarray(0, 16));
      const requested = aesOptions.mode;
      if (requested !== undefined) {
        if (typeof requested !== 'string' || !['CBC', 'CFB', 'CTR', 'OFB', 'ECB'].includes(requested)) {
          throw new EspruinoCryptoException('Unknown Crypto mode ' + JSON.stringify(String(requested)));
        }
        mode = requested;
      }
    } else if (aesOptions !== undefined) {
      return jsError("'options' must be undefined, or an Object");
    }
    const data = espruinoBytes(message);
    const keyBytes = espruinoBytes(key);
    if (keyBytes.length !== 16 && keyBytes.length !== 24 && keyBytes.length !== 32) return jsError('Unknown error: -0x20');
    const bits = keyBytes.length * 8;
    const run = (algorithm: string, input: Bytes, initialVector: Bytes | null): Bytes => {
      const cipher = encrypt
        ? nodeCrypto.createCipheriv(algorithm, keyBytes, initialVector)
        : nodeCrypto.createDecipheriv(algorithm, keyBytes, initialVector);
      cipher.setAutoPadding(false);
      return new Uint8Array(Buffer.concat([cipher.update(input), cipher.final()]));
    };
    switch (mode) {
      case 'CBC':
        if (data.length % 16 !== 0) return jsError('Invalid input length');
        return toArrayBuffer(run(`aes-${bits}-cbc`, data, iv));
      case 'CFB':
        return toArrayBuffer(run(`aes-${bits}-cfb8`, data, iv));
      case 'CTR': {
        // mbedtls_aes_crypt_ctr is its own inverse, and Espruino always starts it from a zero counter block.
        const cipher = nodeCrypto.createCipheriv(`aes-${bits}-ctr`, keyBytes, new Uint8Array(16));
        return toArrayBuffer(new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()])));
      }
      case 'ECB': {
        const whole = data.length - (data.length % 16);
        const output = new Uint8Array(data.length);
        if (whole > 0) output.set(ecbCipher(encrypt, bits, keyBytes).update(data.subarray(0, whole)));
        return toArrayBuffer(output);
      }
      default:
        return jsError('Feature unavailable');
    }
  };

  const module: EspruinoCrypto = {
    SHA1: hash('sha1'),
    SHA224: hash('sha224'),
    SHA256: hash('sha256'),
    PBKDF2(passphrase: unknown, salt: unknown, pbkdfOptions?: unknown): ArrayBuffer | undefined {
      let iterations = 1;
      let keySize = 4;
      let hasher = 'SHA1';
      if (isPlainObject(pbkdfOptions)) {
        keySize = Math.trunc(Number(pbkdfOptions.keySize)) || 0;
        if (keySize <= 0) keySize = 4;
        iterations = Math.trunc(Number(pbkdfOptions.iterations)) || 0;
        if (iterations < 1) iterations = 1;
        if (pbkdfOptions.hasher !== undefined) {
          const name = pbkdfOptions.hasher;
          if (typeof name !== 'string' || !(name in hashers)) throw new EspruinoCryptoException('Unknown Hasher ' + JSON.stringify(String(name)));
          hasher = name;
        }
      } else if (pbkdfOptions !== undefined) {
        jsError('Options should be an object or undefined, got ' + typeof pbkdfOptions);
      }
      const derived = nodeCrypto.pbkdf2Sync(espruinoBytes(passphrase), espruinoBytes(salt), iterations, keySize * 4, hashers[hasher]);
      return toArrayBuffer(new Uint8Array(derived));
    },
  };
  if (options.sha512 ?? true) {
    module.SHA384 = hash('sha384');
    module.SHA512 = hash('sha512');
  }
  if (options.aes ?? true) {
    module.AES = {
      encrypt: (message, key, aesOptions) => aesCrypt(message, key, aesOptions, true),
      decrypt: (message, key, aesOptions) => aesCrypt(message, key, aesOptions, false),
    };
  }
  return module;
}
