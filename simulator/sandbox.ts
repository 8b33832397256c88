/**
 * A Node `vm` context that behaves like the Espruino interpreter's global scope, as measured in
 * ../shared/espruino.md: the built-ins Espruino lacks are gone, `Array.prototype.X` lookups give undefined,
 * and Math.pow is as imprecise as the real one. Firmware bundles run here exactly as they would on a board,
 * so a bundle that leans on something Espruino lacks fails in the simulator too.
 *
 * Syntax differences (destructuring, spread, labels...) are the build gate's job: V8 would accept them.
 */
import vm from 'node:vm';

/** Global names that do not exist on Espruino 2v29 (espruino.md, "Absent"). */
export const absentGlobals = [
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Symbol', 'Proxy', 'Reflect', 'BigInt',
  'BigInt64Array', 'BigUint64Array', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'Intl',
  'SharedArrayBuffer', 'Atomics', 'WebAssembly',
] as const;

/** Static methods missing on Espruino, as [constructor, method]. */
export const absentStatics: ReadonlyArray<readonly [string, string]> = [
  ['Promise', 'race'], ['Promise', 'allSettled'], ['Promise', 'any'],
  ['Array', 'from'], ['Array', 'of'], ['Uint8Array', 'from'], ['ArrayBuffer', 'isView'],
  ['Object', 'freeze'], ['Math', 'trunc'], ['Math', 'imul'], ['Math', 'log10'], ['Math', 'log2'], ['Math', 'clz32'],
  ['Math', 'hypot'], ['Math', 'fround'], ['Number', 'isInteger'], ['Number', 'isFinite'],
  ['Number', 'MAX_SAFE_INTEGER'], ['Date', 'UTC'], ['Error', 'captureStackTrace'],
];

/** Prototype methods missing on Espruino, as [constructor, method]. */
export const absentPrototypeMethods: ReadonlyArray<readonly [string, string]> = [['Array', 'lastIndexOf']];

export interface EspruinoSandboxOptions {
  /**
   * 'afterEvaluate' gives the context its own microtask queue, drained after every `run`/`invoke`: Promise
   * callbacks then run right after the event that resolved them, as on Espruino, even while the simulator
   * runs many virtual events inside one Node task. The default shares Node's queue.
   */
  microtaskMode?: 'afterEvaluate';
}

export interface EspruinoSandbox {
  readonly context: vm.Context;
  /** Run script text (a bundle) in the sandbox; returns the completion value. */
  run(code: string, filename?: string, timeoutMs?: number): unknown;
  /**
   * Call a function of the sandbox as the event loop does (then drain the context's microtasks when
   * microtaskMode is 'afterEvaluate'). `timeoutMs` stops a callback that never returns (a hung firmware).
   */
  invoke(fn: unknown, thisArg: unknown, args: unknown[], timeoutMs?: number): unknown;
  /** Read a global of the sandbox (e.g. a result object a test bundle left behind). */
  global(name: string): unknown;
}

/**
 * Espruino's Math.pow goes through exp/log and is off in the last digits:
 * Math.pow(2,32) === 4294967295.99999666213 and Math.pow(2,53) === 9007199254740986 on 2v29.
 * A relative error of -7.2e-16 reproduces both figures to within a few units in the last place.
 */
function espruinoPow(base: number, exponent: number): number {
  const exact = Math.pow(base, exponent);
  if (!Number.isFinite(exact) || exact === 0 || exponent === 0 || exponent === 1) return exact;
  return exact * (1 - 7.2e-16);
}

