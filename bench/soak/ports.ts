/**
 * Ports for the processes the soak restarts (gateway, broker), chosen below the kernel's ephemeral range: while a
 * process is down, any of the hundreds of sockets the soak's modems and clients open may otherwise be given its
 * port, and the restart fails with EADDRINUSE.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A port free for `kind` (or both) below the ephemeral range, not one of `taken`. */
export async function stablePort(kind: 'tcp' | 'udp' | 'both', taken: number[] = []): Promise<number> {
  const top = ephemeralStart();
  const bottom = Math.max(1024, top - 12000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (taken.includes(port)) continue;
    if ((kind !== 'udp' && !(await tcpFree(port))) || (kind !== 'tcp' && !(await udpFree(port)))) continue;
    return port;
  }
  throw new Error(`no free port between ${bottom} and ${top}`);
}
