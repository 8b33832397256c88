/**
 * The terminal: boot, wiring and the main loop.
 *
 * Boot: count the boot, load the configuration (the newest valid revision; a bad new one is reported and the
 * last good one runs), open the journal, read the OSCORE keys, bring up the modem library, the power manager,
 * the field interfaces and the schedule, journal a status report (with the reset reason) and send it.
 * Loop: samples -> journal -> uplink when due -> acknowledged entries released -> modem to PSM, MCU to deep
 * sleep. Alarms (inputs, AC loss, battery, thresholds, lost devices) are journaled and sent at once.
 * The watchdog is kicked only by the main loop's tick, and only while the uplink and the sampling rounds make
 * progress, so a stuck callback or a stalled exchange ends in a watchdog reset.
 */
import type { BoardDefinition } from '../../hal/board';
import type { BoardIo } from '../../hal/interfaces';
import { checkConfigEssentials } from '../config/essentials';
import { missingFieldParts, missingSensorDrivers, startFieldInterfaces, type FieldInterfaces, type FieldParts } from '../config/field-interfaces';
import { AcknowledgementLog } from '../journal/acknowledgement-log';
import { Journal } from '../journal/journal';
import { modemIoFromBoard, type Modem, type ModemIo } from '../modem/modem';
import { ModemSupervisor, type SupervisorOptions } from '../modem/recovery';
import type { BlockCipher } from '../protocol/aes';
import { createCcmAead } from '../protocol/aesccm';
import { SenderSequence, type OscoreContext } from '../protocol/oscore-context';
import type { DownlinkMessage } from '../protocol/uplink';
import type { DeviceConfig } from '../config/types';
import { Alarms } from './alarms';
import { plainValue, runCommand, type CommandTarget } from './commands';
import { ConfigStore, type LoadedConfig } from './config-store';
import { EntryKind, EventCode, type NamingContext } from './entries';
import { decodeKeysFile, keysFileName } from './keys-file';
import { PowerManager } from './power-manager';
import { Scheduler } from './scheduler';
import { checkTerminalSettings, resolveSettings, type Policy, type ResolvedSettings, type TerminalConfig } from './settings';
import { buildSources, channelsByName, type Source } from './sources';
import { statusValues } from './status';
import { TimeKeeper } from './time-keeper';
import { UplinkSession } from './uplink-session';

export interface TerminalEnvironment {
  io: BoardIo;
  board: BoardDefinition;
  builtInConfig: unknown;
  firmwareVersion: string;
  modemDriver: unknown;
  sensorDrivers: { [part: string]: unknown };
  /** The field parts in this build (udt:drivers); a configuration needing another one is refused. */
  fieldParts: FieldParts;
  /** AES: Espruino's require("crypto") where the board has it, else AES in JavaScript; null when neither is there. */
  blockCipher: BlockCipher | null;
  log(text: string): void;
}

const watchdogMilliseconds = 20000;
const tickMilliseconds = 5000;
/** An exchange or a sampling round running longer than this is stuck: the watchdog gets no more kicks. */
const exchangeHangMilliseconds = 1800000;
const roundHangMilliseconds = 300000;
const sequenceCheckpointInterval = 64;

/** Journal size from the board's Storage: an eighth of it, 4..96 KB, in eight segments of whole slots. */
export function journalGeometry(storageBytes: number): { segments: number; segmentBytes: number } {
  let total = Math.floor(storageBytes / 8);
  if (total < 4096) total = 4096;
  if (total > 98304) total = 98304;
  return { segments: 8, segmentBytes: Math.floor(total / 8 / 24) * 24 };
}

export class Terminal {
  readonly io: BoardIo;
  readonly journal: Journal;
  readonly time: TimeKeeper;
  readonly configStore: ConfigStore;
  readonly power: PowerManager;
  readonly scheduler: Scheduler;
  readonly bootCount: number;
  readonly bootFirstId: number;
  readonly counters = { sourceFailures: 0, journalErrors: 0, commands: 0, watchdogKicks: 0 };
  modem: Modem | null = null;
  supervisor: ModemSupervisor | null = null;
  session: UplinkSession | null = null;
  field: FieldInterfaces | null = null;
  sources: Source[] = [];
  settings: ResolvedSettings;
  signalDbm = NaN;
  shutDown = false;
  problems: string[] = [];
  private config: LoadedConfig;
  private naming: NamingContext;
  private readonly alarms: Alarms;
  private readonly executedCommands: AcknowledgementLog;
  private readonly rebootCommand: AcknowledgementLog;
  private readonly rebootReported: AcknowledgementLog;
  private supervisorOptions: SupervisorOptions | null = null;
  private signalReadAt = -1;
  private sendAfterRound = false;

