/**
 * Espruino's pretokenised source form: reserved words and multi-character operators stored as one byte each,
 * strings as length-prefixed raw bytes, small integers as one to three bytes. The interpreter's lexer reads this
 * form wherever it reads source (Espruino src/jslex.c, jslGetNextToken: every byte from 128 up is a token; the
 * Web IDE and the Bangle.js app loader upload code this way), so the firmware is stored in Storage pretokenised
 * and needs about a fifth less flash, with nothing to unpack on the board.
 *
 * The byte values are Espruino's LEX_TYPES enum (src/jslex.h), whose order is fixed because uploaded code
 * depends on it ("DO NOT MODIFY THE ORDERING OF THIS LIST"). Raw strings and raw integers need Espruino 2v20 or
 * later; checked on the 2v29 Linux build.
 *
 * `pretokenise` is the build's encoder (input: the minified ES5 bundle), `detokenise` gives back equivalent
 * plain JavaScript, for the simulator, which runs the exact bytes that are flashed.
 */
import { tokenizer, type Token } from 'acorn';

// Lookups go through `own` so that names such as `hasOwnProperty` or `constructor` are not found on Object.prototype.
const operatorTokens: Record<string, number> = {
  '==': 138, '===': 139, '!=': 140, '!==': 141, '<=': 142, '<<': 143, '<<=': 144, '>=': 145, '>>': 146, '>>>': 147,
  '>>=': 148, '>>>=': 149, '+=': 150, '-=': 151, '++': 152, '--': 153, '*=': 154, '/=': 155, '%=': 156, '&=': 157,
  '&&': 158, '|=': 159, '||': 160, '^=': 161, '=>': 162,
};
/** Espruino's reserved words: each is one token wherever it appears, even as a property name (`a.in`). */
export const reservedWords = [
  'if', 'else', 'do', 'while', 'for', 'break', 'continue', 'function', 'return', 'var', 'let', 'const', 'this',
  'throw', 'try', 'catch', 'finally', 'true', 'false', 'null', 'undefined', 'new', 'in', 'instanceof', 'switch',
  'case', 'default', 'delete', 'typeof', 'void', 'debugger', 'class', 'extends', 'super', 'static', 'of',
];
const firstReservedWordToken = 163;
const rawString8 = 209;
const rawString16 = 210;
const rawInteger0 = 211;
const rawInteger8 = 212;
const rawInteger16 = 213;
const nullishToken = 208;

function own<T>(table: Record<string | number, T>, key: string | number): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

const tokenText: Record<number, string> = { [nullishToken]: '??' };
for (const [text, token] of Object.entries(operatorTokens)) tokenText[token] = text;
const wordTokens: Record<string, number> = {};
reservedWords.forEach((word, index) => {
  tokenText[firstReservedWordToken + index] = word;
  wordTokens[word] = firstReservedWordToken + index;
});
const valueWords = ['true', 'false', 'null', 'undefined'];

export class PretokeniseError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'PretokeniseError';
  }
}

/** What Espruino's lexer remembers of the previous token to tell a regular expression from a division. */
type LastToken = { kind: 'none' } | { kind: 'token'; byte: number } | { kind: 'char'; char: string } | { kind: 'value' };

const regexAfterCharacters = '!%&*+-/<=>?[{}(,;:';

/** Espruino's rule (jslex.c, JSLJT_FORWARDSLASH): does a `/` after this token start a regular expression? */
function espruinoStartsRegex(last: LastToken): boolean {
  if (last.kind === 'none') return true;
  if (last.kind === 'token') return !valueWords.includes(own(tokenText, last.byte) ?? '');
  if (last.kind === 'char') return regexAfterCharacters.includes(last.char);
  return false;
}

function isWordCharacter(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$]/.test(char);
}

/**
 * Encode ES5 source (the minified bundle) into Espruino's pretokenised form, returned as a latin1 string (one
 * character per byte). Throws PretokeniseError where Espruino's lexer would read the source differently from
 * JavaScript (a regular expression Espruino would take for a division, or the other way round).
 */
