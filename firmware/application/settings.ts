/**
 * The application's part of the device configuration: the `terminal` section (where to send, how often, the
 * battery policy, alarm thresholds). The field interfaces (Modbus, sensors, inputs...) are firmware/config's.
 * `checkTerminalSettings` is the ES5 check the terminal runs before it accepts a configuration; `resolve`
 * fills the defaults. Field reference: docs/firmware.md.
 */
import type { DeviceConfig } from '../config/types';
import type { PsmSettings } from '../modem/modem';

export interface ThresholdSetting {
  /** A source name (Modbus device, sensor, pulse input) and one of its channels. */
  source: string;
  channel: string;
  above?: number;
  below?: number;
  /** The value must come back this far inside the limit before the alarm clears (default 0). */
  hysteresis?: number;
}

export interface BatteryPolicySetting {
  /** Sampling intervals are multiplied by this on battery (default 1). */
  intervalFactor?: number;
  /** Regular uplinks on battery, ms (default 6 h); alarms still go out at once (report by exception). */
  sendInterval?: number;
  /** PSM and eDRX requested on battery. */
  psm?: PsmSettings;
}

export interface TerminalSettings {
  gateway: { host: string; port: number };
  /** Sampling period of the pulse counters, ms (default 15 min). Modbus devices and sensors have their own. */
  sampleInterval?: number;
  /** Regular uplinks on mains, ms (default 15 min). */
  sendInterval?: number;
  /** Status report (heartbeat), ms (default 6 h); one is also made at every boot. */
  statusInterval?: number;
  battery?: BatteryPolicySetting;
  /** PSM requested on mains. */
  psm?: PsmSettings;
  lowBatteryVolts?: number;
  criticalBatteryVolts?: number;
  thresholds?: ThresholdSetting[];
  /** Send channel values unnamed (positional, docs/protocol.md 3.2): only for a single source whose channels are the gateway's channel list. */
  compactNames?: boolean;
  /** Largest uplink payload, bytes (default 400). */
  maximumPayloadBytes?: number;
}

export interface TerminalConfig extends DeviceConfig {
  terminal?: TerminalSettings;
}

export interface Policy {
  name: 'mains' | 'battery';
  intervalFactor: number;
  sendInterval: number;
  psm: PsmSettings;
}

export interface ResolvedSettings {
  gateway: { host: string; port: number } | null;
  sampleInterval: number;
  statusInterval: number;
  mains: Policy;
  battery: Policy;
  lowBatteryVolts: number;
  criticalBatteryVolts: number;
  thresholds: ThresholdSetting[];
  compactNames: boolean;
  maximumPayloadBytes: number;
}

const minute = 60000;
const hour = 60 * minute;

export function resolveSettings(settings: TerminalSettings | undefined): ResolvedSettings {
  const given = settings || ({} as TerminalSettings);
  const battery = given.battery || {};
  const mainsPsm = given.psm || { periodicTauSeconds: 86400, activeTimeSeconds: 10, edrxCycle: null };
  return {
    gateway: given.gateway || null,
    sampleInterval: given.sampleInterval || 15 * minute,
    statusInterval: given.statusInterval || 6 * hour,
    mains: { name: 'mains', intervalFactor: 1, sendInterval: given.sendInterval || 15 * minute, psm: mainsPsm },
    battery: {
      name: 'battery',
      intervalFactor: battery.intervalFactor || 1,
      sendInterval: battery.sendInterval || 6 * hour,
      psm: battery.psm || { periodicTauSeconds: 86400, activeTimeSeconds: 4, edrxCycle: '1001' },
    },
    lowBatteryVolts: given.lowBatteryVolts || 3.6,
    criticalBatteryVolts: given.criticalBatteryVolts || 3.45,
    thresholds: given.thresholds || [],
    compactNames: !!given.compactNames,
    maximumPayloadBytes: given.maximumPayloadBytes || 400,
  };
}

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberIn(value: unknown, minimum: number, maximum: number): boolean {
  return typeof value === 'number' && value >= minimum && value <= maximum;
}