  constructor(private readonly environment: TerminalEnvironment) {
    const io = environment.io;
    this.io = io;
    const storage = io.storage;
    const bootLog = new AcknowledgementLog(storage, 'bc');
    this.bootCount = bootLog.value() + 1;
    bootLog.record(this.bootCount);
    this.executedCommands = new AcknowledgementLog(storage, 'cx');
    this.rebootCommand = new AcknowledgementLog(storage, 'rb');
    this.rebootReported = new AcknowledgementLog(storage, 'rr');
    const board = environment.board;
    const parts = environment.fieldParts;
    const drivers = environment.sensorDrivers;
    this.configStore = new ConfigStore(storage, function (config) {
      const essential = checkConfigEssentials(config, board);
      if (essential) return essential.path + ': ' + essential.message;
      const missing = missingFieldParts(config as DeviceConfig, parts) || missingSensorDrivers(config as DeviceConfig, drivers);
      if (missing) return missing;
      return checkTerminalSettings(config as { [key: string]: unknown }, channelsByName(config as TerminalConfig));
    }, environment.builtInConfig);
    this.config = this.configStore.load();
    this.journal = new Journal(storage, journalGeometry(board.storage.bytes));
    this.bootFirstId = this.journal.statistics().nextId;
    this.time = new TimeKeeper(io.clock, 2);
    this.time.onJump = () => this.scheduler.realign();
    this.settings = resolveSettings(this.terminalConfig().terminal);
    this.naming = this.namingFor([]);
    this.alarms = new Alarms((code, values) => this.alarm(code, values));
    this.power = new PowerManager(io, this.settings, {
      event: (code, values) => this.alarm(code, values),
      policyChanged: () => this.applyPolicy(),
      critical: () => this.lastReport(),
    });
    this.scheduler = new Scheduler(io.clock, this.time, {
      sampled: (source, values) => {
        this.record(EntryKind.Reading, source.index, values);
        this.alarms.check(source, values);
      },
      failed: (source, problem) => {
        this.counters.sourceFailures++;
        this.environment.log('sample ' + source.name + ' failed: ' + problem);
        this.alarms.check(source, null);
      },
      roundStarted: () => this.power.checkBattery(),
      roundFinished: () => {
        if (this.sendAfterRound) this.send(true);
        this.sendAfterRound = false;
      },
      statusDue: () => this.status(),
      sendDue: () => this.send(false),
      hold: (holder) => this.power.hold(holder),
      release: (holder) => this.power.release(holder),
    });
  }

  start(): void {
    const io = this.io;
    try {
      io.watchdog.start(watchdogMilliseconds);
    } catch (error) {
      this.problems.push(String(error));
    }
    io.clock.setInterval(() => this.tick(), tickMilliseconds);
    this.startUplink();
    this.power.start();
    this.applyConfig();
    const rejected = this.config.rejected;
    if (rejected) {
      this.problems.push('configuration revision ' + rejected.revision + ' refused: ' + rejected.problem);
      this.alarm(EventCode.ConfigRejected, [rejected.revision]);
    }
    if (this.rebootCommand.value() > this.rebootReported.value() && this.session) {
      this.session.addResult({ commandId: this.rebootCommand.value(), status: 0, detail: 'rebooted' });
    }
    this.status();
    this.send(true);
  }

  terminalConfig(): TerminalConfig {
    return (this.config.config || { version: 1 }) as TerminalConfig;
  }

  configRevision(): number {
    return this.config.revision;
  }

  /** Journal an entry, stamped with the time (or uptime) and the configuration revision. */
  record(kind: number, source: number, values: number[]): number {
    const stamp = this.time.stamp();
    try {
      return this.journal.append(kind, source, stamp.time, values, stamp.flags | (this.config.revision & 0x7f));
    } catch (error) {
      this.counters.journalErrors++;
      this.environment.log('journal error ' + String(error));
      return -1;
    }
  }

  alarm(code: number, values: number[]): void {
    this.record(EntryKind.Event, code, values);
    this.send(true);
  }

  send(urgent: boolean): void {
    if (this.session && !this.shutDown) this.session.request(urgent);
  }

