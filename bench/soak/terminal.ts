/**
 * One soak terminal: the built firmware bundle on a virtual board whose crystal drifts (DriftingClock), flashed
 * as `udt flash` flashes a real one (bundle, keys, configuration, profile), with its boards.json modem model on
 * the true clock sending real UDP to the gateway process through a lossy, jittery radio, a RecordingMeter on
 * RS485, mains and a battery. Power cuts take the modem's supply too; power returns after 5..65 s.
 *
 * Faults come from the soak's schedule through `armPowerCut` (the next flash write is torn after a few bytes)
 * and `hangModem` (the modem stops answering until a reset or power cycle); what actually happened is counted.
 */
import type { BoardDefinition } from '../../hal/board';
import { deviceFiles, keysFromSecrets } from '../../bin/tooling/device-files';
import type { DeviceSecrets } from '../../gateway/store/registry';
import { VirtualBoard } from '../../simulator/board';
import type { VirtualClock } from '../../simulator/clock';
import { AcSupply } from '../../simulator/models/ac-supply';
import { Battery } from '../../simulator/models/battery';
import { attachModem } from '../../simulator/models/modem-attach';
import type { ModemModelCore } from '../../simulator/models/modem-core';
import { SeededRandom, type CoverageClass } from '../../simulator/radio/radio-model';
import { DriftingClock } from './drifting-clock';
import { RecordingMeter } from './meter';

export interface SoakTerminalOptions {
  clock: VirtualClock;
  board: BoardDefinition;
  name: string;
  imei: string;
  secrets: DeviceSecrets;
  firmware: string;
  config: Record<string, unknown>;
  gatewayPort: number;
  networkEpochMs: number;
  seed: number;
  driftPartsPerMillion: number;
  coverageClass: CoverageClass;
  /** Each datagram, each way. */
  loss: number;
  powerOnAt: number;
  /** Real ms the UDP bridge waits for a reply before virtual time goes on. */
  replyWaitMs: number;
}

export interface FaultCounts {
  powerCutsArmed: number;
  /** Cuts the injector made in the middle of a flash write. */
  powerCuts: number;
  hangsInjected: number;
  /** Hangs the firmware recovered from (the modem answered again without a power cut in between). */
  hangsRecovered: number;
  /** Hangs cleared by one of the power cuts instead. */
  hangsClearedByPowerCut: number;
  hangRecoveryMs: number[];
}

/** The modem's side of sharing the board's supply (protected in the model: a cut switches it off, power returning boots it). */
interface ModemSupply {
  switchOff(finalLine: string | null): void;
  boot(reason: string): void;
}

const injectorReason = 'flash write interrupted by the power-cut injector';

export class SoakTerminal {
  readonly board: VirtualBoard;
  readonly boardClock: DriftingClock;
  readonly modem: ModemModelCore;
  readonly meter: RecordingMeter;
  readonly imei: string;
  readonly name: string;
  readonly faults: FaultCounts = { powerCutsArmed: 0, powerCuts: 0, hangsInjected: 0, hangsRecovered: 0, hangsClearedByPowerCut: 0, hangRecoveryMs: [] };
  /** True ms of every power loss (injected cuts), for the oracle's "poll never committed" rule. */
  readonly powerLosses: number[] = [];
  private readonly random: SeededRandom;
  private readonly trueClock: VirtualClock;
  /** Power stays on by itself from here on (end of the fault period). */
  private faultsOver = false;

  constructor(readonly options: SoakTerminalOptions) {
    const { clock, board: definition } = options;
    this.trueClock = clock;
    this.imei = options.imei;
    this.name = options.name;
    this.random = new SeededRandom(options.seed ^ 0x50a4);
    this.boardClock = new DriftingClock(clock, options.driftPartsPerMillion);
    const board = new VirtualBoard(definition, { clock: this.boardClock, name: options.name });
    this.board = board;
    new AcSupply(board, true);
    new Battery(board, { capacityMilliampHours: 2600 });
    this.modem = this.attachModem();
    this.meter = new RecordingMeter(this.boardClock, clock, board.rs485Bus!, options.seed ^ 0x3e7e);
    board.flashFirmware(options.firmware);
    for (const file of deviceFiles({ config: options.config, revision: 1, keys: keysFromSecrets(options.secrets) })) board.storage.write(file.name, file.bytes, 0, 0, 0);
    board.on('power', (change: { on: boolean; reason?: string }) => {
      if (change.on) return;
      if (change.reason === injectorReason) this.faults.powerCuts++;
      this.powerLosses.push(clock.now());
      (this.modem as unknown as ModemSupply).switchOff(null);
      clock.schedule(5000 + Math.round(this.random.next() * 60000), () => this.restorePower());
    });
    clock.scheduleAt(options.powerOnAt, () => board.powerOn());
  }

