/**
 * A Modbus RTU slave on the virtual RS485 bus, written independently of the firmware's master: its own
 * bitwise CRC, its own frame handling on Node Buffers, no imports from firmware/. A test that passes
 * against it therefore checks the master against a second reading of the spec, not against itself.
 *
 * Frame assembly follows the spec on the slave side: bytes gather until the line has been silent for
 * t3.5, then the frame is judged (CRC, address) and answered after `answerDelay`. Fault injection covers
 * what field meters do: stay silent, answer with a bad CRC, answer with another unit id, answer with an
 * exception, cut the answer short, answer late, or answer with garbage.
 */
import type { VirtualClock } from '../clock';
import { characterTimeMs, type Rs485Bus, type Rs485Drop } from '../wire';

export type SlaveFault =
  | { kind: 'none' }
  | { kind: 'no-answer' }
  | { kind: 'bad-crc' }
  | { kind: 'wrong-unit'; answerAs: number }
  | { kind: 'exception'; exceptionCode: number }
  | { kind: 'short-frame'; keepBytes: number }
  | { kind: 'slow'; delay: number };

export interface SlaveStatistics {
  framesSeen: number;
  framesForMe: number;
  badRequests: number;
  answers: number;
  exceptions: number;
  broadcasts: number;
}

/** CRC-16/MODBUS bit by bit, straight from the Modbus over Serial Line spec (section 6.2.2). */
export function modbusCrcBitwise(bytes: Uint8Array | Buffer, length = bytes.length): number {
  let crc = 0xffff;
  for (let index = 0; index < length; index++) {
    crc ^= bytes[index]!;
    for (let bit = 0; bit < 8; bit++) {
      const carry = crc & 1;
      crc >>= 1;
      if (carry) crc ^= 0xa001;
    }
  }
  return crc;
}

function withCrc(body: Buffer): Buffer {
  const frame = Buffer.alloc(body.length + 2);
  body.copy(frame);
  frame.writeUInt16LE(modbusCrcBitwise(body), body.length);
  return frame;
}

export class ModbusSlaveModel {
  readonly drop: Rs485Drop;
  readonly coils = new Map<number, boolean>();
  readonly discreteInputs = new Map<number, boolean>();
  readonly holdingRegisters = new Map<number, number>();
  readonly inputRegisters = new Map<number, number>();
  fault: SlaveFault = { kind: 'none' };
  /** Turnaround: time from the end of the request frame (after t3.5) to the first byte of the answer. */
  answerDelay = 5;
  /** Highest address + 1 of each table; reads beyond answer exception 2. */
  tableSize = 0x10000;
  /** Largest read of registers this slave accepts (exception 3 above it). */
  maximumReadRegisters = 125;
  /** Requests seen by this slave, newest last (for tests). */
  readonly requests: Buffer[] = [];
  readonly statistics: SlaveStatistics = { framesSeen: 0, framesForMe: 0, badRequests: 0, answers: 0, exceptions: 0, broadcasts: 0 };
  private pending: number[] = [];
  private silenceTimer: number | null = null;

  constructor(
    private readonly clock: VirtualClock,
    private readonly bus: Rs485Bus,
    public unitId: number,
    name = `modbus-slave-${unitId}`,
  ) {
    this.drop = bus.attach(name);
    this.drop.onData((chunk) => this.onChunk(chunk));
  }

  private silence(): number {
    return this.bus.settings.baudRate > 19200 ? 1.75 : 3.5 * characterTimeMs(this.bus.settings);
  }

  private onChunk(chunk: Uint8Array): void {
    for (const byte of chunk) this.pending.push(byte);
    if (this.silenceTimer !== null) this.clock.cancel(this.silenceTimer);
    this.silenceTimer = this.clock.schedule(this.silence(), () => {
      this.silenceTimer = null;
      const frame = Buffer.from(this.pending);
      this.pending = [];
      this.onFrame(frame);
    });
  }

