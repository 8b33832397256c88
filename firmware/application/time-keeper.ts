/**
 * Wall time for readings. The MCU's clock starts at 0 after a power cut, so the terminal often boots without
 * knowing the date. It learns it from the network (+CCLK after attach) and from every gateway response (the
 * reference: readings are stored by the gateway's clock), and corrects drift whenever the two differ by more
 * than a tolerance.
 *
 * A reading sampled before the time is known is journaled with its uptime (seconds since this boot) and the
 * flag `uptimeFlag`; when it is sent the uptime becomes an absolute time if the time is known by then, or an
 * age relative to the moment of sending (SenML relative time, RFC 8428 4.5.3) if not. A reading from an earlier
 * boot that never learnt the time is sent with time 0 ("time of receipt").
 */
import type { Clock } from '../../hal/interfaces';

/** Before 2024-01-01 the clock has not been set. */
const earliestValidSeconds = 1704067200;
/** Journal entry flag: `time` holds uptime seconds of the boot that made the entry. */
export const uptimeFlag = 0x80;

export interface TimeStamp {
  time: number;
  flags: number;
}

export interface TimeStatistics {
  /** Corrections of a clock that was already set (drift), and the largest one in seconds. */
  corrections: number;
  largestCorrectionSeconds: number;
  /** Where the time came from last: 'network', 'gateway', 'command' or ''. */
  source: string;
}

export class TimeKeeper {
  readonly statistics: TimeStatistics = { corrections: 0, largestCorrectionSeconds: 0, source: '' };
  /** Called when the time became known or jumped by more than a minute (schedules aligned to it must move). */
  onJump: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    /** Differences up to this many seconds are left alone (the gateway's time has a one-second resolution). */
    private readonly toleranceSeconds: number,
  ) {}

  known(): boolean {
    return this.clock.wallTime() / 1000 >= earliestValidSeconds;
  }

  /** Wall time in whole seconds (meaningful only when `known()`). */
  nowSeconds(): number {
    return Math.floor(this.clock.wallTime() / 1000);
  }

  uptimeSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** What to journal for a reading taken now. */
  stamp(): TimeStamp {
    if (this.known()) return { time: this.nowSeconds(), flags: 0 };
    return { time: this.uptimeSeconds(), flags: uptimeFlag };
  }

  /** A time from outside (seconds since the epoch, possibly fractional). Returns true when the clock was set. */
  learn(source: string, epochSeconds: number): boolean {
    if (!(epochSeconds >= earliestValidSeconds) || epochSeconds > 4102444800) return false;
    const difference = epochSeconds - this.clock.wallTime() / 1000;
    const magnitude = difference < 0 ? -difference : difference;
    const wasKnown = this.known();
    if (wasKnown && magnitude <= this.toleranceSeconds) return false;
    this.clock.setWallTime(epochSeconds * 1000);
    this.statistics.source = source;
    // A first setting is not drift; a later one is, and its size is worth reporting.
    if (wasKnown) {
      this.statistics.corrections++;
      if (magnitude > this.statistics.largestCorrectionSeconds) this.statistics.largestCorrectionSeconds = Math.round(magnitude);
    }
    if ((!wasKnown || magnitude > 60) && this.onJump) this.onJump();
    return true;
  }

  /** The protocol time of a journaled entry (see the file comment); `thisBoot` says the entry was made since boot. */
  resolve(time: number, flags: number, thisBoot: boolean): number {
    if (!(flags & uptimeFlag)) return time;
    if (!thisBoot) return 0;
    const age = this.uptimeSeconds() - time;
    if (this.known()) return this.nowSeconds() - age;
    return age > 0 ? -age : 0;
  }
}