  status(): void {
    this.record(EntryKind.Status, 0, statusValues({
      uptimeSeconds: this.time.uptimeSeconds(),
      bootCount: this.bootCount,
      resetReason: this.io.power.resetReason(),
      batteryVolts: this.power.batteryVolts(),
      powerSource: this.power.sourceCode(),
      signalDbm: this.signalDbm,
      journal: this.journal.statistics(),
      configRevision: this.config.revision,
      uplinkFailures: this.session ? this.session.statistics.failures : 0,
      modem: this.supervisor ? this.supervisor.counters : null,
      sourceFailures: this.counters.sourceFailures,
      timeCorrections: this.time.statistics.corrections,
    }));
  }

  /** The main loop: kick the watchdog while everything makes progress. */
  private tick(): void {
    const now = this.io.clock.now();
    const session = this.session;
    if (session && session.startedAt >= 0 && now - session.startedAt > exchangeHangMilliseconds) return;
    if (this.scheduler.roundStartedAt >= 0 && now - this.scheduler.roundStartedAt > roundHangMilliseconds) return;
    this.counters.watchdogKicks++;
    this.io.watchdog.kick();
  }

  private startUplink(): void {
    const environment = this.environment;
    const gateway = this.settings.gateway;
    const Driver = environment.modemDriver as (new (io: ModemIo) => Modem) | null;
    const keys = decodeKeysFile(this.io.storage.read(keysFileName));
    const cipher = environment.blockCipher;
    if (!gateway || !Driver || !keys.keys || !cipher) {
      this.problems.push(!gateway ? 'no gateway configured' : !Driver ? 'no modem driver' : !cipher ? 'no AES (the crypto module is missing)' : String(keys.problem));
      return;
    }
    const sequenceLog = new AcknowledgementLog(this.io.storage, 'sq');
    const context: OscoreContext = {
      keys: keys.keys,
      aead: createCcmAead(cipher),
      sequence: new SenderSequence(sequenceLog.value(), sequenceCheckpointInterval, function (limit) {
        try {
          sequenceLog.record(limit);
          return sequenceLog.value() === limit;
        } catch (error) {
          return false;
        }
      }),
      replay: null,
    };
    const modem = new Driver(modemIoFromBoard(this.io, this.environment.board));
    this.supervisorOptions = { host: gateway.host, port: gateway.port, psm: this.currentPolicy().psm };
    const supervisor = new ModemSupervisor(modem, this.io.clock, this.supervisorOptions);
    this.modem = modem;
    this.supervisor = supervisor;
    this.session = new UplinkSession({
      clock: this.io.clock,
      journal: this.journal,
      time: this.time,
      modem: modem,
      supervisor: supervisor,
      context: context,
      naming: () => this.naming,
      bootFirstId: this.bootFirstId,
      maximumPayloadBytes: () => this.settings.maximumPayloadBytes,
      hold: (holder) => this.power.hold(holder),
      release: (holder) => this.power.release(holder),
      downlink: (message) => this.downlink(message),
      event: (code, values) => this.record(EntryKind.Event, code, values),
      awake: () => this.readSignal(),
      log: (text) => environment.log(text),
    });
  }

  private readSignal(): Promise<void> {
    const modem = this.modem;
    const now = this.io.clock.now();
    if (!modem || (this.signalReadAt >= 0 && now - this.signalReadAt < this.settings.statusInterval / 2)) return Promise.resolve();
    this.signalReadAt = now;
    return modem.signal().then((signal) => {
      const value = signal.rsrp !== null ? signal.rsrp : signal.rssi;
      if (value !== null) this.signalDbm = value;
    });
  }

  private currentPolicy(): Policy {
    return this.power.onBattery() ? this.settings.battery : this.settings.mains;
  }

  /** Start (or restart) the field interfaces, sources and schedule for the active configuration. */
  private applyConfig(): void {
    const config = this.terminalConfig();
    this.settings = resolveSettings(config.terminal);
    this.power.updateSettings(this.settings);
    this.scheduler.stop();
    if (this.field) this.field.stop();
    const inputs = config.digitalInputs || [];
    this.field = startFieldInterfaces(this.io, config, this.environment.fieldParts, {
      onInputEvent: (event) => {
        for (let index = 0; index < inputs.length; index++) {
          if (inputs[index].name === event.input) this.alarm(EventCode.Input, [event.active ? 1 : 0, index]);
        }
      },
      onProblem: (part, message) => this.problems.push(part + ': ' + message),
    });
    // The scheduler polls on demand, aligned with the other sources.
    if (this.field.poller) this.field.poller.stop();
    this.sources = buildSources(config, this.field, this.io.i2c, this.io.clock, this.environment.sensorDrivers, this.settings.sampleInterval);
    this.alarms.configure(this.sources, this.settings.thresholds);
    this.naming = this.namingFor(inputs.map((input) => input.event || input.name));
    const policy = this.currentPolicy();
    if (!this.shutDown) this.scheduler.start(this.sources, policy.intervalFactor, policy.sendInterval, this.settings.statusInterval);
  }