  private onFrame(frame: Buffer): void {
    this.statistics.framesSeen++;
    if (frame.length < 4) return;
    if (modbusCrcBitwise(frame, frame.length - 2) !== frame.readUInt16LE(frame.length - 2)) return;
    const address = frame[0]!;
    if (address !== 0 && address !== this.unitId) return;
    this.statistics.framesForMe++;
    this.requests.push(frame);
    const body = this.handle(frame.subarray(0, frame.length - 2));
    if (address === 0) {
      this.statistics.broadcasts++;
      return;
    }
    if (!body) return;
    this.answer(body);
  }

  private answer(body: Buffer): void {
    const fault = this.fault;
    if (fault.kind === 'no-answer') return;
    let frame: Buffer;
    let delay = this.answerDelay;
    switch (fault.kind) {
      case 'exception':
        frame = withCrc(Buffer.from([body[0]!, body[1]! | 0x80, fault.exceptionCode]));
        break;
      case 'wrong-unit':
        body[0] = fault.answerAs;
        frame = withCrc(body);
        break;
      case 'bad-crc':
        frame = withCrc(body);
        frame[frame.length - 1] = frame[frame.length - 1]! ^ 0x5a;
        break;
      case 'short-frame':
        frame = withCrc(body).subarray(0, Math.max(1, fault.keepBytes));
        break;
      case 'slow':
        frame = withCrc(body);
        delay = fault.delay;
        break;
      default:
        frame = withCrc(body);
    }
    if (frame[1]! & 0x80) this.statistics.exceptions++;
    this.statistics.answers++;
    this.clock.schedule(delay, () => this.drop.write(frame));
  }

  private exception(unit: number, functionCode: number, code: number): Buffer {
    return Buffer.from([unit, functionCode | 0x80, code]);
  }

  /** Answer body (without CRC) for a request body, or null for no answer. */
  private handle(request: Buffer): Buffer | null {
    const unit = request[0]!;
    const functionCode = request[1]!;
    if (request.length < 6) {
      this.statistics.badRequests++;
      return this.exception(unit, functionCode, 3);
    }
    const start = request.readUInt16BE(2);
    const field = request.readUInt16BE(4);
    switch (functionCode) {
      case 1:
      case 2: {
        if (field < 1 || field > 2000) return this.exception(unit, functionCode, 3);
        if (start + field > this.tableSize) return this.exception(unit, functionCode, 2);
        const table = functionCode === 1 ? this.coils : this.discreteInputs;
        const data = Buffer.alloc(Math.ceil(field / 8));
        for (let bit = 0; bit < field; bit++) if (table.get(start + bit)) data[bit >> 3]! |= 1 << bit % 8;
        return Buffer.concat([Buffer.from([unit, functionCode, data.length]), data]);
      }
      case 3:
      case 4: {
        if (field < 1 || field > this.maximumReadRegisters) return this.exception(unit, functionCode, 3);
        if (start + field > this.tableSize) return this.exception(unit, functionCode, 2);
        const table = functionCode === 3 ? this.holdingRegisters : this.inputRegisters;
        const data = Buffer.alloc(field * 2);
        for (let index = 0; index < field; index++) data.writeUInt16BE(table.get(start + index) ?? 0, index * 2);
        return Buffer.concat([Buffer.from([unit, functionCode, data.length]), data]);
      }
      case 5:
        if (field !== 0 && field !== 0xff00) return this.exception(unit, functionCode, 3);
        this.coils.set(start, field === 0xff00);
        return Buffer.from(request);
      case 6:
        this.holdingRegisters.set(start, field);
        return Buffer.from(request);
      case 15:
      case 16: {
        const byteCount = request[6];
        const expected = functionCode === 15 ? Math.ceil(field / 8) : field * 2;
        if (byteCount !== expected || request.length !== 7 + expected || field < 1) return this.exception(unit, functionCode, 3);
        for (let index = 0; index < field; index++) {
          if (functionCode === 15) this.coils.set(start + index, ((request[7 + (index >> 3)]! >> index % 8) & 1) === 1);
          else this.holdingRegisters.set(start + index, request.readUInt16BE(7 + index * 2));
        }
        return Buffer.from(request.subarray(0, 6));
      }
      default:
        return this.exception(unit, functionCode, 1);
    }
  }
}
