/**
 * A link to an Espruino console (a board's USB/serial console, a virtual board's pty, or a TCP console such as
 * `udt sim --tcp` or an Espruino WiFi/telnet console), and the REPL protocol the technician tools speak over it.
 *
 * Ports: a device path (/dev/ttyUSB0, /dev/pts/7, COM3) opens with `serialport`; `tcp://host:port` opens a TCP
 * socket. The protocol is the one EspruinoTools uses: a line starting with DLE (0x10) runs without echo, its
 * result is printed between markers that the line itself cannot echo (the marker is split in the source), so
 * asynchronous output of the running firmware may interleave without confusing the reader.
 */
import net from 'node:net';
import { SerialPort } from 'serialport';

export type ConsoleProblem = 'port' | 'no-answer' | 'timeout' | 'device-error' | 'closed';

/** A failure on the console, with what the tool was doing and the last output seen. */
export class ConsoleError extends Error {
  constructor(
    readonly problem: ConsoleProblem,
    message: string,
    readonly port: string,
    readonly output = '',
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

export interface ConsoleTransport {
  write(data: string | Uint8Array): void;
  onData(handler: (data: Uint8Array) => void): void;
  onClose(handler: (error?: Error) => void): void;
  close(): Promise<void>;
}

export function isTcpPort(port: string): boolean {
  return port.startsWith('tcp://');
}

function parseTcp(port: string): { host: string; port: number } {
  const match = /^tcp:\/\/([^:/]*|\[[^\]]+\]):(\d+)\/?$/.exec(port);
  if (!match || !(Number(match[2]) > 0 && Number(match[2]) < 65536)) {
    throw new ConsoleError('port', `"${port}" is not a TCP console address; write tcp://host:port, e.g. tcp://127.0.0.1:2323`, port);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(match[2]) };
}

function openTcp(port: string, timeoutMs: number): Promise<ConsoleTransport> {
  const address = parseTcp(port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(address.port, address.host);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConsoleError('port', `cannot connect to ${port}: no answer within ${timeoutMs} ms`, port));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code === 'ECONNREFUSED' ? 'nothing is listening there (is the board or `udt sim --tcp` running?)' : error.message;
      reject(new ConsoleError('port', `cannot connect to ${port}: ${why}`, port));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve({
        write: (data) => socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data)),
        onData: (handler) => socket.on('data', (chunk: Buffer) => handler(new Uint8Array(chunk))),
        onClose: (handler) => {
          socket.on('error', (error) => handler(error));
          socket.on('close', () => handler());
        },
        close: () =>
          new Promise((done) => {
            if (socket.destroyed) return done();
            socket.end(() => done());
            setTimeout(() => {
              socket.destroy();
              done();
            }, 200).unref();
          }),
      });
    });
  });
}

function openSerial(port: string, baudRate: number): Promise<ConsoleTransport> {
  return new Promise((resolve, reject) => {
    const serial = new SerialPort({ path: port, baudRate, autoOpen: false });
    serial.open((error) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = /ENOENT|No such file/.test(error.message) || code === 'ENOENT' ? 'no such port (list ports with `ls /dev/tty*`; a virtual board prints its pty path)' : error.message;
        reject(new ConsoleError('port', `cannot open ${port}: ${why}`, port));
        return;
      }
      resolve({
        write: (data) => serial.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data)),
        onData: (handler) => serial.on('data', (chunk: Buffer) => handler(new Uint8Array(chunk))),
        onClose: (handler) => serial.on('close', (closeError?: Error) => handler(closeError ?? undefined)),
        close: () => new Promise((done) => (serial.isOpen ? serial.close(() => done()) : done())),
      });
    });
  });
}

export interface ConsoleOpenOptions {
  baudRate?: number;
  connectTimeoutMs?: number;
}

let nextTag = 1;

export class ConsoleLink {
  /** Everything received since the link opened (the last 1 MB). */
  private received = '';
  private dropped = 0;
  private readonly listeners: Array<() => void> = [];
  private closedWith: string | null = null;
  /** Called with each piece of output as it arrives (for `udt console` and progress displays). */
  onOutput: ((text: string) => void) | null = null;

