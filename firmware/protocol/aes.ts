/**
 * AES-128 block encryption (FIPS-197) in plain TypeScript, for boards whose Espruino build has no native AES.
 * Only the forward cipher is needed: CCM uses AES in CBC-MAC and counter modes, both encrypt-only.
 *
 * The S-box is computed at load time from the GF(2^8) definition instead of being stored as a 256-entry
 * literal, which keeps the code text (RAM on Espruino) small.
 */
import { copyBytes } from '../runtime/typed-arrays';

/** What CCM needs from a block cipher. Backends: this file, Espruino's native `crypto.AES`, node:crypto. */
export interface BlockCipher {
  /** AES-128 encryption of one 16-byte block with a 16-byte key. */
  encryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array;
  /** Optional: ECB encryption of several whole blocks in one call (one native call instead of many). */
  encryptBlocks?(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Optional: the last block of CBC encryption of whole blocks with a zero IV (a CBC-MAC). */
  cbcMac?(key: Uint8Array, data: Uint8Array): Uint8Array;
}

const sbox = new Uint8Array(256);

(function buildSbox(): void {
  const exponential = new Uint8Array(256);
  const logarithm = new Uint8Array(256);
  let value = 1;
  for (let power = 0; power < 255; power++) {
    exponential[power] = value;
    logarithm[value] = power;
    // multiply by the generator 3 = x + 1
    value ^= (value << 1) ^ (value & 0x80 ? 0x11b : 0);
    value &= 0xff;
  }
  for (let input = 0; input < 256; input++) {
    let inverse = input === 0 ? 0 : exponential[(255 - logarithm[input]) % 255];
    let result = inverse;
    for (let rotation = 0; rotation < 4; rotation++) {
      inverse = ((inverse << 1) | (inverse >> 7)) & 0xff;
      result ^= inverse;
    }
    sbox[input] = result ^ 0x63;
  }
})();

function xtime(value: number): number {
  return ((value << 1) ^ (value & 0x80 ? 0x1b : 0)) & 0xff;
}

export function expandKey(key: Uint8Array): Uint8Array {
  const schedule = new Uint8Array(176);
  schedule.set(key.subarray(0, 16));
  let roundConstant = 1;
  for (let offset = 16; offset < 176; offset += 4) {
    let b0 = schedule[offset - 4];
    let b1 = schedule[offset - 3];
    let b2 = schedule[offset - 2];
    let b3 = schedule[offset - 1];
    if (offset % 16 === 0) {
      const first = b0;
      b0 = sbox[b1] ^ roundConstant;
      b1 = sbox[b2];
      b2 = sbox[b3];
      b3 = sbox[first];
      roundConstant = xtime(roundConstant);
    }
    schedule[offset] = schedule[offset - 16] ^ b0;
    schedule[offset + 1] = schedule[offset - 15] ^ b1;
    schedule[offset + 2] = schedule[offset - 14] ^ b2;
    schedule[offset + 3] = schedule[offset - 13] ^ b3;
  }
  return schedule;
}

// Working buffers, reused: allocation is slow on Espruino and encryption never re-enters itself.
const state = new Uint8Array(16);
const shifted = new Uint8Array(16);

/** Encrypts `input[inputOffset..+16]` into `output[outputOffset..+16]` with an expanded key. */
export function encryptBlockWithSchedule(
  schedule: Uint8Array,
  input: Uint8Array,
  inputOffset: number,
  output: Uint8Array,
  outputOffset: number,
): void {
  for (let index = 0; index < 16; index++) state[index] = input[inputOffset + index] ^ schedule[index];
  for (let round = 1; round <= 10; round++) {
    // SubBytes + ShiftRows: state is column-major, byte (row r, column c) at 4c + r
    for (let column = 0; column < 4; column++) {
      for (let row = 0; row < 4; row++) shifted[column * 4 + row] = sbox[state[((column + row) % 4) * 4 + row]];
    }
    if (round < 10) {
      for (let column = 0; column < 4; column++) {
        const base = column * 4;
        const a0 = shifted[base];
        const a1 = shifted[base + 1];
        const a2 = shifted[base + 2];
        const a3 = shifted[base + 3];
        const all = a0 ^ a1 ^ a2 ^ a3;
        state[base] = a0 ^ all ^ xtime(a0 ^ a1);
        state[base + 1] = a1 ^ all ^ xtime(a1 ^ a2);
        state[base + 2] = a2 ^ all ^ xtime(a2 ^ a3);
        state[base + 3] = a3 ^ all ^ xtime(a3 ^ a0);
      }
    } else {
      state.set(shifted);
    }
    const keyOffset = round * 16;
    for (let index = 0; index < 16; index++) state[index] ^= schedule[keyOffset + index];
  }
  output.set(state, outputOffset);
}

/** The pure-TypeScript backend. It remembers the schedule of the last key, since CCM uses one key per message. */
export function createSoftwareBlockCipher(): BlockCipher {
  let cachedKey: Uint8Array | null = null;
  let cachedSchedule: Uint8Array | null = null;

  function scheduleFor(key: Uint8Array): Uint8Array {
    if (cachedKey !== null && cachedSchedule !== null) {
      let same = true;
      for (let index = 0; index < 16; index++) if (cachedKey[index] !== key[index]) same = false;
      if (same) return cachedSchedule;
    }
    cachedKey = copyBytes(key, 0, 16);
    cachedSchedule = expandKey(key);
    return cachedSchedule;
  }

  return {
    encryptBlock: function (key: Uint8Array, block: Uint8Array): Uint8Array {
      const output = new Uint8Array(16);
      encryptBlockWithSchedule(scheduleFor(key), block, 0, output, 0);
      return output;
    },
  };
}
