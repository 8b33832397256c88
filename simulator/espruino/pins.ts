/**
 * Pins, digitalRead/digitalWrite/pinMode/getPinMode/digitalPulse, analogRead, and setWatch/clearWatch with
 * Espruino's edge and debounce rules (jswrap_io.c, jsinteractive.c jsiIdle): an edge is timestamped when it
 * happens and the callback runs from the event loop; with `debounce` the callback fires once the pin has been
 * stable that long, reporting the time of the last edge; `lastTime` is the previous change of the pin whatever
 * edge is watched. Pins are accepted as names ("D6"), Pin objects or Espruino pin numbers.
 */
import { pinIndex } from '../hardware/mcu';
import { pinModes, type PinMode } from '../hardware/gpio';
import type { EspruinoSession } from './session';

/** A pin as a global (D6, A2): Espruino's Pin class methods. */
export class EspruinoPin {
  constructor(
    readonly name: string,
    private readonly index: number,
    private readonly api: PinApi,
  ) {}

  read(): boolean {
    return !!this.api.digitalRead(this);
  }

  write(value: unknown): void {
    this.api.digitalWrite(this, value);
  }

  set(): void {
    this.api.digitalWrite(this, 1);
  }

  reset(): void {
    this.api.digitalWrite(this, 0);
  }

  toggle(): boolean {
    const next = !this.api.gpioLevel(this.name);
    this.api.digitalWrite(this, next ? 1 : 0);
    return next;
  }

  mode(mode: unknown): void {
    this.api.pinMode(this, mode);
  }

  getMode(): string {
    return this.api.getPinMode(this);
  }

  getInfo(): Record<string, unknown> {
    return this.api.pinInfo(this.name, this.index);
  }

  toString(): string {
    return this.name;
  }

  /** JSON.stringify gives the pin's name (Espruino's JSON_PIN_TO_STRING). */
  toJSON(): string {
    return this.name;
  }

  valueOf(): number {
    return this.index;
  }
}

interface Watch {
  pin: string;
  callback: unknown;
  repeat: boolean;
  /** 1 rising, -1 falling, 0 both. */
  edge: number;
  debounce: number;
  state: boolean;
  lastTime: number | undefined;
  pending: { eventId: number; due: number; state: boolean } | null;
  unsubscribe: () => void;
}

interface PinApi {
  gpioLevel(name: string): boolean;
  digitalRead(pin: unknown): number;
  digitalWrite(pin: unknown, value: unknown): void;
  pinMode(pin: unknown, mode: unknown): void;
  getPinMode(pin: unknown): string;
  pinInfo(name: string, index: number): Record<string, unknown>;
}