const sandboxSetup = `
(function (absentGlobals, absentStatics, absentPrototypeMethods, pow) {
  var global = this;
  absentGlobals.forEach(function (name) { delete global[name]; if (name in global) global[name] = undefined; });
  absentStatics.forEach(function (pair) { var owner = global[pair[0]]; if (owner) delete owner[pair[1]]; });
  absentPrototypeMethods.forEach(function (pair) { var owner = global[pair[0]]; if (owner) delete owner.prototype[pair[1]]; });
  var TypedArray = Object.getPrototypeOf(Uint8Array);
  if (TypedArray && TypedArray.prototype) delete TypedArray.prototype.lastIndexOf;
  // Uint8Array.from / .of are inherited from %TypedArray%; Espruino has neither on any typed array.
  if (TypedArray) { delete TypedArray.from; delete TypedArray.of; }
  // Espruino 2v29 (measured): typed arrays' slice() and filter() return plain Arrays, not typed arrays, and
  // ArrayBuffer has no slice(). Copy bytes with new Uint8Array(view.subarray(start, end)) instead.
  if (TypedArray && TypedArray.prototype) {
    var typedSlice = TypedArray.prototype.slice;
    var typedFilter = TypedArray.prototype.filter;
    var toPlain = function (typed) { var plain = []; for (var i = 0; i < typed.length; i++) plain.push(typed[i]); return plain; };
    Object.defineProperty(TypedArray.prototype, 'slice', { configurable: true, writable: true, enumerable: false,
      value: function () { return toPlain(typedSlice.apply(this, arguments)); } });
    Object.defineProperty(TypedArray.prototype, 'filter', { configurable: true, writable: true, enumerable: false,
      value: function () { return toPlain(typedFilter.apply(this, arguments)); } });
  }
  delete ArrayBuffer.prototype.slice;
  // Espruino: Array.prototype.map (and every built-in method looked up on a prototype object) is undefined,
  // while [].map works. Hide the methods behind a prototype-object lookup but keep them for instances.
  // Measured exceptions that do work on the prototype: Object.prototype.*, Number/Error.prototype.toString.
  var hideOnPrototype = function (prototype, keep) {
    var names = Object.getOwnPropertyNames(prototype).filter(function (name) {
      if (name === 'constructor' || keep.indexOf(name) >= 0) return false;
      var descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      return descriptor && typeof descriptor.value === 'function' && descriptor.configurable;
    });
    names.forEach(function (name) {
      var method = prototype[name];
      Object.defineProperty(prototype, name, {
        configurable: true,
        enumerable: false,
        get: function () { return this === prototype ? undefined : method; },
        set: function (value) { Object.defineProperty(this, name, { value: value, writable: true, configurable: true, enumerable: false }); }
      });
    });
  };
  hideOnPrototype(Array.prototype, []);
  hideOnPrototype(String.prototype, []);
  hideOnPrototype(Number.prototype, ['toString']);
  hideOnPrototype(Promise.prototype, []);
  hideOnPrototype(DataView.prototype, []);
  if (TypedArray && TypedArray.prototype) hideOnPrototype(TypedArray.prototype, []);
  Math.pow = pow;
  global.global = global;
})
`;

/**
 * Create a fresh Espruino-like context. `globals` (the virtual board's Serial1, E, require, getTime, ...)
 * are copied onto the context's global object.
 */
export function createEspruinoSandbox(globals: Record<string, unknown> = {}, options: EspruinoSandboxOptions = {}): EspruinoSandbox {
  // An ordinary global object, not a contextified host object: every global name the firmware reads (Math,
  // Uint8Array, E, Serial1...) would otherwise go through V8's interceptor, about 100 times slower.
  const context = vm.createContext(vm.constants.DONT_CONTEXTIFY, options.microtaskMode ? { microtaskMode: options.microtaskMode } : undefined);
  const setup = vm.runInContext(sandboxSetup, context, { filename: 'espruino-sandbox-setup.js' }) as (
    ...args: unknown[]
  ) => void;
  // Pass plain data built inside the context so no host-realm objects leak in.
  const toContext = (value: unknown): unknown => vm.runInContext(`(${JSON.stringify(value)})`, context);
  setup.call(
    vm.runInContext('this', context),
    toContext(absentGlobals),
    toContext(absentStatics),
    toContext(absentPrototypeMethods),
    espruinoPow,
  );
  const contextGlobal = vm.runInContext('this', context) as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) contextGlobal[name] = value;
  // With a timeout the call goes through a script, so that vm's timeout applies to it. Without one the function
  // is called directly and an empty script then drains the context's microtask queue (about half the cost).
  const callSlot = '__udtPendingCall';
  Object.defineProperty(contextGlobal, callSlot, { value: null, writable: true, enumerable: false, configurable: false });
  const callScript = new vm.Script(
    `(function (call) { ${callSlot} = null; return call.fn.apply(call.thisArg, call.args); })(${callSlot})`,
    { filename: 'espruino-event-loop.js' },
  );
  const drainScript = options.microtaskMode ? new vm.Script('undefined', { filename: 'espruino-event-loop.js' }) : null;
  return {
    context,
    run(code: string, filename = 'firmware.js', timeoutMs?: number): unknown {
      return vm.runInContext(code, context, timeoutMs ? { filename, timeout: timeoutMs } : { filename });
    },
    invoke(fn: unknown, thisArg: unknown, args: unknown[], timeoutMs?: number): unknown {
      if (!timeoutMs) {
        // As with the script: a call that throws leaves its promise jobs queued (no drain).
        const result = Reflect.apply(fn as (...values: unknown[]) => unknown, thisArg, args);
        drainScript?.runInContext(context);
        return result;
      }
      contextGlobal[callSlot] = { fn, thisArg, args };
      return callScript.runInContext(context, { timeout: timeoutMs });
    },
    global(name: string): unknown {
      return contextGlobal[name];
    },
  };
}
