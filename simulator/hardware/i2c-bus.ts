/**
 * An I2C bus with devices looked up by 7-bit address. A transfer to an address nobody answers fails the way the
 * MCU's Espruino build reports a NACK (the message comes from the MCU model).
 */

export interface I2cDevice {
  readonly address: number;
  /**
   * A write transfer; `stop` false means a repeated start follows (a register pointer before a read).
   * Return false to NACK (e.g. a command the part does not know).
   */
  write(data: Uint8Array, stop: boolean): boolean | void;
  /** A read transfer; return null to NACK the address (e.g. an SHT3x whose measurement is not ready). */
  read(length: number): Uint8Array | null;
}

export class I2cNack extends Error {
  constructor(
    readonly address: number,
    message: string,
  ) {
    super(message);
    this.name = 'I2cNack';
  }
}

export interface I2cTransfer {
  address: number;
  direction: 'write' | 'read';
  data: Uint8Array;
  acknowledged: boolean;
}

export class I2cBus {
  private readonly devices = new Map<number, I2cDevice>();
  /** Every transfer, newest last (bounded), for tests and `udt diag`-style scans. */
  readonly transfers: I2cTransfer[] = [];
  /** Set to make the bus fail every transfer (a shorted SDA line). */
  stuck = false;

  constructor(
    readonly name: string,
    private readonly nackMessage: string,
  ) {}

  attach(device: I2cDevice): void {
    if (!Number.isInteger(device.address) || device.address < 0 || device.address > 0x7f) {
      throw new Error(`I2C address must be 7-bit, got ${device.address}`);
    }
    if (this.devices.has(device.address)) throw new Error(`${this.name}: address 0x${device.address.toString(16)} is already taken`);
    this.devices.set(device.address, device);
  }

  detach(address: number): void {
    this.devices.delete(address);
  }

  device(address: number): I2cDevice | undefined {
    return this.devices.get(address);
  }

  addresses(): number[] {
    return [...this.devices.keys()].sort((a, b) => a - b);
  }

  write(address: number, data: Uint8Array, stop: boolean): void {
    const device = this.answer(address, 'write', data);
    if (device.write(data, stop) === false) this.nack(address);
  }

  read(address: number, length: number): Uint8Array {
    const device = this.answer(address, 'read', new Uint8Array(0));
    const data = device.read(length);
    if (data === null) this.nack(address);
    const result = new Uint8Array(length).fill(0xff);
    result.set(data!.subarray(0, length));
    this.transfers[this.transfers.length - 1]!.data = result;
    return result;
  }

  private nack(address: number): never {
    this.transfers[this.transfers.length - 1]!.acknowledged = false;
    throw new I2cNack(address, this.nackMessage);
  }

  private answer(address: number, direction: 'write' | 'read', data: Uint8Array): I2cDevice {
    const device = this.stuck ? undefined : this.devices.get(address);
    this.transfers.push({ address, direction, data: data.slice(), acknowledged: !!device });
    if (this.transfers.length > 1000) this.transfers.splice(0, this.transfers.length - 1000);
    if (!device) throw new I2cNack(address, this.nackMessage);
    return device;
  }
}
