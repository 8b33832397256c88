/**
 * Small ES5-safe text helpers for AT command lines: integers and hex written digit by digit (Espruino's
 * number-to-string differs from V8 for some values, so wire text never relies on it), and field parsing.
 */

const hexDigits = '0123456789ABCDEF';

/** Decimal text of a non-negative integer below 2^32 (negative values get a leading '-'). */
export function decimal(value: number): string {
  if (value < 0) return '-' + decimal(-value);
  let remaining = Math.floor(value);
  if (remaining === 0) return '0';
  let text = '';
  while (remaining > 0) {
    const digit = remaining % 10;
    text = hexDigits.charAt(digit) + text;
    remaining = (remaining - digit) / 10;
  }
  return text;
}

/** Upper-case hex text of bytes, two digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    text += hexDigits.charAt(byte >> 4) + hexDigits.charAt(byte & 15);
  }
  return text;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Bytes of a hex string; null when the text has an odd length or a non-hex character. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    const high = hexValue(text.charCodeAt(index * 2));
    const low = hexValue(text.charCodeAt(index * 2 + 1));
    if (high < 0 || low < 0) return null;
    bytes[index] = (high << 4) | low;
  }
  return bytes;
}

/** Latin-1 text of bytes (one char per byte). */
export function bytesToText(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index++) text += String.fromCharCode(bytes[index]!);
  return text;
}

/** Bytes of latin-1 text. */
export function textToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index) & 255;
  return bytes;
}

/**
 * Split the parameter part of a response line at commas, honouring double quotes (a comma inside quotes
 * does not split; the quotes are removed). `+QIURC: "recv",0,4,"3132"` with prefix `+QIURC:` gives
 * ['recv', '0', '4', '3132'].
 */
export function parameters(line: string, prefix?: string): string[] {
  let text = prefix && line.indexOf(prefix) === 0 ? line.substring(prefix.length) : line;
  text = text.trim();
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const character = text.charAt(index);
    if (character === '"') quoted = !quoted;
    else if (character === ',' && !quoted) {
      fields.push(current.trim());
      current = '';
    } else current += character;
  }
  fields.push(current.trim());
  return fields;
}

/** True when `text` is one or more decimal digits only. (No RegExp: Espruino's lacks quantifiers like {n} and ?.) */
export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** Integer value of a decimal field, or NaN for anything that is not an optional '-' and digits. */
export function integer(field: string | undefined): number {
  if (field === undefined) return NaN;
  const text = field.trim();
  if (!isDigits(text.charAt(0) === '-' ? text.substring(1) : text)) return NaN;
  return parseInt(text, 10);
}