  /**
   * attachModem (simulator/models/modem-attach.ts) on the true clock, so the modem's network time (+CCLK) is right
   * while the MCU's crystal drifts, and with jitter on the radio's delays.
   */
  private attachModem(): ModemModelCore {
    const options = this.options;
    const model = attachModem(this.board, {
      clock: this.trueClock,
      radio: { networkEpochMs: options.networkEpochMs, seed: options.seed, coverageClass: options.coverageClass, uplinkLoss: options.loss, downlinkLoss: options.loss },
      udp: { route: { host: '127.0.0.1', port: options.gatewayPort }, replyWaitMs: options.replyWaitMs },
      identity: { imei: options.imei },
    });
    // Jitter: the network's one-way delay varies from half to three halves of the coverage class's, and one
    // datagram in ten is held back 1-6 s (past CoAP's first retransmission), so datagrams overtake each other.
    const radio = model.radio;
    const nominal = radio.figures().roundTripMs / 2;
    radio.oneWayLatency = () => {
      const spread = nominal * radio.random.between(0.5, 1.5);
      return Math.round(radio.random.chance(0.1) ? spread + radio.random.between(1000, 6000) : spread);
    };
    return model;
  }

  private restorePower(): void {
    if (this.board.powerState === 'on') return;
    // A modem without a power key starts when its supply returns; one with a key waits for the MCU's press.
    if (!this.board.definition.modem.powerKey) (this.modem as unknown as ModemSupply).boot('power-on');
    this.board.powerOn();
  }

  /** The next flash write loses power after 1..40 bytes. Returns false when one is still armed or the board is off. */
  armPowerCut(): boolean {
    if (this.faultsOver || this.board.powerState !== 'on' || this.board.flash.powerCutArmed()) return false;
    this.board.flash.cutPowerAfterBytes(1 + Math.floor(this.random.next() * 40));
    this.faults.powerCutsArmed++;
    return true;
  }

  /** Hang the modem if it is on (not in PSM, not off). Returns whether it hung. */
  hangModem(): boolean {
    if (this.faultsOver || this.modem.power !== 'on') return false;
    const before = this.modem.statistics.hangs;
    this.modem.hang();
    if (this.modem.statistics.hangs === before) return false;
    this.faults.hangsInjected++;
    const hungAt = this.trueClock.now();
    const cutsBefore = this.powerLosses.length;
    const check = (): void => {
      if (this.modem.power === 'hung') {
        this.trueClock.schedule(1000, check);
        return;
      }
      if (this.powerLosses.length > cutsBefore) this.faults.hangsClearedByPowerCut++;
      else {
        this.faults.hangsRecovered++;
        this.faults.hangRecoveryMs.push(this.trueClock.now() - hungAt);
      }
    };
    this.trueClock.schedule(1000, check);
    return true;
  }

  /** End of the fault period: a cut still armed is disarmed. */
  endFaults(): void {
    this.faultsOver = true;
    this.board.flash.cancelPowerCut();
  }

  /** The firmware's journal figures (what the fleet reads too), or null while the interpreter is not running. */
  journal(): { nextId: number; depth: number } | null {
    if (!this.board.currentSession?.alive) return null;
    try {
      return JSON.parse(this.board.evaluate('JSON.stringify(udt.journal.statistics())') as string) as { nextId: number; depth: number };
    } catch {
      return null;
    }
  }

  /** The terminal's clock minus true network time, ms (what the drift and the firmware's corrections left). */
  clockErrorMs(): number {
    return this.board.rtcMilliseconds() - (this.options.networkEpochMs + this.trueClock.now());
  }

  close(): void {
    this.modem.udp.close();
  }
}