  private constructor(
    readonly port: string,
    private readonly transport: ConsoleTransport,
  ) {
    transport.onData((data) => {
      // XON/XOFF: Espruino sends XOFF when its input buffer is 3/4 full and XON when it has room again.
      if (data.includes(0x13) || data.includes(0x11)) {
        const last = Math.max(data.lastIndexOf(0x13), data.lastIndexOf(0x11));
        this.paused = data[last] === 0x13;
        if (this.paused) this.pausedAt = Date.now();
        else this.pump();
      }
      const text = Buffer.from(data).toString('latin1');
      this.received += text;
      if (this.received.length > 1_000_000) {
        const cut = this.received.length - 1_000_000;
        this.received = this.received.slice(cut);
        this.dropped += cut;
      }
      this.onOutput?.(text);
      for (const listener of this.listeners.slice()) listener();
    });
    transport.onClose((error) => {
      this.closedWith = error ? error.message : 'the other end closed the connection';
      for (const listener of this.listeners.slice()) listener();
    });
  }

  static async open(port: string, options: ConsoleOpenOptions = {}): Promise<ConsoleLink> {
    if (!port) throw new ConsoleError('port', 'no port given: --port /dev/ttyUSB0, /dev/pts/N or tcp://host:port', port);
    const transport = isTcpPort(port) ? await openTcp(port, options.connectTimeoutMs ?? 5000) : await openSerial(port, options.baudRate ?? 115200);
    return new ConsoleLink(port, transport);
  }

  /** Output received so far (since `mark` when given: a value from `position()`). */
  output(mark = 0): string {
    return this.received.slice(Math.max(0, mark - this.dropped));
  }

  /** A mark for `output` and `waitFor`: the count of characters received so far. */
  position(): number {
    return this.dropped + this.received.length;
  }

  private readonly queue: Buffer[] = [];
  private paused = false;
  private pausedAt = 0;
  private pumping = false;
  /** Pause between 64-byte pieces, ms (UDT_CONSOLE_PIECE_DELAY_MS). */
  pieceDelayMs = Number(process.env.UDT_CONSOLE_PIECE_DELAY_MS ?? 0);

  /**
   * Send bytes to the board in pieces of 64 bytes (Espruino queues input as events of at most 64 bytes in a
   * ring buffer; the Linux build has no flow control on its input at all), holding back while it said XOFF.
   */
  write(data: string | Uint8Array): void {
    if (this.closedWith) throw new ConsoleError('closed', `console ${this.port} is closed: ${this.closedWith}`, this.port);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    for (let offset = 0; offset < bytes.length; offset += 64) this.queue.push(bytes.subarray(offset, offset + 64));
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const next = (): void => {
      // XOFF without XON for 10 s: carry on (EspruinoTools gives up waiting after the same time).
      if (this.paused && Date.now() - this.pausedAt < 10000) {
        setTimeout(next, 20);
        return;
      }
      const piece = this.queue.shift();
      if (!piece || this.closedWith) {
        this.pumping = false;
        return;
      }
      this.transport.write(piece);
      if (this.pieceDelayMs > 0) setTimeout(next, this.pieceDelayMs);
      else setImmediate(next);
    };
    next();
  }