function checkInterval(settings: Json, key: string, path: string, minimum: number): string | null {
  const value = settings[key];
  if (value === undefined) return null;
  return numberIn(value, minimum, 7 * 24 * hour) && value === Math.floor(value as number) ? null : path + '/' + key + ': must be ' + minimum + '..604800000 ms';
}

function checkPsm(value: unknown, path: string): string | null {
  if (value === undefined) return null;
  if (!isObject(value) || !numberIn(value.periodicTauSeconds, 60, 35712000) || !numberIn(value.activeTimeSeconds, 0, 11160)) {
    return path + ': needs periodicTauSeconds 60..35712000 and activeTimeSeconds 0..11160';
  }
  const cycle = value.edrxCycle;
  if (cycle !== undefined && cycle !== null && !(typeof cycle === 'string' && cycle.length === 4 && /^[01]+$/.test(cycle))) {
    return path + '/edrxCycle: must be 4 binary digits or null';
  }
  return null;
}

/** The first problem with the `terminal` section as "path: reason", or null. `names` maps source names to their channels. */
export function checkTerminalSettings(config: Json, names: { [source: string]: string[] }): string | null {
  const settings = config.terminal;
  if (settings === undefined) return null;
  if (!isObject(settings)) return '/terminal: must be an object';
  const gateway = settings.gateway;
  if (!isObject(gateway) || typeof gateway.host !== 'string' || gateway.host.length === 0 || gateway.host.length > 64 || !numberIn(gateway.port, 1, 65535)) {
    return '/terminal/gateway: needs host (text) and port 1..65535';
  }
  const intervals = ['sampleInterval', 'sendInterval', 'statusInterval'];
  for (let index = 0; index < intervals.length; index++) {
    const problem = checkInterval(settings, intervals[index], '/terminal', 10000);
    if (problem) return problem;
  }
  const psmProblem = checkPsm(settings.psm, '/terminal/psm');
  if (psmProblem) return psmProblem;
  const battery = settings.battery;
  if (battery !== undefined) {
    if (!isObject(battery)) return '/terminal/battery: must be an object';
    if (battery.intervalFactor !== undefined && !numberIn(battery.intervalFactor, 1, 100)) return '/terminal/battery/intervalFactor: must be 1..100';
    const problem = checkInterval(battery, 'sendInterval', '/terminal/battery', 10000) || checkPsm(battery.psm, '/terminal/battery/psm');
    if (problem) return problem;
  }
  const volts = ['lowBatteryVolts', 'criticalBatteryVolts'];
  for (let index = 0; index < volts.length; index++) {
    if (settings[volts[index]] !== undefined && !numberIn(settings[volts[index]], 1, 20)) return '/terminal/' + volts[index] + ': must be 1..20 V';
  }
  if (settings.maximumPayloadBytes !== undefined && !numberIn(settings.maximumPayloadBytes, 64, 1200)) return '/terminal/maximumPayloadBytes: must be 64..1200';
  if (settings.compactNames !== undefined && typeof settings.compactNames !== 'boolean') return '/terminal/compactNames: must be true or false';
  const thresholds = settings.thresholds;
  if (thresholds !== undefined) {
    if (!Array.isArray(thresholds) || thresholds.length > 16) return '/terminal/thresholds: must be an array of at most 16';
    for (let index = 0; index < thresholds.length; index++) {
      const path = '/terminal/thresholds/' + index;
      const item = thresholds[index];
      if (!isObject(item) || typeof item.source !== 'string' || typeof item.channel !== 'string') return path + ': needs source and channel';
      const channels = names[item.source];
      if (!channels) return path + '/source: no source "' + item.source + '"';
      if (channels.length > 0 && channels.indexOf(item.channel) < 0) return path + '/channel: source ' + item.source + ' has no channel "' + item.channel + '"';
      if (item.above === undefined && item.below === undefined) return path + ': needs above or below';
      if ((item.above !== undefined && typeof item.above !== 'number') || (item.below !== undefined && typeof item.below !== 'number')) return path + ': limits must be numbers';
      if (item.hysteresis !== undefined && !numberIn(item.hysteresis, 0, 1e9)) return path + '/hysteresis: must be a number >= 0';
    }
  }
  return null;
}