  private namingFor(inputEvents: string[]): NamingContext {
    const subjects: string[] = [];
    for (let index = 0; index < this.settings.thresholds.length; index++) {
      subjects.push(this.settings.thresholds[index].source + '.' + this.settings.thresholds[index].channel);
    }
    return {
      revisionTag: this.config.revision & 0x7f,
      sources: this.sources,
      inputEvents: inputEvents,
      thresholdSubjects: subjects,
      compactNames: this.settings.compactNames,
      firmwareVersion: this.environment.firmwareVersion,
    };
  }

  private applyPolicy(): void {
    const policy = this.currentPolicy();
    this.scheduler.setPolicy(policy.intervalFactor, policy.sendInterval);
    const supervisor = this.supervisor;
    const modem = this.modem;
    if (supervisor && modem && this.supervisorOptions) {
      this.supervisorOptions.psm = policy.psm;
      supervisor.run('psm', () => modem.configurePsm(policy.psm)).then(undefined, (error) => this.environment.log('psm ' + String(error)));
    }
    if (!this.power.onBattery() && this.shutDown) this.io.power.reboot();
  }

  /** The battery is nearly exhausted: save the counters, report everything, then stop and wait for mains. */
  private lastReport(): void {
    if (this.field) this.field.flush();
    this.status();
    this.send(true);
    const clock = this.io.clock;
    const deadline = clock.now() + 300000;
    const stopWhenSent = (): void => {
      if (this.session && this.session.busy() && clock.now() < deadline) {
        clock.setTimeout(stopWhenSent, 2000);
        return;
      }
      this.shutDown = true;
      this.scheduler.stop();
      if (this.session) this.session.stop();
      if (this.field) this.field.stop();
      if (this.modem) this.modem.powerOff().then(undefined, () => undefined);
      this.environment.log('battery exhausted: stopped until mains returns');
    };
    clock.setTimeout(stopWhenSent, 1000);
  }

  private downlink(message: DownlinkMessage): void {
    const session = this.session;
    if (!session) return;
    const acknowledged = message.acknowledgedCommandResults;
    const rebootId = this.rebootCommand.value();
    if (rebootId > this.rebootReported.value() && acknowledged.indexOf(rebootId) >= 0) this.rebootReported.record(rebootId);
    for (let index = 0; index < message.commands.length; index++) {
      this.counters.commands++;
      const command = message.commands[index];
      const result = runCommand(command, this.commandTarget());
      // A reboot is reported as done only by the terminal that came back up from it.
      if (command.name !== 'reboot' || result.detail !== 'rebooting') session.addResult(result);
    }
    // A configuration in the response itself (key 3) has no command id and so no result to report.
    if (message.configuration !== null) {
      const change = plainValue(message.configuration) as { revision?: number; config?: unknown; patch?: unknown };
      if (typeof change.revision === 'number') this.commandTarget().changeConfig(change.revision, change.config, change.patch);
    }
  }

  private commandTarget(): CommandTarget {
    const clock = this.io.clock;
    return {
      changeConfig: (revision, replacement, patch) => {
        const change = this.configStore.change(revision, replacement, patch);
        if (!change.ok) return { ok: false, problem: change.problem, unchanged: false };
        if (!change.unchanged) {
          this.config = this.configStore.current();
          this.applyConfig();
          this.status();
        }
        return { ok: true, problem: null, unchanged: change.unchanged };
      },
      relayNames: () => {
        return this.field ? Object.keys(this.field.relays) : [];
      },
      setRelay: (name, on) => {
        if (this.field && this.field.relays[name]) this.field.relays[name].set(on);
      },
      readNow: (sources) => {
        this.sendAfterRound = true;
        return this.scheduler.sampleNow(sources);
      },
      setTime: (seconds) => {
        this.time.learn('command', seconds);
      },
      reboot: (commandId) => {
        this.rebootCommand.record(commandId);
        if (this.field) this.field.flush();
        clock.setTimeout(() => this.io.power.reboot(), 2000);
      },
      status: () => {
        this.status();
      },
      executedUpTo: () => {
        return this.executedCommands.value();
      },
      executed: (commandId) => {
        this.executedCommands.record(commandId);
      },
      setTimeout: (handler, milliseconds) => {
        clock.setTimeout(handler, milliseconds);
      },
    };
  }
}

