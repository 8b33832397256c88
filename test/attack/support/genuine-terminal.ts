/**
 * A genuine terminal for the attack run: the terminal-side codec (buildUplinkRequest / readUplinkResponse with a
 * SenderSequence checkpointed in its "flash") over a real UDP socket on loopback. It produces readings at a fixed
 * interval, sends them in batches, retransmits the same bytes until the gateway answers, and forgets readings
 * only when the gateway acknowledged them. What survives a reboot lives in `TerminalFlash`: a reboot is a new
 * instance built from the same flash (new socket, so a new source port; sequence resumed at the checkpoint).
 */
import nodeCrypto from 'node:crypto';
import dgram from 'node:dgram';
import { createNodeCcmAead } from '../../../firmware/protocol/crypto-backends';
import { buildUplinkRequest, readUplinkResponse, UplinkRequest, UplinkResponseResult } from '../../../firmware/protocol/client';
import { OscoreContext, SenderSequence } from '../../../firmware/protocol/oscore-context';
import type { Reading } from '../../../firmware/protocol/uplink';
import type { DeviceSecrets } from '../../../gateway/store/registry';

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** The value the oracle expects for a reading: a function of device and reading id, exact in binary floating point. */
export function readingValue(deviceIndex: number, readingId: number): number {
  return ((deviceIndex * 7919 + readingId * 104729) % 1000003) / 8;
}

export interface TerminalFlash {
  /** The sequence limit last persisted (RFC 8613 Appendix B.1.1). */
  checkpoint: number;
  nextReadingId: number;
  /** Readings not yet acknowledged (the terminal's journal). */
  pending: Reading[];
}

export interface TerminalStatistics {
  requests: number;
  transmissions: number;
  retransmissions: number;
  acknowledged: number;
  refusals: Record<string, number>;
  /** Largest response / request size ratio seen on this terminal's genuine exchanges. */
  largestResponseRatio: number;
  largestResponse: number;
}

export interface TerminalOptions {
  gatewayPort: number;
  readingIntervalMilliseconds: number;
  retransmitMilliseconds: number;
  batchLimit: number;
  checkpointInterval: number;
}

const CAPTURED_KEPT = 8;

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

export class GenuineTerminal {
  readonly context: OscoreContext;
  /** Every reading this device produced, by id (shared across reboots through `produced`). */
  readonly statistics: TerminalStatistics = { requests: 0, transmissions: 0, retransmissions: 0, acknowledged: 0, refusals: {}, largestResponseRatio: 0, largestResponse: 0 };
  /** Request datagrams the gateway acknowledged, newest last: the attacker's captures. */
  readonly captured: Uint8Array[] = [];
  private socket: dgram.Socket | null = null;
  private messageId = nodeCrypto.randomInt(0x10000);
  private waiting: { request: UplinkRequest; resolve: (result: UplinkResponseResult, size: number) => void } | null = null;
  private producer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private running = false;
  private paused = false;
  private busy = false;

  constructor(
    readonly deviceIndex: number,
    readonly secrets: DeviceSecrets,
    readonly flash: TerminalFlash,
    readonly produced: Map<number, number>,
    private readonly options: TerminalOptions,
  ) {
    this.context = {
      keys: {
        senderId: fromHex(secrets.oscore.senderId),
        recipientId: fromHex(secrets.oscore.recipientId),
        idContext: null,
        senderKey: fromHex(secrets.oscore.senderKey),
        recipientKey: fromHex(secrets.oscore.recipientKey),
        commonIv: fromHex(secrets.oscore.commonIv),
      },
      aead: createNodeCcmAead(nodeCrypto),
      sequence: new SenderSequence(flash.checkpoint, options.checkpointInterval, (limit) => {
        flash.checkpoint = limit;
        return true;
      }),
      replay: null,
    };
  }

  get imei(): string {
    return this.secrets.imei;
  }

