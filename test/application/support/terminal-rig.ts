/**
 * A whole terminal in the simulator for the application tests: the firmware bundle as `udt build` makes it
 * (firmware/main.ts, built for the board with the test's configuration) on a virtual board, with the board's
 * modem model (real UDP on loopback), an SDM630 on RS485, an SHT3x on I2C, a pulse source, mains and a battery;
 * and the real gateway (gateway/gateway.ts: UDP -> OSCORE -> SQLite journal -> MQTT) with an external Aedes
 * broker, so the gateway can be stopped for an outage while an MQTT observer keeps counting what it publishes.
 *
 * The gateway's clock is the virtual one (network epoch + virtual time), so reading times, command expiry and
 * the time in its responses agree with the terminal's world.
 */
import { strict as assert } from 'node:assert';
import { bundle } from '../../../firmware/build/bundle';
import type { FieldPartName } from '../../../firmware/build/catalog';
import { encodeKeysFile } from '../../../firmware/application/keys-file';
import { encodeConfigRecord } from '../../../firmware/application/config-store';
import { compactProfile, profileFileName, type Profile } from '../../../firmware/modbus/profile';
import { loadBoard } from '../../../hal/board-loader';
import { VirtualBoard, type VirtualBoardOptions } from '../../../simulator/board';
import { AcSupply } from '../../../simulator/models/ac-supply';
import { Battery, type BatteryOptions } from '../../../simulator/models/battery';
import { attachModem } from '../../../simulator/models/modem-attach';
import type { ModemModelCore } from '../../../simulator/models/modem-core';
import { loadProfileJson, ModbusMeterModel } from '../../../simulator/models/modbus-meter';
import { PulseSource } from '../../../simulator/models/pulse-source';
import { Sht3x as Sht3xModel } from '../../../simulator/models/sht3x';
import type { RadioOptions } from '../../../simulator/radio/radio-model';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../gateway/mqtt/broker';
import type { Gateway } from '../../../gateway/gateway';
import type { DeviceSecrets } from '../../../gateway/store/registry';
import { Observer, startGateway, temporaryDirectory, testImei } from '../../gateway/support/harness';

export const networkEpochMs = Date.parse('2026-08-01T12:00:00Z');
/** The address in the terminal's configuration; the modem model routes it to the gateway's real port. */
export const configuredGateway = { host: '127.0.0.1', port: 5683 };

export const standardConfig = {
  version: 1,
  modbus: {
    bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 2 },
    devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 1, interval: 900000, points: ['voltage_l1', 'current_l1', 'power_l1', 'import_energy'] }],
  },
  sensors: [{ name: 'climate', part: 'SHT3x', address: 0x45, interval: 900000 }],
  pulseInputs: [{ name: 'water', input: 'pulse1', unitPerPulse: 10, unit: 'l' }],
  terminal: { gateway: configuredGateway },
};

const bundles = new Map<string, Promise<string>>();

/** The firmware bundle for a board and built-in configuration (built once per test run). */
export function firmwareFor(boardId: string, config: unknown, parts: readonly FieldPartName[] = []): Promise<string> {
  const key = boardId + JSON.stringify(config) + parts.join(',');
  let built = bundles.get(key);
  if (!built) {
    // Over every board's code budget today (printed by bench:firmware); the tests run it regardless.
    built = bundle({ board: loadBoard(boardId), config, parts, budgetBytes: 1 << 20 }).then((result) => result.code);
    bundles.set(key, built);
  }
  return built;
}

export interface RigOptions {
  boardId?: string;
  config?: unknown;
  /** Field parts built in beyond what `config` uses (udt build --parts). */
  parts?: readonly FieldPartName[];
  /** A configuration written into Storage (slot cfg0) with this revision, instead of relying on the built-in one. */
  storedConfig?: { revision: number; config: unknown };
  radio?: RadioOptions;
  battery?: BatteryOptions;
  /** Mains present at start (default true). */
  mains?: boolean;
  /** Real ms the UDP bridge waits for a reply (default 250). */
  replyWaitMs?: number;
  imeiIndex?: number;
  board?: VirtualBoardOptions;
}

