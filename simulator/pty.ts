/**
 * Pseudo-terminals without native Node modules: a small python3 helper opens a pty with os.openpty(), prints
 * the path of its slave end (/dev/pts/N) and relays between the master end and its stdin/stdout pipes. Node
 * holds the pipes; a tool (or the HIL bridge, or Espruino's Linux build) opens the slave path as a serial port.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const helper = String.raw`
import os, sys, tty, select, termios
master, slave = os.openpty()
tty.setraw(slave)
attributes = termios.tcgetattr(slave)
attributes[3] = attributes[3] & ~termios.ECHO
termios.tcsetattr(slave, termios.TCSANOW, attributes)
sys.stdout.write(os.ttyname(slave) + "\n")
sys.stdout.flush()
stdin = sys.stdin.fileno()
stdout = sys.stdout.fileno()
while True:
    readable, _, _ = select.select([master, stdin], [], [])
    if master in readable:
        try:
            data = os.read(master, 4096)
        except OSError:
            data = b""
        if data:
            os.write(stdout, data)
    if stdin in readable:
        data = os.read(stdin, 4096)
        if not data:
            break
        os.write(master, data)
`;

export interface PtyEnd {
  /** The slave device path to give to a tool, e.g. /dev/pts/7. */
  readonly path: string;
  /** Bytes written here come out of the slave end. */
  write(data: Uint8Array | string): void;
  /** Bytes a tool writes into the slave end. */
  onData(handler: (data: Uint8Array) => void): () => void;
  close(): void;
}

/** Open a pty whose master end this process drives. Needs python3. */
export function openPty(python = 'python3'): Promise<PtyEnd> {
  return new Promise((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(python, ['-u', '-c', helper], { stdio: 'pipe' });
    } catch (error) {
      reject(error);
      return;
    }
    const handlers: Array<(data: Uint8Array) => void> = [];
    let path = '';
    let pending = Buffer.alloc(0);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!path) reject(new Error(`pty helper exited (${code}) before opening a pty: ${stderr.trim()}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!path) {
        pending = Buffer.concat([pending, chunk]);
        const newline = pending.indexOf(0x0a);
        if (newline < 0) return;
        path = pending.subarray(0, newline).toString();
        const rest = pending.subarray(newline + 1);
        resolve({
          path,
          write: (data) => child.stdin.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data)),
          onData: (handler) => {
            handlers.push(handler);
            return () => {
              const index = handlers.indexOf(handler);
              if (index >= 0) handlers.splice(index, 1);
            };
          },
          close: () => {
            child.stdin.end();
            child.kill();
          },
        });
        if (rest.length > 0) for (const handler of handlers) handler(new Uint8Array(rest));
        return;
      }
      for (const handler of handlers.slice()) handler(new Uint8Array(chunk));
    });
  });
}