  async start(): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (datagram) => {
      const waiting = this.waiting;
      if (!waiting) return;
      const result = readUplinkResponse(this.context, waiting.request, new Uint8Array(datagram));
      if (!result.ok && result.reason === 'unrelated') return;
      this.waiting = null;
      waiting.resolve(result, datagram.length);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket = socket;
    this.running = true;
    this.loop = this.run();
  }

  /** Starts producing a reading every interval. */
  produce(): void {
    this.producer = setInterval(() => {
      const id = this.flash.nextReadingId++;
      const value = readingValue(this.deviceIndex, id);
      this.produced.set(id, value);
      this.flash.pending.push({ id, time: Math.floor(Date.now() / 1000), values: [value] });
    }, this.options.readingIntervalMilliseconds);
  }

  stopProducing(): void {
    if (this.producer) clearInterval(this.producer);
    this.producer = null;
  }

  /** Resolves once no exchange is in flight and none will start until `resume`. */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.busy) await sleep(5);
  }

  resume(): void {
    this.paused = false;
  }

  get drained(): boolean {
    return this.flash.pending.length === 0 && !this.busy;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.paused || this.flash.pending.length === 0) {
        await sleep(10);
        continue;
      }
      this.busy = true;
      try {
        await this.sendBatch();
      } finally {
        this.busy = false;
      }
    }
  }

  private async sendBatch(): Promise<void> {
    const batch = this.flash.pending.slice(0, this.options.batchLimit);
    this.messageId = (this.messageId + 1) & 0xffff;
    const request = buildUplinkRequest(this.context, this.messageId, { readings: batch, commandResults: [] });
    this.statistics.requests++;
    const { result, size } = await this.exchange(request);
    if (!result) return;
    const ratio = size / request.datagram.length;
    if (ratio > this.statistics.largestResponseRatio) this.statistics.largestResponseRatio = ratio;
    if (size > this.statistics.largestResponse) this.statistics.largestResponse = size;
    if (result.ok && result.downlink.acknowledgedReadingId !== null) {
      const stored = result.downlink.acknowledgedReadingId;
      this.statistics.acknowledged++;
      this.flash.pending = this.flash.pending.filter((reading) => reading.id > stored);
      this.captured.push(request.datagram);
      if (this.captured.length > CAPTURED_KEPT) this.captured.shift();
      return;
    }
    // 5.03 while the journal is busy, 4.01 for a request the gateway saw before a restart: try again with a fresh one.
    const reason = result.ok ? 'no-acknowledgement' : result.reason + (result.code !== undefined ? ' ' + (result.code >> 5) + '.' + String(result.code & 31).padStart(2, '0') : '');
    this.statistics.refusals[reason] = (this.statistics.refusals[reason] ?? 0) + 1;
    await sleep(50);
  }

  /** Sends `request` and its retransmissions (the same bytes) until a response arrives or the terminal stops. */
  private exchange(request: UplinkRequest): Promise<{ result: UplinkResponseResult | null; size: number }> {
    const socket = this.socket!;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let sent = 0;
      const transmit = (): void => {
        if (!this.running) {
          this.waiting = null;
          resolve({ result: null, size: 0 });
          return;
        }
        sent++;
        this.statistics.transmissions++;
        if (sent > 1) this.statistics.retransmissions++;
        socket.send(request.datagram, this.options.gatewayPort, '127.0.0.1');
        timer = setTimeout(transmit, this.options.retransmitMilliseconds * Math.min(8, 2 ** Math.min(sent - 1, 3)));
      };
      this.waiting = {
        request,
        resolve: (result, size) => {
          if (timer) clearTimeout(timer);
          resolve({ result, size });
        },
      };
      transmit();
    });
  }

  /** Stops the loop (an exchange in flight is abandoned) and closes the socket: power off. */
  async stop(): Promise<void> {
    this.stopProducing();
    this.running = false;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = null;
      waiting.resolve({ ok: false, reason: 'unrelated', detail: 'stopped' }, 0);
    }
    await this.loop;
    this.socket?.close();
    this.socket = null;
  }
}