export interface Publication {
  topic: string;
  readingId: number | null;
  payload: Record<string, unknown>;
}

export class TerminalRig {
  board!: VirtualBoard;
  modem!: ModemModelCore;
  meter!: ModbusMeterModel;
  climate!: Sht3xModel;
  pulses!: PulseSource;
  ac!: AcSupply;
  battery!: Battery;
  gateway: Gateway | null = null;
  broker!: EmbeddedBroker;
  observer!: Observer;
  secrets!: DeviceSecrets;
  readonly imei: string;
  private readonly directory = temporaryDirectory('udt-terminal-');

  private constructor(readonly options: RigOptions) {
    this.imei = testImei(options.imeiIndex ?? 70);
  }

  static async start(options: RigOptions = {}): Promise<TerminalRig> {
    const rig = new TerminalRig(options);
    await rig.setUp();
    return rig;
  }

  private async setUp(): Promise<void> {
    const options = this.options;
    const boardId = options.boardId ?? 'nucleo-l476-bc95';
    const code = await firmwareFor(boardId, options.config ?? standardConfig, options.parts);
    this.broker = await startEmbeddedBroker('127.0.0.1', 0);
    this.observer = await Observer.connect(this.broker.url, `udt/${this.imei}/#`);
    await this.startGateway();
    this.secrets = this.gateway!.registry.provision({ imei: this.imei, channels: [] }).secrets;

    const board = new VirtualBoard(loadBoard(boardId), options.board);
    this.board = board;
    this.ac = new AcSupply(board, options.mains ?? true);
    this.battery = new Battery(board, { capacityMilliampHours: 2600, ...options.battery });
    this.modem = attachModem(board, {
      radio: { networkEpochMs, ...options.radio },
      udp: { route: { host: '127.0.0.1', port: this.gateway!.addresses.coap.port }, replyWaitMs: options.replyWaitMs ?? 250 },
      identity: { imei: this.imei },
    });
    this.meter = new ModbusMeterModel(board.clock, board.rs485Bus!, 1, loadProfileJson('eastron-sdm630'));
    this.meter.set('voltage_l1', 230.5);
    this.meter.set('current_l1', 4.75);
    this.meter.set('power_l1', 1094.875);
    this.meter.set('import_energy', 12345.5);
    this.climate = new Sht3xModel(board.clock, { address: 0x45, temperature: 21.5, humidity: 40 });
    board.i2cBus()!.attach(this.climate as never);
    const pulsePin = board.definition.digitalInputs.find((input) => input.name === 'pulse1')!.pin;
    this.pulses = new PulseSource(board.clock, board.gpio, { pin: pulsePin, pulseWidthMs: 100 });

    const profile = JSON.stringify(compactProfile(loadProfileJson('eastron-sdm630') as Profile));
    board.storage.write(profileFileName('eastron-sdm630'), Uint8Array.from(Buffer.from(profile, 'latin1')), 0, 0, 0);
    board.storage.write('udt.keys', encodeKeysFile(this.keys()), 0, 0, 0);
    if (options.storedConfig) board.storage.write('cfg0', encodeConfigRecord(options.storedConfig.revision, options.storedConfig.config), 0, 0, 0);
    board.flashFirmware(code);
    board.powerOn();
  }

  keys() {
    const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
    const oscore = this.secrets.oscore;
    return { senderId: hex(oscore.senderId), recipientId: hex(oscore.recipientId), idContext: null, senderKey: hex(oscore.senderKey), recipientKey: hex(oscore.recipientKey), commonIv: hex(oscore.commonIv) };
  }

  /** Gateway clock = the terminal's network time. */
  now(): number {
    return networkEpochMs + (this.board ? this.board.clock.now() : 0);
  }

