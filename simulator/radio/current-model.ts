/**
 * Supply current of a modem by operating state, integrated into charge drawn.
 *
 * Figures are typical values at 3.6-3.8 V. Sources: Quectel BC66 Hardware Design (current consumption table:
 * PSM 3.5 uA, light sleep with DRX ~0.5 mA, connected RX and TX up to ~210 mA at 23 dBm), Quectel BC95-G
 * Hardware Design (PSM 3 uA typ, idle DRX ~1.5 mA, TX ~220 mA at 23 dBm), Quectel BG96 Hardware Design
 * (LTE Cat NB1: PSM 10 uA, sleep DRX ~2 mA, idle awake ~14 mA, TX ~190 mA at 23 dBm), cross-checked against
 * ../../shared/field-notes.md (PSM 0.8-9 uA class, TX ~167 mA at 23 dBm, idle without PSM 11-22 mA).
 * Values between table rows (the awake-idle, RX and eDRX figures) are estimates; see docs/modems.md for how the
 * per-report energy compares with the field notes' "~110 mAh per 3 days at 15-minute reporting".
 * TX is modelled per coverage class because NB-IoT power control runs below 23 dBm at ECL0.
 */

export type CurrentState = 'off' | 'psm' | 'edrx' | 'idle' | 'active' | 'searching' | 'connected' | 'transmitting';

export interface CurrentProfile {
  name: string;
  /** mA per state; `transmitting` is by coverage class 0..2. */
  off: number;
  psm: number;
  /** RRC idle with DRX (2.56 s) light sleep, UART quiet. */
  idle: number;
  /** RRC idle with an eDRX cycle agreed (81.92 s class): mostly asleep between paging windows. */
  edrx: number;
  /** Awake, UART active, no radio activity (sleep disabled, or commands being processed). */
  active: number;
  /** Cell search and attach. */
  searching: number;
  /** RRC connected, receiving/monitoring. */
  connected: number;
  transmitting: [number, number, number];
}

export const currentProfiles: Record<'BC66' | 'BC95-G' | 'BG96', CurrentProfile> = {
  BC66: { name: 'BC66', off: 0, psm: 0.0035, edrx: 0.05, idle: 0.5, active: 5, searching: 40, connected: 40, transmitting: [110, 210, 210] },
  'BC95-G': { name: 'BC95-G', off: 0, psm: 0.003, edrx: 0.15, idle: 1.5, active: 6, searching: 50, connected: 50, transmitting: [120, 220, 220] },
  BG96: { name: 'BG96', off: 0, psm: 0.01, edrx: 0.2, idle: 2, active: 14, searching: 45, connected: 45, transmitting: [100, 190, 190] },
};

export interface TimeSource {
  now(): number;
}

export class CurrentModel {
  private state: CurrentState = 'off';
  private coverageClass = 0;
  private since: number;
  private charge = 0;
  private readonly timeInState: Record<CurrentState, number> = {
    off: 0, psm: 0, edrx: 0, idle: 0, active: 0, searching: 0, connected: 0, transmitting: 0,
  };
  private listeners: Array<(milliamps: number, state: CurrentState) => void> = [];

  constructor(
    private readonly clock: TimeSource,
    readonly profile: CurrentProfile,
  ) {
    this.since = clock.now();
  }

  currentState(): CurrentState {
    return this.state;
  }

  currentMilliamps(): number {
    if (this.state === 'transmitting') return this.profile.transmitting[this.coverageClass] ?? this.profile.transmitting[2];
    return this.profile[this.state];
  }

  setState(state: CurrentState, coverageClass = this.coverageClass): void {
    if (state === this.state && coverageClass === this.coverageClass) return;
    this.accumulate();
    this.state = state;
    this.coverageClass = coverageClass;
    const milliamps = this.currentMilliamps();
    for (const listener of this.listeners) listener(milliamps, state);
  }

  /** Called with the new current on every change (a battery model drains by it). Returns a remover. */
  onChange(listener: (milliamps: number, state: CurrentState) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Charge drawn since the model was created, mAh, up to now. */
  chargeDrawnMilliampHours(): number {
    this.accumulate();
    return this.charge;
  }

  /** Milliseconds spent per state so far. */
  durations(): Record<CurrentState, number> {
    this.accumulate();
    return { ...this.timeInState };
  }

  private accumulate(): void {
    const now = this.clock.now();
    const elapsed = now - this.since;
    if (elapsed > 0) {
      this.charge += (this.currentMilliamps() * elapsed) / 3600000;
      this.timeInState[this.state] += elapsed;
    }
    this.since = now;
  }
}
