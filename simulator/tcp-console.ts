/**
 * A virtual serial line (usually a board's console, `board.console.host`) offered on a TCP port, so
 * `udt flash|console|diag --port tcp://127.0.0.1:<port>` (and EspruinoTools' tcp:// ports) reach a virtual board
 * exactly as they reach a board behind a serial-to-TCP adapter. One client at a time: a second connection is
 * told so and closed, as a serial port that is already open would refuse it.
 */
import net from 'node:net';
import type { SerialEndpoint } from './wire';

export interface TcpConsole {
  readonly host: string;
  readonly port: number;
  /** Address to give to the tools: tcp://host:port. */
  readonly url: string;
  clients(): number;
  close(): Promise<void>;
}

export function serveOnTcp(endpoint: SerialEndpoint, port = 0, host = '127.0.0.1'): Promise<TcpConsole> {
  let client: net.Socket | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (client) {
      socket.end(`busy: another tool is connected to ${endpoint.name}\r\n`);
      return;
    }
    client = socket;
    socket.setNoDelay(true);
    const detach = endpoint.onData((data) => socket.write(Buffer.from(data)));
    socket.on('data', (chunk: Buffer) => endpoint.write(new Uint8Array(chunk)));
    const release = (): void => {
      detach();
      if (client === socket) client = null;
    };
    socket.on('close', release);
    socket.on('error', release);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        host,
        port: address.port,
        url: `tcp://${host}:${address.port}`,
        clients: () => (client ? 1 : 0),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
