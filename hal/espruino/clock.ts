/**
 * Clock over getTime()/setTime() and Espruino's timers. getTime() is wall time and jumps when it is set, so
 * `now()` keeps its own base and moves it by the jump actually seen. Where setTime() does not move getTime()
 * (the Linux build follows the host clock), the difference is kept here so wallTime() is still what was set.
 */
import { HalError, type Clock } from '../interfaces';
import type { EspruinoApi } from './api';

export class EspruinoClock implements Clock {
  /** getTime() in ms at the moment this clock was created (boot), corrected by every setWallTime. */
  private base: number;
  /** What setWallTime asked for minus what getTime() gives, when setTime() could not do it all. */
  private wallOffset = 0;

  constructor(private readonly api: EspruinoApi) {
    this.base = api.getTime() * 1000;
  }

  now(): number {
    return this.api.getTime() * 1000 - this.base;
  }

  /** Convert an Espruino timestamp (getTime() seconds, e.g. a setWatch event's `time`) to this clock's ms. */
  fromEspruinoTime(seconds: number): number {
    return seconds * 1000 - this.base;
  }

  wallTime(): number {
    return this.api.getTime() * 1000 + this.wallOffset;
  }

  setWallTime(epochMilliseconds: number): void {
    if (typeof epochMilliseconds !== 'number' || !(epochMilliseconds >= 0 && epochMilliseconds < 8.64e15)) {
      throw new HalError('invalid-argument', 'Clock', 'wall time must be ms since 1970, got ' + String(epochMilliseconds));
    }
    const before = this.api.getTime() * 1000;
    this.api.setTime(epochMilliseconds / 1000);
    const after = this.api.getTime() * 1000;
    this.base += after - before;
    this.wallOffset = epochMilliseconds - after;
  }

  setTimeout(handler: () => void, milliseconds: number): number {
    checkTimer(handler, milliseconds);
    return this.api.setTimeout(handler, milliseconds);
  }

  clearTimeout(id: number): void {
    // Espruino's clearTimeout() without an id clears every timer: never pass it anything but a number.
    if (typeof id === 'number' && id === id) this.api.clearTimeout(id);
  }

  setInterval(handler: () => void, milliseconds: number): number {
    checkTimer(handler, milliseconds);
    if (milliseconds <= 0) throw new HalError('invalid-argument', 'Clock', 'interval must be more than 0 ms');
    return this.api.setInterval(handler, milliseconds);
  }

  clearInterval(id: number): void {
    if (typeof id === 'number' && id === id) this.api.clearInterval(id);
  }
}

function checkTimer(handler: () => void, milliseconds: number): void {
  if (typeof handler !== 'function') throw new HalError('invalid-argument', 'Clock', 'timer handler must be a function');
  if (typeof milliseconds !== 'number' || !(milliseconds >= 0 && milliseconds <= 2147483647)) {
    throw new HalError('invalid-argument', 'Clock', 'timer delay must be 0..2147483647 ms, got ' + String(milliseconds));
  }
}
