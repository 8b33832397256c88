/**
 * Alarms derived from samples: threshold crossings (with hysteresis) and sources that stop answering (a Modbus
 * device lost, a sensor gone) or come back. Each change is one event, sent at once by the terminal.
 */
import { EventCode } from './entries';
import type { ThresholdSetting } from './settings';
import type { Source } from './sources';

interface CompiledThreshold {
  index: number;
  source: number;
  channel: number;
  setting: ThresholdSetting;
  /** 0 normal, 1 above, 2 below. */
  state: number;
}

export type AlarmEvent = (code: number, values: number[]) => void;

export class Alarms {
  private thresholds: CompiledThreshold[] = [];
  private online: boolean[] = [];

  constructor(private readonly event: AlarmEvent) {}

  configure(sources: Source[], settings: ThresholdSetting[]): void {
    this.thresholds = [];
    this.online = [];
    for (let index = 0; index < sources.length; index++) this.online.push(true);
    for (let index = 0; index < settings.length; index++) {
      const setting = settings[index];
      for (let position = 0; position < sources.length; position++) {
        const channel = sources[position].channels.indexOf(setting.channel);
        if (sources[position].name === setting.source && channel >= 0) {
          this.thresholds.push({ index, source: position, channel, setting, state: 0 });
        }
      }
    }
  }

  /** After every sample attempt of `source` (`values` null when it failed). */
  check(source: Source, values: number[] | null): void {
    const online = source.online();
    if (online !== this.online[source.index]) {
      this.online[source.index] = online;
      this.event(online ? EventCode.DeviceBack : EventCode.DeviceLost, [1, source.index]);
    }
    if (!values) return;
    for (let index = 0; index < this.thresholds.length; index++) {
      const threshold = this.thresholds[index];
      if (threshold.source !== source.index) continue;
      const value = values[threshold.channel];
      if (value !== value) continue;
      const state = nextState(threshold.setting, threshold.state, value);
      if (state !== threshold.state) {
        threshold.state = state;
        this.event(EventCode.Threshold, [value, threshold.index, state]);
      }
    }
  }
}

function nextState(setting: ThresholdSetting, state: number, value: number): number {
  const margin = setting.hysteresis || 0;
  const above = setting.above;
  const below = setting.below;
  if (above !== undefined && value > above) return 1;
  if (below !== undefined && value < below) return 2;
  // Inside the limits: an alarm clears only once the value is back by the hysteresis.
  if (state === 1 && above !== undefined && value > above - margin) return 1;
  if (state === 2 && below !== undefined && value < below + margin) return 2;
  return 0;
}