export function pretokenise(source: string): string {
  const out: string[] = [];
  let previousVerbatim: Verbatim = null;
  let last: LastToken = { kind: 'none' };
  const tokens: Token[] = [];
  for (const token of tokenizer(source, { ecmaVersion: 5 })) tokens.push(token);
  for (const token of tokens) {
    const raw = source.slice(token.start, token.end);
    const label = token.type.label;
    let emitted: string;
    let verbatim: Verbatim = null as Verbatim;
    let nextLast: LastToken;
    if (label === 'name' || token.type.keyword !== undefined) {
      const byte = own(wordTokens, raw);
      if (byte !== undefined) {
        emitted = String.fromCharCode(byte);
        nextLast = { kind: 'token', byte };
      } else {
        emitted = raw;
        verbatim = 'word';
        nextLast = { kind: 'value' };
      }
    } else if (label === 'num') {
      const value = (token as Token & { value: number }).value;
      if (value === 0 && /^0+$/.test(raw)) emitted = String.fromCharCode(rawInteger0);
      else if (Number.isInteger(value) && value > 0 && value < 128) emitted = String.fromCharCode(rawInteger8, value);
      else if (Number.isInteger(value) && value > 0 && value < 32768) emitted = String.fromCharCode(rawInteger16, value & 255, value >> 8);
      else {
        emitted = raw;
        verbatim = 'word';
      }
      nextLast = { kind: 'value' };
    } else if (label === 'string') {
      const value = (token as Token & { value: string }).value;
      if (value.length > 0 && value.length < 65536 && !/[^\x00-\xff]/.test(value)) {
        const head = value.length < 256 ? String.fromCharCode(rawString8, value.length) : String.fromCharCode(rawString16, value.length & 255, value.length >> 8);
        emitted = head + value;
      } else emitted = raw;
      nextLast = { kind: 'value' };
    } else if (label === 'regexp') {
      if (!espruinoStartsRegex(last)) throw new PretokeniseError(`Espruino would read the regular expression ${raw} at offset ${token.start} as a division: ...${source.slice(Math.max(0, token.start - 40), token.start + 20)}...`, token.start);
      emitted = raw;
      verbatim = 'regex';
      nextLast = { kind: 'value' };
    } else if (label === 'eof') {
      break;
    } else {
      const byte = own(operatorTokens, raw);
      if ((raw === '/' || raw === '/=') && espruinoStartsRegex(last)) {
        throw new PretokeniseError(`Espruino would read the division at offset ${token.start} as the start of a regular expression: ...${source.slice(Math.max(0, token.start - 40), token.start + 20)}...`, token.start);
      }
      if (byte !== undefined) {
        emitted = String.fromCharCode(byte);
        nextLast = { kind: 'token', byte };
      } else {
        emitted = raw;
        if (raw === '-' || raw === '+' || raw === '/') verbatim = raw;
        nextLast = { kind: 'char', char: raw };
      }
    }
    // Espruino's own tokeniser keeps a space only where two tokens would otherwise run together (jslex.c,
    // jslPreserveSpaceBetweenTokens).
    if (
      (previousVerbatim === 'word' && verbatim === 'word') ||
      (previousVerbatim === '-' && raw === '-') ||
      (previousVerbatim === '+' && raw === '+') ||
      (previousVerbatim === '/' && verbatim === 'regex') ||
      (previousVerbatim === 'regex' && (raw === '/' || verbatim === 'word'))
    ) {
      out.push(' ');
    }
    out.push(emitted);
    previousVerbatim = verbatim;
    last = nextLast;
  }
  return out.join('');
}

/** A token copied as text, for the rule on keeping a space between two tokens. */
type Verbatim = 'word' | 'regex' | '-' | '+' | '/' | null;

/** Whether a latin1 source string holds pretokenised bytes (the bundle itself is pure ASCII). */
export function isPretokenised(source: string): boolean {
  return /[\x80-\xff]/.test(source);
}