  /** Wait until `pattern` matches the output after `mark`; returns the match. */
  waitFor(pattern: RegExp, timeoutMs: number, mark = 0, what = `${pattern}`): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.output(mark));
        if (match) {
          finish();
          resolve(match);
          return true;
        }
        if (this.closedWith) {
          finish();
          reject(new ConsoleError('closed', `console ${this.port} closed while waiting for ${what}: ${this.closedWith}`, this.port, this.tail(mark)));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new ConsoleError('timeout', `no ${what} on ${this.port} within ${timeoutMs} ms`, this.port, this.tail(mark)));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const finish = (): void => {
        clearTimeout(timer);
        const index = this.listeners.indexOf(listener);
        if (index >= 0) this.listeners.splice(index, 1);
      };
      this.listeners.push(listener);
      check();
    });
  }

  private tail(mark: number): string {
    return this.output(mark).slice(-2000);
  }

  /**
   * Clear whatever is typed on the board's input line and check that an Espruino REPL answers; tries a few
   * times (a board may be busy booting or asleep). Throws ConsoleError('no-answer') when nothing answers.
   */
  async handshake(timeoutMs = 3000, attempts = 3): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.write('\x03');
      try {
        const value = await this.evaluate<number>('1+1', timeoutMs);
        if (value === 2) return;
      } catch (error) {
        if (!(error instanceof ConsoleError) || error.problem !== 'timeout' || attempt === attempts) {
          if (error instanceof ConsoleError && error.problem === 'timeout') break;
          throw error;
        }
      }
    }
    throw new ConsoleError(
      'no-answer',
      `no Espruino board answers on ${this.port} (check the cable, the port, the baud rate, and that the board is powered and not in its bootloader)`,
      this.port,
      this.received.slice(-2000),
    );
  }

  /**
   * Run `statements` (ES5, one line) on the board and return the JSON value of `expression` evaluated after
   * them. A thrown error on the board becomes ConsoleError('device-error') with the board's message.
   */
  async evaluate<T>(expression: string, timeoutMs = 5000, statements = ''): Promise<T> {
    const tag = `u${process.pid % 1000}x${nextTag++}`;
    const open = `<<${tag}<`;
    const close = `>${tag}>>`;
    // The markers are joined on the board: an echo of this line never contains them.
    const line =
      `\x10try{${statements}print("<<"+"${tag}<"+JSON.stringify(${expression})+">${tag}"+">>")}` +
      `catch(e){print("<<"+"${tag}<"+JSON.stringify({udtError:String(e)})+">${tag}"+">>")}\n`;
    const mark = this.position();
    this.write(line);
    const match = await this.waitFor(new RegExp(`${escape(open)}([\\s\\S]*?)${escape(close)}`), timeoutMs, mark, `answer to ${describe(expression, statements)}`);
    return this.decode<T>(match[1]!, expression);
  }

  /** Like `evaluate`, for an expression that gives a Promise: waits for it to settle. */
  async evaluatePromise<T>(promiseExpression: string, timeoutMs = 10000): Promise<T> {
    const tag = `u${process.pid % 1000}p${nextTag++}`;
    const open = `<<${tag}<`;
    const close = `>${tag}>>`;
    const report = (value: string): string => `print("<<"+"${tag}<"+JSON.stringify(${value})+">${tag}"+">>")`;
    const line =
      `\x10try{(${promiseExpression}).then(function(v){${report('v')}},function(e){${report('{udtError:String(e)}')}})}` +
      `catch(e){${report('{udtError:String(e)}')}}\n`;
    const mark = this.position();
    this.write(line);
    const match = await this.waitFor(new RegExp(`${escape(open)}([\\s\\S]*?)${escape(close)}`), timeoutMs, mark, `answer to ${describe(promiseExpression, '')}`);
    return this.decode<T>(match[1]!, promiseExpression);
  }

  private decode<T>(text: string, expression: string): T {
    const json = text.replace(/\r\n/g, '\n');
    let value: unknown;
    try {
      value = json === 'undefined' || json === '' ? undefined : JSON.parse(json);
    } catch {
      throw new ConsoleError('device-error', `unreadable answer to ${describe(expression, '')}: ${json.slice(0, 200)}`, this.port);
    }
    if (value && typeof value === 'object' && 'udtError' in (value as object)) {
      throw new ConsoleError('device-error', `the board says: ${(value as { udtError: string }).udtError} (running ${describe(expression, '')})`, this.port);
    }
    return value as T;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\<>]/g, '\\$&');
}

function describe(expression: string, statements: string): string {
  const text = statements ? `${statements} ${expression}` : expression;
  return `"${text.length > 60 ? text.slice(0, 57) + '...' : text}"`;
}
