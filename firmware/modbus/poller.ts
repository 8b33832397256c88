/**
 * Polls the points of configured Modbus devices on their intervals through one ModbusMaster.
 *
 * Each device has its own fixed-rate schedule (no drift: the next poll is due one interval after the
 * previous due time, not after the previous poll ended). A poll reads the device's blocks one after the
 * other; if a block gets no answer at all (timeout, garbage), the rest of that poll is skipped, since the
 * slave is not there. A device never has two polls in flight: a poll still running when the next is due
 * makes that one an overrun. While the master counts a slave offline it is polled only every
 * `offlineInterval` ms, with a single attempt. Together this bounds what a dead slave takes from the bus
 * to one response timeout per `offlineInterval`.
 */
import type { Clock } from '../../hal/interfaces';
import type { ModbusError } from './errors';
import type { ModbusMaster } from './master';
import { decodePoint, type PointDefinition } from './points';
import { planReads, resolvePoints, type Profile, type ReadBlock } from './profile';

export interface PollerDevice {
  name: string;
  unitId: number;
  profile: Profile;
  /** Poll period, ms. */
  interval: number;
  /** Only these points of the profile (default: all). */
  points?: string[];
  /** Period while the slave is offline, ms (default max(interval, 60000)). */
  offlineInterval?: number;
  /** Overrides the master's response timeout and retries for this device. */
  responseTimeout?: number;
  retries?: number;
}

export interface Reading {
  device: string;
  point: string;
  value: number;
  unit?: string;
}

export interface PollResult {
  device: string;
  unitId: number;
  /** Clock time the poll started. */
  time: number;
  readings: Reading[];
  errors: ModbusError[];
}

export interface DeviceStatus {
  device: string;
  unitId: number;
  online: boolean;
  polls: number;
  completePolls: number;
  failedPolls: number;
  overruns: number;
  skippedOffline: number;
  lastPollTime: number;
  lastSuccessTime: number;
  lastError: string | null;
}

interface DeviceState {
  device: PollerDevice;
  blocks: ReadBlock[];
  status: DeviceStatus;
  busy: boolean;
  nextDue: number;
  timer: number | null;
}

export class ModbusPoller {
  private readonly devices: DeviceState[] = [];
  private running = false;

  constructor(
    private readonly master: ModbusMaster,
    private readonly clock: Clock,
    devices: PollerDevice[],
    private readonly onResult: (result: PollResult) => void,
  ) {
    for (let index = 0; index < devices.length; index++) {
      const device = devices[index];
      const points = resolvePoints(device.profile, device.points);
      this.devices.push({
        device,
        blocks: planReads(points, device.profile.maximumRegistersPerRead, device.profile.maximumGap),
        status: {
          device: device.name, unitId: device.unitId, online: true, polls: 0, completePolls: 0, failedPolls: 0,
          overruns: 0, skippedOffline: 0, lastPollTime: -1, lastSuccessTime: -1, lastError: null,
        },
        busy: false,
        nextDue: 0,
        timer: null,
      });
    }
  }

  /** Start polling: every device once now (staggered by a few ms), then on its interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    for (let index = 0; index < this.devices.length; index++) {
      const state = this.devices[index];
      state.nextDue = now + index * 10;
      this.schedule(state);
    }
  }

  stop(): void {
    this.running = false;
    for (let index = 0; index < this.devices.length; index++) {
      const state = this.devices[index];
      if (state.timer !== null) this.clock.clearTimeout(state.timer);
      state.timer = null;
    }
  }

  /** Poll one device now, outside its schedule (a "read now" command). */
  pollNow(deviceName: string, done?: (result: PollResult) => void): boolean {
    for (let index = 0; index < this.devices.length; index++) {
      const state = this.devices[index];
      if (state.device.name === deviceName) {
        if (state.busy) return false;
        this.poll(state, done);
        return true;
      }
    }
    return false;
  }

  status(): DeviceStatus[] {
    const result: DeviceStatus[] = [];
    for (let index = 0; index < this.devices.length; index++) {
      const state = this.devices[index];
      state.status.online = this.master.isOnline(state.device.unitId);
      result.push(state.status);
    }
    return result;
  }

  /** The reads one poll of the named device makes (for diagnostics and tests). */
  plan(deviceName: string): ReadBlock[] {
    for (let index = 0; index < this.devices.length; index++) {
      if (this.devices[index].device.name === deviceName) return this.devices[index].blocks;
    }
    return [];
  }

  private schedule(state: DeviceState): void {
    const delay = state.nextDue - this.clock.now();
    state.timer = this.clock.setTimeout(() => this.onDue(state), delay > 0 ? delay : 0);
  }

  private onDue(state: DeviceState): void {
    state.timer = null;
    if (!this.running) return;
    const device = state.device;
    const now = this.clock.now();
    const online = this.master.isOnline(device.unitId);
    const offlineInterval = device.offlineInterval || Math.max(device.interval, 60000);
    if (state.busy) {
      state.status.overruns++;
    } else if (!online && state.status.lastPollTime >= 0 && now - state.status.lastPollTime < offlineInterval) {
      state.status.skippedOffline++;
    } else {
      this.poll(state);
    }
    state.nextDue += device.interval;
    if (state.nextDue <= now) state.nextDue = now + device.interval;
    this.schedule(state);
  }

  private poll(state: DeviceState, done?: (result: PollResult) => void): void {
    const device = state.device;
    const result: PollResult = { device: device.name, unitId: device.unitId, time: this.clock.now(), readings: [], errors: [] };
    state.busy = true;
    state.status.polls++;
    state.status.lastPollTime = result.time;
    let blockIndex = 0;
    const finish = (): void => {
      state.busy = false;
      if (result.errors.length === 0) {
        state.status.completePolls++;
        state.status.lastSuccessTime = result.time;
      } else {
        state.status.failedPolls++;
        state.status.lastError = result.errors[result.errors.length - 1].toString();
      }
      this.onResult(result);
      if (done) done(result);
    };
    const next = (): void => {
      if (blockIndex >= state.blocks.length) {
        finish();
        return;
      }
      const block = state.blocks[blockIndex++];
      const request = { unitId: device.unitId, functionCode: block.functionCode, address: block.address, quantity: block.quantity };
      const options = { responseTimeout: device.responseTimeout, retries: device.retries };
      this.master.request(request, (error, response) => {
        if (error || !response) {
          if (error) result.errors.push(error);
          // An answer of any kind (an exception) means the slave is there: the other blocks may still work.
          if (!error || error.code !== 'exception') blockIndex = state.blocks.length;
        } else {
          this.collect(device, block, response.registerBytes, response.bits, result.readings);
        }
        next();
      }, options);
    };
    next();
  }

  private collect(device: PollerDevice, block: ReadBlock, registerBytes: Uint8Array | undefined, bits: number[] | undefined, into: Reading[]): void {
    for (let index = 0; index < block.points.length; index++) {
      const point: PointDefinition = block.points[index];
      let value: number;
      if (bits) value = bits[point.address - block.address];
      else if (registerBytes) value = decodePoint(point, registerBytes, block.address);
      else continue;
      const reading: Reading = { device: device.name, point: point.name, value };
      if (point.unit !== undefined) reading.unit = point.unit;
      into.push(reading);
    }
  }
}
