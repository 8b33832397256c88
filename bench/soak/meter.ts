/**
 * The soak's energy meter: an SDM630 model whose values change at every poll, drawn from the terminal's seed, and
 * a log of every poll with the values it served. That log is what "the value the models produced" means: each
 * reading on MQTT must carry exactly the four values of one poll, polls in reading-id order, no poll twice.
 *
 * A poll is the master's requests that follow each other closely (the firmware reads the four points in one or
 * two requests, with retries, within a second); a request after more than `pollGapMs` of bus silence starts a
 * new poll. The values are float32 (the meter's registers), so the log keeps them rounded the same way.
 */
import type { VirtualClock } from '../../simulator/clock';
import { loadProfileJson, ModbusMeterModel } from '../../simulator/models/modbus-meter';
import { SeededRandom } from '../../simulator/radio/radio-model';
import type { Rs485Bus } from '../../simulator/wire';

export const meterPoints = ['voltage_l1', 'current_l1', 'power_l1', 'import_energy'] as const;
export type MeterValues = Record<(typeof meterPoints)[number], number>;

export interface Poll {
  index: number;
  /** True virtual ms of the poll's first request. */
  at: number;
  values: MeterValues;
}

const pollGapMs = 5000;

export class RecordingMeter {
  readonly polls: Poll[] = [];
  readonly model: ModbusMeterModel;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private energy: number;
  private readonly random: SeededRandom;

  constructor(
    boardClock: VirtualClock,
    private readonly trueClock: VirtualClock,
    bus: Rs485Bus,
    seed: number,
    readonly unitId = 1,
  ) {
    this.random = new SeededRandom(seed);
    this.model = new ModbusMeterModel(boardClock, bus, unitId, loadProfileJson('eastron-sdm630'));
    this.energy = Math.round(this.random.between(100, 90000) * 100) / 100;
    this.setValues();
    const meterName = `${this.model.profile.id}@${unitId}`;
    const previous = bus.faults;
    // The bus calls this for every chunk before any receiver sees it: a request from the master sets the values
    // its poll will read, before the meter answers.
    bus.faults = (data, from) => {
      if (from !== meterName) this.requestSeen();
      return previous ? previous(data, from) : data;
    };
  }

  private requestSeen(): void {
    const now = this.trueClock.now();
    if (now - this.lastRequestAt > pollGapMs) {
      this.energy += this.random.between(0.01, 2.5);
      this.polls.push({ index: this.polls.length, at: now, values: this.setValues() });
    }
    this.lastRequestAt = now;
  }

  private setValues(): MeterValues {
    const values: MeterValues = {
      voltage_l1: Math.fround(this.random.between(207, 253)),
      current_l1: Math.fround(this.random.between(0, 60)),
      power_l1: Math.fround(this.random.between(0, 14000)),
      import_energy: Math.fround(this.energy),
    };
    for (const point of meterPoints) this.model.set(point, values[point]);
    return values;
  }
}
