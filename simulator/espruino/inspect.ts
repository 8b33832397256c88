/**
 * Value formatting close to Espruino's console (jswrap_json.c): the REPL prints `=value` with unquoted keys,
 * console.log/print quote them; strings escape non-printable bytes as \xNN; typed arrays print as
 * `new Uint8Array([1, 2])`. Layout of big nested objects is approximate (one line when short and flat).
 */

function quote(text: string): string {
  let out = '"';
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const char = text[index]!;
    if (char === '"' || char === '\\') out += '\\' + char;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xff)) out += '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
    else if (code > 0xff) out += '\\u' + code.toString(16).toUpperCase().padStart(4, '0');
    else out += char;
  }
  return out + '"';
}

function typedArrayName(value: object): string | null {
  const tag = Object.prototype.toString.call(value);
  const match = /^\[object (\w+Array)\]$/.exec(tag);
  return match && match[1] !== 'Array' ? match[1]! : null;
}

export function inspect(value: unknown, repl: boolean, depth = 0, indent = ''): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'function () { ... }';
  if (typeof value !== 'object') return String(value);
  if (depth > 8) return '...';
  const typed = typedArrayName(value);
  if (typed) return `new ${typed}([${Array.prototype.join.call(value, ', ')}])`;
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') {
    return `new Uint8Array([${Array.prototype.join.call(new Uint8Array(value as ArrayBuffer), ', ')}]).buffer`;
  }
  if ('message' in value && 'name' in value) return `${String((value as Error).name)}: ${String((value as Error).message)}`;
  if (typeof (value as { toString?: unknown }).toString === 'function' && (value as object).constructor?.name && /^Espruino(Pin|SerialPort|I2cObject)$/.test((value as object).constructor.name)) {
    return String(value);
  }
  const isArray = Array.isArray(value);
  const entries = isArray
    ? (value as unknown[]).map((item) => inspect(item, repl, depth + 1, indent + '  '))
    : Object.keys(value).map((key) => {
        const label = repl && /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
        return `${label}: ${inspect((value as Record<string, unknown>)[key], repl, depth + 1, indent + '  ')}`;
      });
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}  ${close}`;
  const nested = entries.some((entry) => entry.includes('{') || entry.includes('['));
  const oneLine = `${open} ${entries.join(', ')} ${close}`;
  if (!nested && oneLine.length <= 60) return oneLine;
  return `${open} ${entries.join(`, \n${indent}  `)}\n${indent} ${close}`;
}