export function createPinApi(session: EspruinoSession) {
  const { gpio, mcu, definition } = session.board;
  const realm = session.realm;
  const byIndex = new Map<number, string>();
  for (const name of definition.pins) byIndex.set(pinIndex(name, mcu), name);
  const watches = new Map<number, Watch>();
  let nextWatchId = 1;
  const seconds = (milliseconds: number): number => session.board.rtcMilliseconds() / 1000 - (session.board.clock.now() - milliseconds) / 1000;

  const resolve = (pin: unknown): string => {
    session.assertAlive();
    if (pin instanceof EspruinoPin) return pin.name;
    if (typeof pin === 'string' && gpio.has(pin)) return pin;
    if (typeof pin === 'number' && byIndex.has(pin)) return byIndex.get(pin)!;
    throw realm.error('Invalid pin!');
  };

  const shouldExecute = (watch: Watch, state: boolean): boolean => watch.edge === 0 || (watch.edge === 1) === state;

  const fire = (id: number, watch: Watch, state: boolean, time: number, lastTime: number | undefined): void => {
    const event = realm.object({ state, lastTime, time, pin: pins[watch.pin] });
    if (!watch.repeat) {
      watch.unsubscribe();
      watches.delete(id);
    }
    session.invoke(watch.callback, undefined, [event]);
  };

  const onEdge = (id: number, watch: Watch, level: boolean, atMilliseconds: number): void => {
    const time = seconds(atMilliseconds);
    if (watch.debounce <= 0) {
      watch.state = level;
      const lastTime = watch.lastTime;
      const execute = shouldExecute(watch, level);
      // The edge is queued by the interrupt; the callback runs from the event loop.
      session.schedule(0, () => {
        if (execute && watches.has(id)) fire(id, watch, level, time, lastTime);
      });
      watch.lastTime = time;
      return;
    }
    if (watch.pending) {
      session.cancel(watch.pending.eventId);
      watch.pending.state = level;
      watch.pending.due = atMilliseconds + watch.debounce;
    } else if (level !== watch.state) {
      watch.pending = { eventId: 0, due: atMilliseconds + watch.debounce, state: level };
    } else {
      return;
    }
    const pending = watch.pending;
    pending.eventId = session.schedule(pending.due - session.board.clock.now(), () => {
      watch.pending = null;
      const previous = watch.state;
      watch.state = pending.state;
      if (previous === pending.state || !watches.has(id)) return;
      const edgeTime = seconds(pending.due - watch.debounce);
      const lastTime = watch.lastTime;
      watch.lastTime = edgeTime;
      if (shouldExecute(watch, pending.state)) fire(id, watch, pending.state, edgeTime, lastTime);
    });
  };

  const api = {
    gpioLevel(name: string): boolean {
      return gpio.read(name);
    },
    digitalRead(pin: unknown): number {
      const name = resolve(pin);
      if (!gpio.isManual(name) && gpio.mode(name) !== 'input') gpio.setMode(name, 'input', false);
      return gpio.read(name) ? 1 : 0;
    },
    digitalWrite(pin: unknown, value: unknown): void {
      const name = resolve(pin);
      if (!gpio.isManual(name)) gpio.setMode(name, 'output', false);
      gpio.write(name, !!value && value !== '0');
    },
    pinMode(pin: unknown, mode: unknown): void {
      const name = resolve(pin);
      if (mode === undefined || mode === 'auto') {
        gpio.setMode(name, gpio.mode(name), false);
        return;
      }
      if (typeof mode !== 'string' || !pinModes.includes(mode as PinMode)) throw realm.error('Unknown pin mode');
      gpio.setMode(name, mode as PinMode, true);
    },
    getPinMode(pin: unknown): string {
      return gpio.mode(resolve(pin));
    },
    digitalPulse(pin: unknown, value: unknown, milliseconds: unknown): void {
      const name = resolve(pin);
      const level = !!value;
      const times = (Array.isArray(milliseconds) ? milliseconds : [milliseconds]).map(Number);
      if (!gpio.isManual(name)) gpio.setMode(name, 'output', false);
      let at = 0;
      let current = level;
      gpio.write(name, current);
      for (const time of times) {
        at += Math.max(0, time);
        current = !current;
        const next = current;
        session.schedule(at, () => gpio.write(name, next));
      }
    },
    analogRead(pin: unknown): number {
      const name = resolve(pin);
      if (!gpio.isManual(name)) gpio.setMode(name, 'analog', false);
      return gpio.analogRead(name);
    },
    analogWrite(pin: unknown, value: unknown): void {
      api.digitalWrite(pin, Number(value) >= 0.5 ? 1 : 0);
    },
    pinInfo(name: string, index: number): Record<string, unknown> {
      return realm.object({ port: name.charAt(0), num: Number(name.slice(1)), index });
    },
    setWatch(callback: unknown, pin: unknown, options: unknown): number | undefined {
      const name = resolve(pin);
      if (typeof callback !== 'function' && typeof callback !== 'string') throw realm.error('Function or String not supplied!');
      let repeat = false;
      let debounce = 0;
      let edge = 0;
      if (options !== null && typeof options === 'object') {
        const record = options as Record<string, unknown>;
        if ('repeat' in record) repeat = !!record.repeat;
        if ('debounce' in record) {
          debounce = Number(record.debounce);
          if (!(debounce >= 0)) debounce = 0;
        }
        const edgeOption = record.edge;
        if (edgeOption === undefined) edge = 0;
        else if (typeof edgeOption === 'number') edge = edgeOption > 0 ? 1 : edgeOption < 0 ? -1 : 0;
        else if (edgeOption === 'rising') edge = 1;
        else if (edgeOption === 'falling') edge = -1;
        else if (edgeOption === 'both') edge = 0;
        else throw realm.error("'edge' in setWatch should be 1, -1, 0, 'rising', 'falling' or 'both'", 'TypeError');
      } else {
        repeat = !!options;
      }
      if (mcu.family.startsWith('STM32')) {
        // One EXTI line per pin number: A0 and B0 cannot both be watched.
        const line = pinIndex(name, mcu) % 16;
        for (const other of watches.values()) {
          if (other.pin !== name && pinIndex(other.pin, mcu) % 16 === line) {
            session.print(
              'WARNING: Unable to set watch. You may already have a watch on a pin with the same number (eg. A0 and B0),\nor this pin cannot be used with watch\n',
            );
            return undefined;
          }
        }
      }
      if (!gpio.isManual(name)) gpio.setMode(name, 'input', false);
      const id = nextWatchId++;
      const watch: Watch = { pin: name, callback, repeat, edge, debounce, state: gpio.read(name), lastTime: undefined, pending: null, unsubscribe: () => {} };
      watch.unsubscribe = gpio.onChange(name, (level, time) => onEdge(id, watch, level, time));
      watches.set(id, watch);
      return id;
    },
    clearWatch(...args: unknown[]): void {
      session.assertAlive();
      if (args.length === 0) {
        for (const watch of watches.values()) {
          watch.unsubscribe();
          if (watch.pending) session.cancel(watch.pending.eventId);
        }
        watches.clear();
        return;
      }
      const id = args[0];
      if (id === undefined) throw realm.error('clearWatch(undefined) not allowed. Use clearWatch() instead');
      const watch = typeof id === 'number' ? watches.get(id) : undefined;
      if (!watch) throw realm.error(`Unknown Watch ${String(id)}`);
      watch.unsubscribe();
      if (watch.pending) session.cancel(watch.pending.eventId);
      watches.delete(id as number);
    },
  };

  const pins: Record<string, EspruinoPin> = {};
  for (const name of definition.pins) pins[name] = new EspruinoPin(name, pinIndex(name, mcu), api);
  session.onEnd(() => {
    for (const watch of watches.values()) watch.unsubscribe();
    watches.clear();
  });
  return Object.assign(api, { pins });
}