/**
 * Turn pretokenised source back into plain JavaScript, reading it as Espruino's lexer does: token bytes only
 * where a token starts, string and regular expression literals and comments copied as they are.
 */
export function detokenise(source: string): string {
  const out: string[] = [];
  let last: LastToken = { kind: 'none' };
  let index = 0;
  const length = source.length;
  while (index < length) {
    const char = source.charAt(index);
    const code = char.charCodeAt(0);
    if (code >= 128) {
      if (code === rawString8 || code === rawString16) {
        let size = source.charCodeAt(index + 1);
        let start = index + 2;
        if (code === rawString16) {
          size |= source.charCodeAt(index + 2) << 8;
          start = index + 3;
        }
        if (start + size > length) throw new PretokeniseError(`raw string at offset ${index} runs past the end`, index);
        out.push(JSON.stringify(source.slice(start, start + size)));
        index = start + size;
        last = { kind: 'value' };
      } else if (code === rawInteger0 || code === rawInteger8 || code === rawInteger16) {
        let value = 0;
        if (code === rawInteger8) {
          value = (source.charCodeAt(index + 1) << 24) >> 24;
          index += 2;
        } else if (code === rawInteger16) {
          value = source.charCodeAt(index + 1) | ((source.charCodeAt(index + 2) << 24) >> 16);
          index += 3;
        } else index += 1;
        out.push(value < 0 ? ` (${value}) ` : ` ${value} `);
        last = { kind: 'value' };
      } else {
        const text = own(tokenText, code);
        if (text === undefined) throw new PretokeniseError(`byte ${code} at offset ${index} is not an Espruino token`, index);
        out.push(` ${text} `);
        index += 1;
        last = { kind: 'token', byte: code };
      }
      continue;
    }
    if (char === '"' || char === "'") {
      let end = index + 1;
      while (end < length && source.charAt(end) !== char) end += source.charAt(end) === '\\' ? 2 : 1;
      out.push(source.slice(index, end + 1));
      index = end + 1;
      last = { kind: 'value' };
      continue;
    }
    if (char === '/' && source.charAt(index + 1) === '/') {
      const end = source.indexOf('\n', index);
      index = end < 0 ? length : end;
      continue;
    }
    if (char === '/' && source.charAt(index + 1) === '*') {
      const end = source.indexOf('*/', index + 2);
      index = end < 0 ? length : end + 2;
      out.push(' ');
      continue;
    }
    if (char === '/' && espruinoStartsRegex(last)) {
      let end = index + 1;
      let inClass = false;
      while (end < length) {
        const next = source.charAt(end);
        if (next === '\\') end += 2;
        else {
          if (next === '[') inClass = true;
          else if (next === ']') inClass = false;
          else if (next === '/' && !inClass) break;
          end += 1;
        }
      }
      end += 1;
      while (isWordCharacter(source.charAt(end))) end += 1;
      out.push(source.slice(index, end));
      index = end;
      last = { kind: 'value' };
      continue;
    }
    if (isWordCharacter(char)) {
      let end = index + 1;
      while (end < length && isWordCharacter(source.charAt(end))) end += 1;
      // A plain-text word may still be a reserved word (source that was not pretokenised).
      const word = source.slice(index, end);
      out.push(word);
      index = end;
      const byte = own(wordTokens, word);
      last = byte !== undefined && !/^[0-9]/.test(word) ? { kind: 'token', byte } : { kind: 'value' };
      continue;
    }
    out.push(char);
    index += 1;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') continue;
    // Multi-character operators in plain text: the lexer's last token is the whole operator.
    const pair = source.slice(index - 1, index + 3);
    let operator = '';
    for (const candidate of Object.keys(operatorTokens)) {
      if (pair.startsWith(candidate) && candidate.length > operator.length) operator = candidate;
    }
    if (operator.length > 1) {
      out.push(source.slice(index, index - 1 + operator.length));
      index += operator.length - 1;
      last = { kind: 'token', byte: operatorTokens[operator]! };
    } else last = { kind: 'char', char };
  }
  return out.join('');
}
