/**
 * The Espruino console (jsinteractive.c) of the virtual board: a serial line whose far end (`host`) tools talk
 * to as they would to a board's USB or serial console. Typed characters are echoed; Enter runs the line when
 * its brackets balance (else a ":" continuation prompt); results print as `=value`; a line starting with
 * \x10 (DLE, as EspruinoTools sends) runs without echo or result; output that arrives while the prompt is
 * shown clears the line with "\r\x1b[J" and the prompt is drawn again afterwards. "\n" goes out as "\r\n".
 */
import * as acorn from 'acorn';
import type { VirtualClock } from '../clock';
import { UartLink, type SerialEndpoint } from '../wire';
import { bytesToLatin1 } from './data';
import { inspect } from './inspect';
import type { EspruinoSession } from './session';

export const banner = [
  ' ____                 _ ',
  '|  __|___ ___ ___ _ _|_|___ ___ ',
  '|  __|_ -| . |  _| | | |   | . |',
  '|____|___|  _|_| |___|_|_|_|___|',
  '         |_| espruino.com',
  ' 2v29 (c) 2026 G.Williams',
].join('\n');

/** True when every bracket opened in `code` is closed (outside strings and comments). */
export function isComplete(code: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let index = 0; index < code.length; index++) {
    const char = code[index]!;
    if (quote) {
      if (char === '\\') index++;
      else if (char === quote) quote = null;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '/' && code[index + 1] === '/') {
      const end = code.indexOf('\n', index);
      if (end < 0) break;
      index = end;
    } else if (char === '/' && code[index + 1] === '*') {
      const end = code.indexOf('*/', index + 2);
      if (end < 0) return false;
      index = end + 1;
    } else if (char === '{' || char === '[' || char === '(') depth++;
    else if (char === '}' || char === ']' || char === ')') depth--;
  }
  return depth <= 0 && quote === null;
}

function lastDeclaredName(code: string): string | null {
  try {
    const program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
    const last = program.body[program.body.length - 1];
    if (last?.type !== 'VariableDeclaration' || last.kind !== 'var') return null;
    const declarator = last.declarations[last.declarations.length - 1]!;
    return declarator.id.type === 'Identifier' && declarator.init ? declarator.id.name : null;
  } catch {
    return null;
  }
}

export class ConsoleDevice {
  readonly link: UartLink;
  private session: EspruinoSession | null = null;
  private input = '';
  private pending = '';
  private lineEcho = true;
  echoEnabled = true;
  private promptShown = false;
  private promptWanted = false;
  private lastWasCarriageReturn = false;
  private inRepl = false;

  constructor(clock: VirtualClock, boardName: string, baudRate = 115200) {
    this.link = new UartLink(clock, { baudRate }, [`${boardName}:console`, 'console']);
    this.link.a.onData((bytes) => this.receive(bytes));
  }

  /** The far end: what a terminal or `udt console` would be plugged into. */
  get host(): SerialEndpoint {
    return this.link.b;
  }

  /** A new boot: RAM (the input line, echo setting) is gone. */
  attach(session: EspruinoSession | null): void {
    this.session = session;
    this.input = '';
    this.pending = '';
    this.lineEcho = true;
    this.echoEnabled = true;
    this.promptShown = false;
    this.promptWanted = false;
    if (session) session.afterEvent.push(() => this.repaintPrompt());
  }

  /** Interpreter output: converts newlines and takes the prompt line out of the way first. */
  write(text: string): void {
    if (text.length === 0) return;
    let out = text.replace(/\r?\n/g, '\r\n');
    if (this.promptShown && !this.inRepl) {
      out = '\r\x1b[J' + out;
      this.promptShown = false;
      this.promptWanted = true;
    }
    this.link.a.write(out);
  }

  /** Draw the ">" prompt (after boot, after a REPL line, after asynchronous output). */
  showPrompt(): void {
    if (!this.echoEnabled || !this.session?.alive) return;
    this.link.a.write('>' + this.input);
    this.promptShown = true;
    this.promptWanted = false;
  }

  private repaintPrompt(): void {
    if (this.promptWanted && !this.inRepl) this.showPrompt();
  }

  private receive(bytes: Uint8Array): void {
    const session = this.session;
    if (!session || !session.alive) return;
    session.board.power.noteActivity(session.board.options.activeMillisecondsPerEvent);
    for (const char of bytesToLatin1(bytes)) {
      if (!session.alive) return;
      this.receiveChar(char);
    }
  }

  private echo(text: string): void {
    if (this.echoEnabled && this.lineEcho) this.link.a.write(text);
  }

  private receiveChar(char: string): void {
    const code = char.charCodeAt(0);
    if (char === '\n' && this.lastWasCarriageReturn) {
      this.lastWasCarriageReturn = false;
      return;
    }
    this.lastWasCarriageReturn = char === '\r';
    if (code === 0x10 && this.input.length === 0 && this.pending.length === 0) {
      this.lineEcho = false;
      return;
    }
    if (code === 0x03) {
      this.input = '';
      this.pending = '';
      this.lineEcho = true;
      this.link.a.write('\r\n');
      this.showPrompt();
      return;
    }
    if (code === 0x08 || code === 0x7f) {
      if (this.input.length > 0) {
        this.input = this.input.slice(0, -1);
        this.echo('\x08 \x08');
      }
      return;
    }
    if (char === '\r' || char === '\n') {
      this.enter();
      return;
    }
    if (code < 0x20 && char !== '\t') return;
    this.input += char;
    this.echo(char);
  }

  private enter(): void {
    const code = this.pending + this.input;
    this.input = '';
    if (!isComplete(code)) {
      this.pending = code + '\n';
      this.echo('\r\n:');
      return;
    }
    this.pending = '';
    const echoLine = this.echoEnabled && this.lineEcho;
    this.echo('\r\n');
    this.lineEcho = true;
    this.promptShown = false;
    const session = this.session!;
    if (code.trim().length === 0) {
      this.showPrompt();
      return;
    }
    this.inRepl = true;
    const result = session.evaluate(code, 'REPL');
    // Espruino's `var x = 3` evaluates to 3 (V8's completion value is undefined): show the last declared value.
    const declared = result.failed ? null : lastDeclaredName(code);
    if (declared) result.value = session.realm.get<Record<string, unknown>>('globalThis')[declared];
    this.inRepl = false;
    if (!session.alive) return;
    if (!result.failed && echoLine) this.link.a.write('=' + inspect(result.value, true).replace(/\n/g, '\r\n') + '\r\n');
    session.finishEvent();
    this.showPrompt();
  }
}
