/**
 * Acceptance: a virtual UART bridged (serialport) to one end of a pty pair exchanges bytes with a process on
 * the other end. The process is a python3 program holding the pty master: it answers every line in upper case.
 * The virtual clock waits for the real reply (runWithRealIo) instead of running past it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { HilBridge, bridgeToPty } from '../../simulator/hil-bridge';
import { openPty } from '../../simulator/pty';
import { consoleLines } from './support';

const upperCaseEcho = String.raw`
import os, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
buffer = b""
while True:
    data = os.read(master, 1024)
    buffer += data
    while b"\n" in buffer:
        line, buffer = buffer.split(b"\n", 1)
        os.write(master, line.upper() + b"\n")
`;

function startEchoProcess(): Promise<{ child: ChildProcessWithoutNullStreams; path: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-u', '-c', upperCaseEcho]);
    child.once('error', reject);
    child.stdout.once('data', (chunk: Buffer) => resolve({ child, path: chunk.toString().trim() }));
  });
}

const terminalProgram = String.raw`
import os, sys, time, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
os.write(fd, b"answer\n")
end = time.time() + 5
out = b""
while time.time() < end and b"=42" not in out:
    out += os.read(fd, 1024)
sys.stdout.write(out.decode("latin-1"))
`;

describe('HIL bridge', function () {
  this.timeout(20_000);

  before(function () {
    if (spawnSync('python3', ['-c', 'import pty']).status !== 0) this.skip();
  });

  it('a virtual UART bridged to a pty exchanges bytes with the process on the other end', async () => {
    const { child, path } = await startEchoProcess();
    const board = new VirtualBoard(loadBoard('pico-bc66'));
    board.boot('Serial2.setup(115200, { rx: A3, tx: A2 }); Serial2.on("data", function (d) { print("got " + JSON.stringify(d)); });');
    board.clock.advance(500);
    const bridge = await HilBridge.open(board.clock, board.uartEndpoint('Serial2'), { path, baudRate: 115200, replyWindowMs: 1000 });
    try {
      board.evaluate('Serial2.write("ping from the virtual board\\n")');
      await board.clock.runWithRealIo(board.clock.now() + 100);
      board.evaluate('Serial2.write("second line\\n")');
      await board.clock.runWithRealIo(board.clock.now() + 100);
      const lines = consoleLines(board.consoleOutput());
      assert.ok(lines.includes('got "PING FROM THE VIRTUAL BOARD\\n"'), lines.join('\n'));
      assert.ok(lines.includes('got "SECOND LINE\\n"'), lines.join('\n'));
      assert.equal(bridge.bytesToReal, 'ping from the virtual board\n'.length + 'second line\n'.length);
      assert.equal(bridge.bytesFromReal, bridge.bytesToReal);
    } finally {
      await bridge.close();
      child.kill();
    }
  });

  it('the console can be offered on a pty for terminal tools', async () => {
    const board = new VirtualBoard(loadBoard('rak5010'));
    board.boot('var answer = 42;');
    board.clock.advance(500);
    const pty = await openPty();
    const detach = bridgeToPty(board.console.host, pty);
    try {
      // A terminal program: opens the pty like a serial port, types a line, waits for the result.
      const terminal = spawn('python3', ['-u', '-c', terminalProgram, pty.path]);
      let output = '';
      terminal.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
      const deadline = Date.now() + 5000;
      while (!output.includes('=42') && Date.now() < deadline) {
        board.clock.advance(10);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.match(output, /answer\r\n=42\r\n/);
    } finally {
      detach();
      pty.close();
    }
  });
});
