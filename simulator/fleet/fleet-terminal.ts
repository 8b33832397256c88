/**
 * One terminal of a fleet: a virtual board on the fleet's shared clock, flashed as `udt flash` flashes a real one
 * (the same firmware bundle, keys file, configuration record and profiles in Storage), with its modem model
 * sending real UDP to the gateway, the group's meters, sensors and pulse sources, mains and a battery, and the
 * group's faults scheduled on the clock.
 */
import type { BoardDefinition } from '../../hal/board';
import { deviceFiles, keysFromSecrets } from '../../bin/tooling/device-files';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { VirtualBoard } from '../board';
import type { VirtualClock } from '../clock';
import { AcSupply } from '../models/ac-supply';
import { Battery } from '../models/battery';
import { Bme280 } from '../models/bme280';
import { attachModem } from '../models/modem-attach';
import type { ModemModelCore } from '../models/modem-core';
import { loadProfileJson, ModbusMeterModel } from '../models/modbus-meter';
import { PulseSource } from '../models/pulse-source';
import { Sht3x } from '../models/sht3x';
import type { FaultSpec, GroupSpec } from './scenario';

export interface FleetTerminalOptions {
  clock: VirtualClock;
  board: BoardDefinition;
  group: GroupSpec;
  /** Index within its group (faults with a share hit the first terminals of the group). */
  indexInGroup: number;
  name: string;
  imei: string;
  secrets: DeviceSecrets;
  firmware: string;
  gatewayPort: number;
  networkEpochMs: number;
  seed: number;
  powerOnAt: number;
  configRevision?: number;
}

export interface TerminalCounters {
  /** Journal entries the terminal made (reading ids 1..produced). */
  produced: number;
  /** Entries still waiting for the gateway's acknowledgement. */
  waiting: number;
  boots: number;
}

const hour = 3_600_000;
const minute = 60_000;

export class FleetTerminal {
  readonly board: VirtualBoard;
  readonly modem: ModemModelCore;
  readonly battery: Battery;
  readonly ac: AcSupply;
  readonly imei: string;
  readonly name: string;
  readonly groupName: string;
  readonly faultsApplied: string[] = [];

  constructor(readonly options: FleetTerminalOptions) {
    const { clock, board: definition, group } = options;
    this.imei = options.imei;
    this.name = options.name;
    this.groupName = group.name ?? definition.id;
    const board = new VirtualBoard(definition, { clock, name: options.name });
    this.board = board;
    this.ac = new AcSupply(board, group.power?.mains ?? true);
    this.battery = new Battery(board, { capacityMilliampHours: group.power?.batteryMilliampHours ?? 2600, chemistry: group.power?.chemistry });
    const radio = group.radio ?? {};
    this.modem = attachModem(board, {
      radio: {
        networkEpochMs: options.networkEpochMs,
        seed: options.seed,
        coverageClass: radio.coverageClass,
        uplinkLoss: radio.uplinkLoss,
        downlinkLoss: radio.downlinkLoss,
        duplicate: radio.duplicate,
        attachMs: radio.attachSeconds ? { minimum: radio.attachSeconds.minimum * 1000, maximum: radio.attachSeconds.maximum * 1000 } : undefined,
      },
      udp: { route: { host: '127.0.0.1', port: options.gatewayPort }, replyWaitMs: 1000 },
      identity: { imei: options.imei },
    });
    for (const meter of group.meters ?? []) {
      const model = new ModbusMeterModel(clock, board.rs485Bus!, meter.unitId, loadProfileJson(meter.profile));
      for (const [point, value] of Object.entries(meter.values ?? {})) model.set(point, value);
    }
    for (const sensor of group.sensors ?? []) {
      const device =
        sensor.part === 'SHT3x'
          ? new Sht3x(clock, { address: sensor.address as 0x44 | 0x45, temperature: sensor.temperature, humidity: sensor.humidity, energy: board.energy })
          : new Bme280(clock, { address: sensor.address as 0x76 | 0x77, temperature: sensor.temperature, humidity: sensor.humidity, pressure: sensor.pressure, energy: board.energy });
      board.i2cBus()!.attach(device as never);
    }
    for (const pulses of group.pulses ?? []) {
      const pin = definition.digitalInputs.find((input) => input.name === pulses.input)!.pin;
      const source = new PulseSource(clock, board.gpio, { pin, pulseWidthMs: 50 });
      if (pulses.perHour > 0) source.start(pulses.perHour / 3600);
    }
    // Flashed as `udt flash` does it: firmware as boot code, then keys, configuration and profiles.
    board.flashFirmware(options.firmware);
    for (const file of deviceFiles({ config: group.config, revision: options.configRevision ?? 1, keys: keysFromSecrets(options.secrets) })) {
      board.storage.write(file.name, file.bytes, 0, 0, 0);
    }
    for (const fault of group.faults ?? []) this.scheduleFault(fault);
    clock.scheduleAt(options.powerOnAt, () => board.powerOn());
  }

  private hits(fault: FaultSpec): boolean {
    const share = fault.share ?? 1;
    return this.options.indexInGroup < Math.max(1, Math.round(share * this.options.group.count));
  }

  private scheduleFault(fault: FaultSpec): void {
    if (!this.hits(fault)) return;
    const clock = this.options.clock;
    const duration = (fault.durationMinutes ?? 10) * minute;
    clock.scheduleAt(fault.atHours * hour, () => {
      this.faultsApplied.push(`${fault.kind}@${fault.atHours}h`);
      switch (fault.kind) {
        case 'modem-hang':
          this.modem.hang();
          break;
        case 'power-cut':
          // Mains and battery both gone (a technician pulls the plug and the battery connector).
          this.board.cutPower('scenario power cut');
          clock.schedule(duration, () => this.board.powerOn());
          break;
        case 'mains-loss':
          this.ac.set(false);
          clock.schedule(duration, () => this.ac.set(true));
          break;
        case 'no-service':
          this.modem.dropRegistration(duration);
          break;
      }
    });
  }

  /** The firmware's journal figures, read from the running interpreter (null while it is not running). */
  counters(): TerminalCounters | null {
    if (!this.board.currentSession?.alive) return null;
    try {
      const statistics = JSON.parse(this.board.evaluate('JSON.stringify(udt.journal.statistics())') as string) as { nextId: number; depth: number };
      return { produced: statistics.nextId - 1, waiting: statistics.depth, boots: this.board.counters.boots };
    } catch {
      return null;
    }
  }

  close(): void {
    this.modem.udp.close();
  }
}