  async startGateway(): Promise<void> {
    const gateway = await startGateway(this.directory.path, { mqttUrl: this.broker.url, httpPort: -1, sqliteSynchronous: 'NORMAL' }, { now: () => this.now() });
    this.gateway = gateway;
    // Commands published before the gateway subscribed would be dropped by the broker.
    const deadline = Date.now() + 10000;
    while (!(gateway.health().mqtt as { connected: boolean }).connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (this.modem) this.modem.udp.route = { host: '127.0.0.1', port: this.gateway.addresses.coap.port };
  }

  /** Stop the gateway process (an outage): datagrams to it go unanswered until startGateway. */
  async stopGateway(): Promise<void> {
    const gateway = this.gateway;
    this.gateway = null;
    if (gateway) await gateway.stop();
  }

  /** Advance virtual time by `milliseconds`, waiting for real I/O (the gateway) on the way. */
  async run(milliseconds: number): Promise<void> {
    const clock = this.board.clock;
    const end = clock.now() + milliseconds;
    while (clock.now() < end) {
      await clock.runWithRealIo(Math.min(end, clock.now() + 600000));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Run until `condition` holds or `limit` virtual ms pass; returns whether it held. */
  async runUntil(condition: () => boolean, limit: number, step = 1000): Promise<boolean> {
    const end = this.board.clock.now() + limit;
    while (!condition()) {
      if (this.board.clock.now() >= end) return false;
      await this.run(step);
    }
    return true;
  }

  /** Evaluate in the firmware (the global `udt` is the running Terminal). */
  evaluate<T>(code: string): T {
    return this.board.evaluate(code) as T;
  }

  output(): string {
    return this.board.consoleOutput();
  }

  /** Everything the gateway published for this terminal (readings and events carry readingId). */
  publications(): Publication[] {
    return this.observer.messages
      .filter((message) => !message.topic.endsWith('/state') && !message.topic.includes('/cmd/'))
      .map((message) => {
        const payload = message.json();
        return { topic: message.topic, readingId: typeof payload.readingId === 'number' ? payload.readingId : null, payload };
      });
  }

  readings(): Publication[] {
    return this.publications().filter((publication) => publication.topic.endsWith('/up'));
  }

  events(type?: string): Publication[] {
    return this.publications().filter((publication) => publication.topic.includes('/event/') && (type === undefined || publication.topic.endsWith('/event/' + type)));
  }

  /** Wait (real time) until the gateway has published everything it stored and the observer has it. */
  async drainPublications(): Promise<void> {
    if (!this.gateway) return;
    await this.gateway.whenPublished();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** Publish a command on MQTT and wait (real time) until the gateway has queued it. */
  async command(name: string, body: unknown): Promise<void> {
    const queuedBefore = this.commandAcks(name).filter((ack) => ack.status === 'queued').length;
    await this.observer.client.publishAsync(`udt/${this.imei}/cmd/${name}`, JSON.stringify(body), { qos: 1 });
    await this.observer.waitFor(() => this.commandAcks(name).filter((ack) => ack.status === 'queued').length > queuedBefore, `${name} queued`);
  }

  /** Run virtual time in `step`s, letting real time pass between them (MQTT traffic), until `condition` or `limit`. */
  async runUntilReal(condition: () => boolean, limit: number, step = 10000): Promise<boolean> {
    const end = this.board.clock.now() + limit;
    for (;;) {
      if (condition()) return true;
      if (this.board.clock.now() >= end) break;
      await this.run(step);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await this.drainPublications();
    return condition();
  }

  commandAcks(name: string): Array<Record<string, unknown>> {
    return this.observer.on(`udt/${this.imei}/cmd/${name}/ack`).map((message) => message.json());
  }

  async close(): Promise<void> {
    try {
      this.modem?.close();
      await this.stopGateway();
      await this.observer.close();
      await this.broker.close();
    } finally {
      this.directory.remove();
    }
  }
}

export function assertMatch(text: string, pattern: RegExp, what: string): void {
  assert.match(text, pattern, what + '\n' + text.slice(-3000));
}
