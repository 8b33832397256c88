/**
 * A terminal as the gateway sees it: the codec's client side (OSCORE-protected confirmable POST) over a real
 * UDP socket, with CoAP retransmission. Built from the secrets `provision` exports, like a flashed device.
 */
import nodeCrypto from 'node:crypto';
import dgram from 'node:dgram';
import { createNodeCcmAead } from '../../../firmware/protocol/crypto-backends';
import { buildUplinkRequest, readUplinkResponse, UplinkRequest, UplinkResponseResult } from '../../../firmware/protocol/client';
import { OscoreContext, SenderSequence } from '../../../firmware/protocol/oscore-context';
import type { CommandResult, Reading } from '../../../firmware/protocol/uplink';
import type { DeviceSecrets } from '../../../gateway/store/registry';

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** The device's OSCORE context from exported secrets; `sequenceStart` resumes a sequence after a "reboot". */
export function deviceContext(secrets: DeviceSecrets, sequenceStart = 0): OscoreContext {
  return {
    keys: {
      senderId: fromHex(secrets.oscore.senderId),
      recipientId: fromHex(secrets.oscore.recipientId),
      idContext: null,
      senderKey: fromHex(secrets.oscore.senderKey),
      recipientKey: fromHex(secrets.oscore.recipientKey),
      commonIv: fromHex(secrets.oscore.commonIv),
    },
    aead: createNodeCcmAead(nodeCrypto),
    sequence: new SenderSequence(sequenceStart, 1, () => true),
    replay: null,
  };
}

export interface TerminalOptions {
  port: number;
  host?: string;
  /** Time to wait for a response before retransmitting (the same bytes). */
  retransmitMilliseconds?: number;
  attempts?: number;
}

export class ExchangeTimeout extends Error {
  override readonly name = 'ExchangeTimeout';
}

export class Terminal {
  readonly context: OscoreContext;
  private socket: dgram.Socket | null = null;
  private messageId = Math.floor(Math.random() * 0xffff);
  private waiting: { request: UplinkRequest; resolve: (result: UplinkResponseResult) => void } | null = null;

  constructor(readonly secrets: DeviceSecrets, private readonly options: TerminalOptions, context?: OscoreContext) {
    this.context = context ?? deviceContext(secrets);
  }

  async open(): Promise<this> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (datagram) => {
      const waiting = this.waiting;
      if (!waiting) return;
      const result = readUplinkResponse(this.context, waiting.request, new Uint8Array(datagram));
      if (!result.ok && result.reason === 'unrelated') return;
      this.waiting = null;
      waiting.resolve(result);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket = socket;
    return this;
  }

  /** A new source port, as after a NAT rebinding. */
  async rebind(): Promise<void> {
    this.close();
    await this.open();
  }

  get localPort(): number {
    return this.socket!.address().port;
  }

  /** Builds the datagram for an uplink (uses a sequence number). */
  prepare(readings: Reading[], commandResults: CommandResult[] = []): UplinkRequest {
    this.messageId = (this.messageId + 1) & 0xffff;
    return buildUplinkRequest(this.context, this.messageId, { readings, commandResults });
  }

  /** Sends the prepared request (and retransmits the same bytes) until a response arrives. */
  exchange(request: UplinkRequest): Promise<UplinkResponseResult> {
    const socket = this.socket!;
    const attempts = this.options.attempts ?? 4;
    const interval = this.options.retransmitMilliseconds ?? 2000;
    return new Promise((resolve, reject) => {
      let sent = 0;
      let timer: NodeJS.Timeout | null = null;
      const transmit = (): void => {
        if (sent >= attempts) {
          this.waiting = null;
          reject(new ExchangeTimeout(`no response after ${attempts} transmissions`));
          return;
        }
        sent++;
        socket.send(request.datagram, this.options.port, this.options.host ?? '127.0.0.1');
        timer = setTimeout(transmit, interval);
      };
      this.waiting = {
        request,
        resolve: (result) => {
          if (timer) clearTimeout(timer);
          resolve(result);
        },
      };
      transmit();
    });
  }

  send(readings: Reading[], commandResults: CommandResult[] = []): Promise<UplinkResponseResult> {
    return this.exchange(this.prepare(readings, commandResults));
  }

  /** Sends raw bytes without waiting (for hostile datagrams). */
  sendRaw(datagram: Uint8Array): void {
    this.socket!.send(datagram, this.options.port, this.options.host ?? '127.0.0.1');
  }

  /** Waits for the next datagram of any kind (for rejection answers). */
  nextDatagram(): Promise<Buffer> {
    return new Promise((resolve) => this.socket!.once('message', (datagram) => resolve(datagram)));
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}
