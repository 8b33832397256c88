/**
 * The NB-IoT radio as a modem model sees it: coverage, attach time, datagram loss/duplication/latency,
 * network-granted PSM timers and network time. Every random draw comes from a seeded PRNG so a test with the
 * same seed sees the same radio.
 *
 * Coverage classes (3GPP TS 36.213/36.331 CE levels, NB-IoT ECL 0..2) with typical figures: ECL0 at RSRP
 * better than about -105 dBm, ECL1 down to about -115 dBm, ECL2 below. Round trips follow the field notes
 * (../../shared/field-notes.md: 185 ms at ECL0 up to ~800 ms at ECL2); uplink airtime grows with the
 * repetitions a CE level needs.
 */

/** Mulberry32: small, fast, good enough for simulation; deterministic for a seed. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }
  between(minimum: number, maximum: number): number {
    return minimum + (maximum - minimum) * this.next();
  }
  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }
}

export type CoverageClass = 0 | 1 | 2;

export interface CoverageFigures {
  rsrpDbm: number;
  sinrDb: number;
  rssiDbm: number;
  /** Uplink + downlink round trip through the network, ms. */
  roundTripMs: number;
  /** RRC connection setup (random access + connection setup) from idle, ms. */
  connectionSetupMs: number;
  /** Airtime of one uplink datagram of up to ~100 bytes, ms (repetitions included). */
  uplinkAirtimeMs: number;
  /** Extra airtime per further 100 bytes, ms. */
  uplinkAirtimePer100BytesMs: number;
  /** From a release assistance indication to the RRC release the eNB sends, ms. */
  releaseDelayMs: number;
}

export const coverageFigures: Record<CoverageClass, CoverageFigures> = {
  0: { rsrpDbm: -85, sinrDb: 12, rssiDbm: -73, roundTripMs: 185, connectionSetupMs: 600, uplinkAirtimeMs: 60, uplinkAirtimePer100BytesMs: 40, releaseDelayMs: 1000 },
  1: { rsrpDbm: -110, sinrDb: 2, rssiDbm: -95, roundTripMs: 400, connectionSetupMs: 1500, uplinkAirtimeMs: 500, uplinkAirtimePer100BytesMs: 320, releaseDelayMs: 2000 },
  2: { rsrpDbm: -124, sinrDb: -6, rssiDbm: -107, roundTripMs: 800, connectionSetupMs: 4000, uplinkAirtimeMs: 2000, uplinkAirtimePer100BytesMs: 1280, releaseDelayMs: 4000 },
};

export interface RadioOptions {
  seed?: number;
  coverageClass?: CoverageClass;
  /** Attach (cell search + attach + default bearer) duration range, ms. */
  attachMs?: { minimum: number; maximum: number };
  uplinkLoss?: number;
  downlinkLoss?: number;
  duplicate?: number;
  /** RRC inactivity timer: connected mode lasts this long after the last traffic without release assistance. */
  inactivityMs?: number;
  /** Override the coverage class's delay from a release assistance indication to the RRC release, ms. */
  releaseDelayMs?: number;
  /** Network time (epoch ms UTC) at virtual time 0. */
  networkEpochMs?: number;
  /** Local time zone offset in quarter hours (+CCLK ±zz). */
  timeZoneQuarterHours?: number;
  /** When set, the network grants these instead of what the UE requested (seconds). */
  grantedPeriodicTauSeconds?: number | null;
  grantedActiveTimeSeconds?: number | null;
  /** Whether the network sends time at attach (NITZ); without it +CCLK reads the module's unset clock. */
  providesTime?: boolean;
}

export class RadioModel {
  readonly random: SeededRandom;
  coverageClass: CoverageClass;
  attachMs: { minimum: number; maximum: number };
  uplinkLoss: number;
  downlinkLoss: number;
  duplicate: number;
  inactivityMs: number;
  releaseDelayMs: number | null;
  networkEpochMs: number;
  timeZoneQuarterHours: number;
  grantedPeriodicTauSeconds: number | null;
  grantedActiveTimeSeconds: number | null;
  providesTime: boolean;
  /** No cell at all: attach never completes (field: "no suitable cell = never sleeps"). */
  noService = false;

  constructor(options: RadioOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 1);
    this.coverageClass = options.coverageClass ?? 0;
    this.attachMs = options.attachMs ?? { minimum: 2000, maximum: 8000 };
    this.uplinkLoss = options.uplinkLoss ?? 0;
    this.downlinkLoss = options.downlinkLoss ?? 0;
    this.duplicate = options.duplicate ?? 0;
    this.inactivityMs = options.inactivityMs ?? 20000;
    this.releaseDelayMs = options.releaseDelayMs ?? null;
    this.networkEpochMs = options.networkEpochMs ?? Date.parse('2026-08-01T12:00:00Z');
    this.timeZoneQuarterHours = options.timeZoneQuarterHours ?? 8;
    this.grantedPeriodicTauSeconds = options.grantedPeriodicTauSeconds ?? null;
    this.grantedActiveTimeSeconds = options.grantedActiveTimeSeconds ?? null;
    this.providesTime = options.providesTime ?? true;
  }

  figures(): CoverageFigures {
    return coverageFigures[this.coverageClass];
  }

  /** From a release assistance indication to the RRC release, ms. */
  releaseDelay(): number {
    return this.releaseDelayMs ?? this.figures().releaseDelayMs;
  }

  /** Draw an attach duration. */
  attachDuration(): number {
    return Math.round(this.random.between(this.attachMs.minimum, this.attachMs.maximum));
  }

  /** Uplink airtime for a datagram of `bytes`. */
  uplinkAirtime(bytes: number): number {
    const figures = this.figures();
    return figures.uplinkAirtimeMs + Math.max(0, Math.ceil((bytes - 100) / 100)) * figures.uplinkAirtimePer100BytesMs;
  }

  /** One-way network latency, ms (half the round trip, jittered ±20 %). */
  oneWayLatency(): number {
    return Math.round((this.figures().roundTripMs / 2) * this.random.between(0.8, 1.2));
  }

  /** AT+CSQ index 0..31 for the current RSSI. */
  csqIndex(): number {
    return Math.max(0, Math.min(31, Math.round((this.figures().rssiDbm + 113) / 2)));
  }
}
