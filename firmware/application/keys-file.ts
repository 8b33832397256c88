/**
 * The terminal's OSCORE keys file `udt.keys`, written into Storage at provisioning (`udt flash`) and read at
 * boot. It holds only the derived values (RFC 8613 Section 3.2): the terminal never runs HKDF and never sees
 * the master secret. One format, shared by the firmware, the provisioning tool and the gateway (this file is
 * ES5-safe and has no platform dependency).
 *
 * Layout (docs/firmware.md), little-endian:
 *   0  'U' 'K'              magic
 *   2  1                    format
 *   3  10                   AEAD algorithm (AES-CCM-16-64-128)
 *   4  n, sender id (n bytes, 1..7)          = the terminal's kid
 *      m, recipient id (m bytes, 0..7)       = the gateway's sender id
 *      sender key (16), recipient key (16), common IV (13)
 *   end CRC-16/MODBUS of everything before it (2 bytes)
 */
import { crc16 } from '../modbus/crc16';
import { copyBytes } from '../runtime/typed-arrays';
import type { OscoreKeys } from '../protocol/oscore-context';

export const keysFileName = 'udt.keys';
const magic0 = 0x55;
const magic1 = 0x4b;
const format = 1;
const algorithm = 10;
const maximumIdLength = 7;

export interface KeysFileResult {
  keys: OscoreKeys | null;
  /** Why the file was refused, or null. */
  problem: string | null;
}

export function encodeKeysFile(keys: OscoreKeys): Uint8Array {
  if (keys.senderId.length < 1 || keys.senderId.length > maximumIdLength) throw new Error('keys file: sender id must be 1..7 bytes');
  if (keys.recipientId.length > maximumIdLength) throw new Error('keys file: recipient id must be at most 7 bytes');
  if (keys.senderKey.length !== 16 || keys.recipientKey.length !== 16 || keys.commonIv.length !== 13) {
    throw new Error('keys file: keys must be 16 bytes and the common IV 13 bytes');
  }
  if (keys.idContext) throw new Error('keys file: ID contexts are not used');
  const length = 4 + 1 + keys.senderId.length + 1 + keys.recipientId.length + 16 + 16 + 13 + 2;
  const data = new Uint8Array(length);
  data[0] = magic0;
  data[1] = magic1;
  data[2] = format;
  data[3] = algorithm;
  let offset = 4;
  const put = function (bytes: Uint8Array, withLength: boolean): void {
    if (withLength) data[offset++] = bytes.length;
    data.set(bytes, offset);
    offset += bytes.length;
  };
  put(keys.senderId, true);
  put(keys.recipientId, true);
  put(keys.senderKey, false);
  put(keys.recipientKey, false);
  put(keys.commonIv, false);
  const crc = crc16(data, 0, offset);
  data[offset] = crc & 0xff;
  data[offset + 1] = crc >> 8;
  return data;
}

export function decodeKeysFile(data: Uint8Array | null): KeysFileResult {
  if (!data) return { keys: null, problem: 'no keys file ' + keysFileName };
  if (data.length < 4 + 2 + 1 + 45 + 2 || data[0] !== magic0 || data[1] !== magic1) return { keys: null, problem: 'not a keys file' };
  if (data[2] !== format || data[3] !== algorithm) return { keys: null, problem: 'unsupported keys file format or algorithm' };
  let offset = 4;
  const take = function (length: number): Uint8Array | null {
    if (length < 0 || offset + length > data.length - 2) return null;
    const bytes = copyBytes(data, offset, offset + length);
    offset += length;
    return bytes;
  };
  const senderLength = data[offset++];
  const senderId = senderLength >= 1 && senderLength <= maximumIdLength ? take(senderLength) : null;
  const recipientLength = offset < data.length ? data[offset++] : 255;
  const recipientId = recipientLength <= maximumIdLength ? take(recipientLength) : null;
  const senderKey = take(16);
  const recipientKey = take(16);
  const commonIv = take(13);
  if (!senderId || !recipientId || !senderKey || !recipientKey || !commonIv || offset !== data.length - 2) {
    return { keys: null, problem: 'keys file has a wrong length' };
  }
  if ((data[offset] | (data[offset + 1] << 8)) !== crc16(data, 0, offset)) return { keys: null, problem: 'keys file CRC mismatch' };
  return { keys: { senderId, recipientId, idContext: null, senderKey, recipientKey, commonIv }, problem: null };
}
