/**
 * A UART peripheral of the virtual MCU and the wire to whatever is attached. `device` is the far end of the
 * wire (a SerialEndpoint): modem and meter models, the HIL bridge or a test attach there. The peripheral
 * outlives boots; the Espruino Serial object of each boot attaches to it.
 */
import type { VirtualClock } from '../clock';
import { UartLink, type LineSettings, type SerialEndpoint } from '../wire';

export interface UartReceiver {
  (bytes: Uint8Array): void;
}

/** A UART whose pins go to something other than a point-to-point link (the RS485 transceiver's bus drop). */
export interface UartWiring {
  endpoint: SerialEndpoint;
  /** The line whose settings setup() changes (the bus). */
  settings: { settings: LineSettings };
}

export class VirtualUart {
  /** The point-to-point wire (null when the UART drives an RS485 bus). */
  readonly link: UartLink | null;
  private readonly mcuSide: SerialEndpoint;
  private readonly line: { settings: LineSettings };
  private receiver: UartReceiver | null = null;
  private configured = false;
  /** Bytes that arrived while the port was not set up or the MCU could not receive (STM32 stop mode). */
  lostBytes = 0;
  /** Decides whether the MCU can take bytes right now (false while an STM32 is in stop mode). */
  canReceive: () => boolean = () => true;
  /** Told about every chunk going out (the board keeps the MCU awake while bytes shift out). */
  onTransmit: ((bytes: Uint8Array, milliseconds: number) => void) | null = null;

  constructor(
    private readonly clock: VirtualClock,
    readonly port: string,
    boardName: string,
    wiring?: UartWiring,
  ) {
    if (wiring) {
      this.link = null;
      this.mcuSide = wiring.endpoint;
      this.line = wiring.settings;
    } else {
      this.link = new UartLink(clock, { baudRate: 9600 }, [`${boardName}:${port}`, `${port}-device`]);
      this.mcuSide = this.link.a;
      this.line = this.link;
    }
    this.mcuSide.onData((bytes) => this.arrive(bytes));
  }

  /** The far end of the wire, for device models and bridges (null for an RS485 port: use the bus). */
  get device(): SerialEndpoint | null {
    return this.link ? this.link.b : null;
  }

  get settings(): LineSettings {
    return this.line.settings;
  }

  isSetUp(): boolean {
    return this.configured;
  }

  setup(settings: LineSettings): void {
    this.line.settings = { ...settings };
    this.configured = true;
  }

  unsetup(): void {
    this.configured = false;
  }

  /** The MCU's receive path for the current boot (null while nobody listens). */
  attachReceiver(receiver: UartReceiver | null): void {
    this.receiver = receiver;
  }

  transmit(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const before = Math.max(this.clock.now(), this.mcuSide.idleAt());
    this.mcuSide.write(bytes);
    this.onTransmit?.(bytes, this.mcuSide.idleAt() - before);
  }

  /** Virtual time at which everything written so far is out. */
  transmitIdleAt(): number {
    return this.mcuSide.idleAt();
  }

  private arrive(bytes: Uint8Array): void {
    if (!this.configured || !this.receiver || !this.canReceive()) {
      this.lostBytes += bytes.length;
      return;
    }
    this.receiver(bytes);
  }
}
