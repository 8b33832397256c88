/**
 * setTimeout / setInterval / clearTimeout / clearInterval / changeInterval / getTime / setTime on the virtual
 * clock, with Espruino's rules (jswrap_interactive.c): ids count up from 1, extra arguments are passed on,
 * a string is evaluated, clear*() without arguments clears every timer, clear*(undefined) throws, an unknown
 * id is ignored, changeInterval of an unknown id throws "Unknown Interval". Date follows getTime().
 */
import type { EspruinoSession } from './session';

const noAction = (): void => {};

/** Espruino's TIMER_MIN_INTERVAL: intervals shorter than this would lock the event loop. */
const minimumInterval = 0.1;

interface Timer {
  eventId: number;
  callback: unknown;
  args: unknown[];
  interval: number | null;
  /** Virtual time the timer is due (intervals re-arm from it, so they do not drift). */
  due: number;
  /** The clock action, made once per timer (an interval re-arms it every period). */
  fire: () => void;
}

export function createTimers(session: EspruinoSession): Record<string, unknown> {
  const clock = session.board.clock;
  const timers = new Map<number, Timer>();
  let nextId = 1;
  const realm = session.realm;

  const arm = (timer: Timer): void => {
    timer.eventId = session.schedule(timer.due - clock.now(), timer.fire);
  };

  // A function that returns the action, rather than an arrow in the object literal: the TypeScript loader names
  // functions defined in object literals (a defineProperty per timer), and firmware makes a timer per callback.
  function fireAction(id: number, timer: Timer): () => void {
    return () => {
      if (!timers.has(id)) return;
      if (timer.interval === null) timers.delete(id);
      else {
        timer.due += timer.interval;
        arm(timer);
      }
      session.invoke(timer.callback, undefined, timer.args);
    };
  }

  const add = (callback: unknown, milliseconds: unknown, args: unknown[], repeat: boolean): number => {
    session.assertAlive();
    if (typeof callback !== 'function' && typeof callback !== 'string') throw realm.error('Function or String not supplied!');
    let delay = Number(milliseconds);
    if (!(delay >= 0)) delay = 0;
    if (repeat && delay < minimumInterval) delay = minimumInterval;
    const id = nextId++;
    const timer: Timer = { eventId: 0, callback, args, interval: repeat ? delay : null, due: clock.now() + delay, fire: noAction };
    timer.fire = fireAction(id, timer);
    timers.set(id, timer);
    arm(timer);
    return id;
  };

  const clear = (kind: 'Timeout' | 'Interval', args: unknown[]): void => {
    session.assertAlive();
    if (args.length === 0) {
      for (const timer of timers.values()) session.cancel(timer.eventId);
      timers.clear();
      return;
    }
    const id = args[0];
    if (id === undefined) throw realm.error(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
    const timer = typeof id === 'number' ? timers.get(id) : undefined;
    if (timer) {
      session.cancel(timer.eventId);
      timers.delete(id as number);
    }
  };

  session.onEnd(() => timers.clear());

  return {
    setTimeout(callback: unknown, milliseconds?: unknown, ...args: unknown[]): number {
      return add(callback, milliseconds, args, false);
    },
    setInterval(callback: unknown, milliseconds?: unknown, ...args: unknown[]): number {
      return add(callback, milliseconds, args, true);
    },
    clearTimeout(...args: unknown[]): void {
      clear('Timeout', args);
    },
    clearInterval(...args: unknown[]): void {
      clear('Interval', args);
    },
    changeInterval(id: unknown, milliseconds: unknown): void {
      session.assertAlive();
      const timer = typeof id === 'number' ? timers.get(id) : undefined;
      if (!timer || timer.interval === null) throw realm.error('Unknown Interval');
      let interval = Number(milliseconds);
      if (!(interval >= minimumInterval)) interval = minimumInterval;
      session.cancel(timer.eventId);
      timer.interval = interval;
      timer.due = clock.now() + interval;
      arm(timer);
    },
    getTime(): number {
      return session.board.rtcMilliseconds() / 1000;
    },
    setTime(seconds: unknown): void {
      session.assertAlive();
      const value = Number(seconds);
      if (!Number.isFinite(value)) throw realm.error('setTime needs a number of seconds');
      session.board.setRtcMilliseconds(value * 1000);
    },
  };
}

/**
 * Espruino's JSON.stringify escapes every character below 0x20 or from 0x7F up as \uXXXX with upper-case hex
 * (JSON_ALL_UNICODE_ESCAPE), where V8 writes them raw (and lower-case for control characters).
 */
export function installEspruinoJson(session: EspruinoSession): void {
  session.sandbox.run(
    String.raw`(function () {
      var stringify = JSON.stringify;
      JSON.stringify = function (value, replacer, space) {
        var text = stringify(value, replacer, space);
        if (typeof text !== 'string') return text;
        return text.replace(/\\u00([0-1][0-9a-f])|[\u007f-\uffff]/g, function (match, control) {
          var code = control ? parseInt(control, 16) : match.charCodeAt(0);
          var hex = code.toString(16).toUpperCase();
          return '\\u' + '0000'.substr(hex.length) + hex;
        });
      };
    })()`,
    'espruino-json.js',
  );
}

/** Replace the sandbox's Date so that `new Date()` and `Date.now()` read the virtual board's clock. */
export function installVirtualDate(session: EspruinoSession): void {
  const install = session.sandbox.run(
    `(function (now) {
      var RealDate = Date;
      function VirtualDate(a, b, c, d, e, f, g) {
        var count = arguments.length;
        if (!(this instanceof VirtualDate)) return new RealDate(now()).toString();
        if (count === 0) return new RealDate(now());
        if (count === 1) return new RealDate(a);
        return new RealDate(a, b, count > 2 ? c : 1, count > 3 ? d : 0, count > 4 ? e : 0, count > 5 ? f : 0, count > 6 ? g : 0);
      }
      VirtualDate.prototype = RealDate.prototype;
      VirtualDate.now = function () { return now(); };
      VirtualDate.parse = RealDate.parse;
      Object.defineProperty(RealDate.prototype, 'constructor', { value: VirtualDate, writable: true, configurable: true, enumerable: false });
      globalThis.Date = VirtualDate;
    })`,
    'virtual-date.js',
  ) as (now: () => number) => void;
  install(() => session.board.rtcMilliseconds());
}
