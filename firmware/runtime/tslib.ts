/**
 * ES5-safe replacements for the TypeScript helpers the firmware build lets TypeScript emit
 * (the build resolves `import ... from "tslib"` here). tslib's own versions look methods up on prototype
 * objects (`Array.prototype.slice.call`, `Object.prototype.hasOwnProperty.call`), which are undefined on
 * Espruino, and some reach for Symbol. Helpers for async functions, generators, iterator protocols and
 * private fields are deliberately missing: the build names the construct instead.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, prefer-rest-params -- helpers mirror tslib: untyped, ES5 `arguments` */
const hasOwn = {}.hasOwnProperty;
const arraySlice = [].slice;

export function __extends(derived: any, base: any): void {
  if (typeof base !== 'function' && base !== null) {
    throw new TypeError('Class extends value ' + String(base) + ' is not a constructor or null');
  }
  for (const key in base) if (hasOwn.call(base, key)) derived[key] = base[key];
  function Prototype(this: any): void {
    this.constructor = derived;
  }
  derived.prototype = base === null ? Object.create(base) : ((Prototype.prototype = base.prototype), new (Prototype as any)());
}

export const __assign: (target: any, ...sources: any[]) => any = function (target: any): any {
  for (let index = 1; index < arguments.length; index++) {
    const source = arguments[index];
    for (const key in source) if (hasOwn.call(source, key)) target[key] = source[key];
  }
  return target;
};

export function __rest(source: any, excluded: string[]): any {
  const result: any = {};
  for (const key in source) {
    if (hasOwn.call(source, key) && excluded.indexOf(key) < 0) result[key] = source[key];
  }
  return result;
}

export function __spreadArray(to: any[], from: any, pack?: boolean): any[] {
  const items = pack || arguments.length === 2 ? arraySlice.call(from) : from;
  for (let index = 0; index < items.length; index++) to.push(items[index]);
  return to;
}

export function __makeTemplateObject(cooked: string[], raw: string[]): string[] {
  (cooked as any).raw = raw;
  return cooked;
}
