/**
 * The attacker: a pool of UDP sockets on loopback (many source ports), paced sending, and the answers the gateway
 * sends back, each matched to the request it answers (by message id for ACK/RST, by token for NON) so the run can
 * say whether any response was larger than its request (an amplifier for spoofed sources).
 */
import dgram from 'node:dgram';
import { CoapTypes, decodeCoap } from '../../../firmware/protocol/coap';

export interface CategoryCounts {
  sent: number;
  sentBytes: number;
  responses: number;
  responseBytes: number;
  /** Responses larger than the request they answer. */
  amplified: number;
  largestRatio: number;
  largestResponse: number;
  /** The request/response pair with the largest ratio (hex), for the report. */
  worst: { request: string; response: string } | null;
}

interface Sent {
  category: string;
  bytes: Uint8Array;
  /** Message id and token as the gateway would read them, or null when the datagram has no CoAP header. */
  messageId: number | null;
  token: string | null;
  /** CoAP type bits (0 CON, 1 NON...). */
  type: number;
  at: number;
}

const REMEMBERED_PER_SOCKET = 4096;

function emptyCounts(): CategoryCounts {
  return { sent: 0, sentBytes: 0, responses: 0, responseBytes: 0, amplified: 0, largestRatio: 0, largestResponse: 0, worst: null };
}

/**
 * The gateway answers attack traffic (never accepted) at once and in order, so a response belongs to the oldest
 * request on its socket of the matching type (ACK/RST answer CON, NON answers NON) with the same message id and
 * token (ACK/RST) or the same token (NON); the requests in front of that one went unanswered. Requests older
 * than `maximumAge` are taken as unanswered (the forger's sockets send far less often than that).
 */
class AttackSocket {
  private readonly queue: Sent[] = [];

  constructor(readonly socket: dgram.Socket, private readonly maximumAge: number) {}

  remember(bytes: Uint8Array, category: string): void {
    const tokenLength = bytes.length >= 4 ? bytes[0]! & 0x0f : 0;
    const headed = bytes.length >= 4 + tokenLength && tokenLength <= 8;
    this.queue.push({
      category,
      bytes,
      messageId: headed ? (bytes[2]! << 8) | bytes[3]! : null,
      token: headed ? Buffer.from(bytes.subarray(4, 4 + tokenLength)).toString('hex') : null,
      type: bytes.length > 0 ? (bytes[0]! >> 4) & 3 : -1,
      at: Date.now(),
    });
    if (this.queue.length > REMEMBERED_PER_SOCKET) this.queue.shift();
  }

  match(messageId: number, token: string, byMessageId: boolean): Sent | undefined {
    const oldest = Date.now() - this.maximumAge;
    while (this.queue.length > 0 && this.queue[0]!.at < oldest) this.queue.shift();
    const index = this.queue.findIndex((sent) => sent.token === token && (byMessageId ? sent.type === 0 && sent.messageId === messageId : sent.type === 1));
    if (index < 0) return undefined;
    const [sent] = this.queue.splice(0, index + 1).slice(-1);
    return sent;
  }
}

export class AttackerPool {
  readonly counts = new Map<string, CategoryCounts>();
  /** Responses that matched no remembered request (judged against nothing; counted only). */
  unmatchedResponses = 0;
  private next = 0;

  private constructor(private readonly sockets: AttackSocket[], private readonly port: number) {
    for (const entry of sockets) entry.socket.on('message', (datagram) => this.answer(entry, datagram));
  }

  /** `maximumAgeMilliseconds`: see AttackSocket (keep it below the interval at which one socket sends). */
  static async open(socketCount: number, gatewayPort: number, maximumAgeMilliseconds = Infinity): Promise<AttackerPool> {
    const sockets: AttackSocket[] = [];
    for (let index = 0; index < socketCount; index++) {
      const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      sockets.push(new AttackSocket(socket, maximumAgeMilliseconds));
    }
    return new AttackerPool(sockets, gatewayPort);
  }

  category(name: string): CategoryCounts {
    let counts = this.counts.get(name);
    if (!counts) {
      counts = emptyCounts();
      this.counts.set(name, counts);
    }
    return counts;
  }

  private answer(entry: AttackSocket, datagram: Buffer): void {
    let sent: Sent | undefined;
    try {
      const message = decodeCoap(new Uint8Array(datagram));
      const byMessageId = message.type === CoapTypes.Acknowledgement || message.type === CoapTypes.Reset;
      sent = entry.match(message.messageId, Buffer.from(message.token).toString('hex'), byMessageId);
    } catch {
      sent = undefined;
    }
    if (!sent) {
      this.unmatchedResponses++;
      return;
    }
    const counts = this.category(sent.category);
    counts.responses++;
    counts.responseBytes += datagram.length;
    if (datagram.length > counts.largestResponse) counts.largestResponse = datagram.length;
    const ratio = datagram.length / Math.max(1, sent.bytes.length);
    if (datagram.length > sent.bytes.length) counts.amplified++;
    if (ratio > counts.largestRatio) {
      counts.largestRatio = ratio;
      counts.worst = { request: Buffer.from(sent.bytes).toString('hex'), response: datagram.toString('hex') };
    }
  }

  /** Sends one datagram from the next socket in turn (or the given one). */
  send(category: string, bytes: Uint8Array, socketIndex?: number): void {
    const entry = this.sockets[socketIndex ?? this.next++ % this.sockets.length]!;
    entry.remember(bytes, category);
    const counts = this.category(category);
    counts.sent++;
    counts.sentBytes += bytes.length;
    entry.socket.send(bytes, this.port, '127.0.0.1');
  }

  /**
   * Sends `datagrams` at `perSecond` (in 10 ms ticks), spread over the sockets. Resolves with the seconds it took.
   */
  async sendPaced(datagrams: Iterable<{ category: string; bytes: Uint8Array }>, perSecond: number): Promise<number> {
    const iterator = datagrams[Symbol.iterator]();
    const perTick = Math.max(1, Math.round(perSecond / 100));
    const started = Date.now();
    for (let tick = 0; ; tick++) {
      for (let index = 0; index < perTick; index++) {
        const item = iterator.next();
        if (item.done) return (Date.now() - started) / 1000;
        this.send(item.value.category, item.value.bytes);
      }
      const due = started + (tick + 1) * 10;
      const wait = due - Date.now();
      await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    }
  }

  get sourcePorts(): number {
    return this.sockets.length;
  }

  close(): void {
    for (const entry of this.sockets) entry.socket.close();
  }
}
