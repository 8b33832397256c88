/**
 * The JSON dialect of Storage.writeJSON/readJSON (jswrap_storage.c, jswrap_json.c, jsutils.c escapeCharacter):
 * writeJSON drops quotes on identifier-like keys and escapes strings the compact JS way (\xFF, \1, \n), so the
 * file is JS rather than JSON; readJSON parses it "liberally" (unquoted keys, \x escapes) into the sandbox realm.
 */
import type { Realm } from './session';

function escapeCharacter(code: number, next: number): string {
  if (code === 0x0a) return '\\n';
  if (code === 0x09) return '\\t';
  if (code === 0x08) return '\\b';
  if (code === 0x0b) return '\\v';
  if (code === 0x0c) return '\\f';
  if (code === 0x0d) return '\\r';
  if (code === 0x5c) return '\\\\';
  if (code === 0x22) return '\\"';
  if (code < 8 && !(next >= 0x30 && next <= 0x37)) return '\\' + String(code);
  if (code < 32 || (code >= 127 && code <= 0xff)) return '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
  if (code > 0xff) return '\\u' + code.toString(16).toUpperCase().padStart(4, '0');
  return String.fromCharCode(code);
}

export function quoteEspruino(text: string): string {
  let out = '"';
  for (let index = 0; index < text.length; index++) out += escapeCharacter(text.charCodeAt(index), index + 1 < text.length ? text.charCodeAt(index + 1) : -1);
  return out + '"';
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Storage.writeJSON's text for `value` (undefined members and functions are left out). */
export function toEspruinoFileJson(value: unknown, depth = 0): string | undefined {
  if (depth > 64) throw new Error('writeJSON: data nested too deeply');
  if (value === null) return 'null';
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string') return quoteEspruino(value);
  if (typeof value === 'bigint') return String(value);
  const object = value as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof object.toJSON === 'function') return toEspruinoFileJson(object.toJSON(), depth + 1);
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object ArrayBuffer]') return '[' + Array.from(new Uint8Array(value as ArrayBuffer)).join(',') + ']';
  if (/Array\]$/.test(tag) && !Array.isArray(value)) return '[' + Array.prototype.join.call(value, ',') + ']';
  if (Array.isArray(value)) return '[' + value.map((item) => toEspruinoFileJson(item, depth + 1) ?? 'null').join(',') + ']';
  const parts: string[] = [];
  for (const key of Object.keys(object)) {
    const text = toEspruinoFileJson(object[key], depth + 1);
    if (text === undefined) continue;
    const label = identifier.test(key) || /^\d+$/.test(key) ? key : quoteEspruino(key);
    parts.push(`${label}:${text}`);
  }
  return '{' + parts.join(',') + '}';
}

export class LiberalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyntaxError';
  }
}

/** jswrap_json_parse_liberal: JSON plus unquoted keys, single quotes and JS string escapes; values in `realm`. */
export function parseLiberalJson(text: string, realm: Realm): unknown {
  let position = 0;
  const fail = (what: string): never => {
    throw new LiberalJsonError(`${what} at position ${position}`);
  };
  const skip = (): void => {
    while (position < text.length && /\s/.test(text[position]!)) position++;
  };
  const parseString = (): string => {
    const quote = text[position++]!;
    let out = '';
    while (position < text.length && text[position] !== quote) {
      let char = text[position++]!;
      if (char === '\\') {
        const escape = text[position++]!;
        const simple: Record<string, string> = { n: '\n', t: '\t', b: '\b', v: '\v', f: '\f', r: '\r', '0': '\0' };
        if (escape === 'x') {
          char = String.fromCharCode(parseInt(text.slice(position, position + 2), 16));
          position += 2;
        } else if (escape === 'u') {
          char = String.fromCharCode(parseInt(text.slice(position, position + 4), 16));
          position += 4;
        } else if (/[1-7]/.test(escape)) {
          char = String.fromCharCode(Number(escape));
        } else {
          char = simple[escape] ?? escape;
        }
      }
      out += char;
    }
    if (text[position] !== quote) fail('Unterminated string');
    position++;
    return out;
  };
  const parseValue = (depth: number): unknown => {
    if (depth > 64) fail('Nested too deeply');
    skip();
    const char = text[position];
    if (char === '{') {
      position++;
      const result = realm.object({});
      skip();
      if (text[position] === '}') {
        position++;
        return result;
      }
      for (;;) {
        skip();
        let key: string;
        if (text[position] === '"' || text[position] === "'") key = parseString();
        else {
          const match = /^[A-Za-z0-9_$]+/.exec(text.slice(position));
          if (!match) fail('Expecting a key');
          key = match![0];
          position += key.length;
        }
        skip();
        if (text[position++] !== ':') fail("Expecting ':'");
        result[key] = parseValue(depth + 1);
        skip();
        const separator = text[position++];
        if (separator === '}') return result;
        if (separator !== ',') fail("Expecting ',' or '}'");
      }
    }
    if (char === '[') {
      position++;
      const items: unknown[] = [];
      skip();
      if (text[position] === ']') {
        position++;
        return realm.array(items);
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        skip();
        const separator = text[position++];
        if (separator === ']') return realm.array(items);
        if (separator !== ',') fail("Expecting ',' or ']'");
      }
    }
    if (char === '"' || char === "'") return parseString();
    const word = /^(true|false|null|undefined|NaN|-?Infinity|-?(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))/.exec(text.slice(position));
    if (!word) return fail('Unexpected token');
    position += word[0].length;
    const literal = word[0];
    if (literal === 'true') return true;
    if (literal === 'false') return false;
    if (literal === 'null') return null;
    if (literal === 'undefined') return undefined;
    return Number(literal);
  };
  const value = parseValue(0);
  skip();
  if (position < text.length) fail('Unexpected trailing data');
  return value;
}
