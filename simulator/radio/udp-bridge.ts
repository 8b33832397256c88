/**
 * Real UDP for the modem models: each modem socket is a node:dgram socket on 127.0.0.1, datagrams go to a
 * real host:port and replies come back. Only loopback destinations are allowed (this workplace's network
 * rule); anything else is dropped and counted unless a `route` maps it to a loopback address.
 *
 * Virtual time must not run past a reply still on its way: every send opens a `beginRealWork()` on the
 * virtual clock that ends when a datagram comes back on that socket or after `replyWaitMs` of real time.
 */
import dgram from 'node:dgram';
import type { VirtualClock } from '../clock';

export interface UdpEndpoint {
  host: string;
  port: number;
}

export interface UdpBridgeOptions {
  /** Send every datagram here instead of the address the firmware named (a gateway on loopback). */
  route?: UdpEndpoint | null;
  /** Real milliseconds virtual time waits for a reply after a send (generous: a loaded CI machine is slow). Default 1000. */
  replyWaitMs?: number;
}

export type UdpArrival = (socketId: number, data: Uint8Array, from: UdpEndpoint) => void;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export class UdpBridge {
  private sockets = new Map<number, dgram.Socket>();
  private readonly bound = new WeakSet<dgram.Socket>();
  private pendingReal = new Map<number, Array<() => void>>();
  blockedDestinations = 0;
  sent = 0;
  received = 0;
  route: UdpEndpoint | null;
  /**
   * Called with the socket's local port just before each datagram leaves (after the socket is bound, which for
   * a new socket is later than `send`; virtual time stands still meanwhile). A fleet notes there when the
   * datagram was sent, for the gateway's clock.
   */
  beforeSend: ((localPort: number) => void) | null = null;
  private readonly replyWaitMs: number;

  constructor(
    private readonly clock: VirtualClock,
    private readonly arrival: UdpArrival,
    options: UdpBridgeOptions = {},
  ) {
    this.route = options.route ?? null;
    this.replyWaitMs = options.replyWaitMs ?? 1000;
  }

  /** Send one datagram from modem socket `socketId`. Returns false when the destination is not allowed. */
  send(socketId: number, data: Uint8Array, destination: UdpEndpoint): boolean {
    const target = this.route ?? destination;
    if (!isLoopback(target.host) || !(target.port > 0 && target.port < 65536)) {
      this.blockedDestinations++;
      return false;
    }
    const socket = this.socketFor(socketId);
    const finish = this.clock.beginRealWork();
    const waiting = this.pendingReal.get(socketId) ?? [];
    waiting.push(finish);
    this.pendingReal.set(socketId, waiting);
    const timer = setTimeout(finish, this.replyWaitMs);
    timer.unref();
    this.sent++;
    const beforeSend = this.beforeSend;
    if (beforeSend) {
      // Registered before send() queues the datagram on a socket still binding, so it runs first.
      if (this.bound.has(socket)) beforeSend(socket.address().port);
      else socket.once('listening', () => beforeSend(socket.address().port));
    }
    socket.send(Buffer.from(data), target.port, target.host === 'localhost' ? '127.0.0.1' : target.host);
    return true;
  }

  /** Forget a modem socket (AT close, power loss): its dgram socket closes, late replies are dropped. */
  closeSocket(socketId: number): void {
    const socket = this.sockets.get(socketId);
    if (socket) {
      this.sockets.delete(socketId);
      socket.close();
    }
    this.releaseWaiters(socketId);
  }

  close(): void {
    for (const id of [...this.sockets.keys()]) this.closeSocket(id);
  }

  private socketFor(socketId: number): dgram.Socket {
    let socket = this.sockets.get(socketId);
    if (socket) return socket;
    socket = dgram.createSocket('udp4');
    socket.once('listening', () => this.bound.add(socket));
    socket.bind(0, '127.0.0.1');
    socket.unref();
    socket.on('message', (message, remote) => {
      if (this.sockets.get(socketId) !== socket) return;
      this.received++;
      this.arrival(socketId, new Uint8Array(message), { host: remote.address, port: remote.port });
      this.releaseWaiters(socketId);
    });
    socket.on('error', () => this.closeSocket(socketId));
    this.sockets.set(socketId, socket);
    return socket;
  }

  private releaseWaiters(socketId: number): void {
    const waiting = this.pendingReal.get(socketId);
    if (!waiting) return;
    this.pendingReal.delete(socketId);
    for (const finish of waiting) finish();
  }
}
