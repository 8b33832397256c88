/**
 * The Espruino compatibility gate. Every firmware bundle passes through it; a violation fails the build.
 *
 * It checks the emitted JavaScript, not the TypeScript: what reaches the board is what must be ES5 and must
 * not lean on anything the interpreter lacks (../shared/espruino.md, measured on 2v29):
 * - the text parses as ECMAScript 5 (no arrow functions, classes, let/const, destructuring, spread, default or
 *   rest parameters, template literals, async, generators, `**`, optional chaining...);
 * - no labeled statement (Espruino fails on them even though ES5 has them);
 * - regular expressions use only what Espruino's RegExp engine has: no `?` quantifier (nor lazy `*?`/`+?`), no
 *   `{n,m}` counts, no `(?:`, lookaround or named groups, no flags but g and i (it silently mismatches otherwise);
 * - no reference to a global Espruino does not have (Map, Set, Symbol, ...), no call to an absent static
 *   (Array.from, Math.trunc, Object.freeze, ...), no `.lastIndexOf`, no `Math.pow` (imprecise there: it must
 *   never do integer or bit arithmetic), and no `Builtin.prototype.method` lookup (undefined on Espruino).
 */
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface GateViolation {
  /** Short name of the construct, e.g. "labeled statement", "Map", "Array.from". */
  construct: string;
  message: string;
  /** Position in the checked JavaScript (1-based line, 0-based column). */
  line: number;
  column: number;
  /** Position in the original source, when a source map could tell. */
  source?: SourceLocation;
}

export const absentGlobalNames = [
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'BigInt64Array',
  'BigUint64Array', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'Intl', 'SharedArrayBuffer',
  'Atomics', 'WebAssembly', 'FinalizationRegistry',
];

/** `Owner.member` pairs that are absent (or, for Math.pow, banned) on Espruino. */
export const absentStaticMembers: Record<string, string[]> = {
  Promise: ['race', 'allSettled', 'any'],
  Array: ['from', 'of'],
  Uint8Array: ['from', 'of'],
  Int8Array: ['from', 'of'],
  Uint16Array: ['from', 'of'],
  Int16Array: ['from', 'of'],
  Uint32Array: ['from', 'of'],
  Int32Array: ['from', 'of'],
  Float32Array: ['from', 'of'],
  Float64Array: ['from', 'of'],
  ArrayBuffer: ['isView'],
  Object: ['freeze', 'isFrozen', 'seal', 'fromEntries', 'getOwnPropertySymbols'],
  Math: ['trunc', 'imul', 'log10', 'log2', 'clz32', 'hypot', 'fround', 'cbrt', 'expm1', 'log1p', 'pow'],
  Number: ['isInteger', 'isFinite', 'isSafeInteger', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER', 'EPSILON'],
  Date: ['UTC'],
  Error: ['captureStackTrace'],
};

/** Members absent on instances whatever the object (Espruino has no array lastIndexOf). */
export const absentInstanceMembers = ['lastIndexOf'];

/** Prototype lookups measured to work on Espruino 2v29; every other `Builtin.prototype.x` is undefined there. */
const workingPrototypeMembers = ['Object.prototype.hasOwnProperty', 'Object.prototype.toString', 'Number.prototype.toString', 'Error.prototype.toString'];

const builtinConstructors = [
  'Array', 'Object', 'String', 'Number', 'Function', 'Boolean', 'Date', 'RegExp', 'Promise', 'ArrayBuffer', 'DataView',
  'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
  'Uint8ClampedArray', 'Error',
];

const hints: Record<string, string> = {
  'Math.pow': 'Math.pow is approximate on Espruino (2^32 gives 4294967295.99999666); use shifts and multiplication',
  lastIndexOf: 'arrays have no lastIndexOf on Espruino; loop backwards with indexOf-style code',
  prototype: 'built-in methods looked up on a prototype object are undefined on Espruino; use an instance instead: [].slice.call(x), "".charCodeAt.call(s, i)',
};

export type LocateFunction = (line: number, column: number) => SourceLocation | undefined;

/** Check JavaScript text; returns every violation found (empty when the code is fit for Espruino). */
export function checkEspruinoCompatibility(code: string, locate?: LocateFunction): GateViolation[] {
  const violations: GateViolation[] = [];
  const report = (construct: string, message: string, line: number, column: number): void => {
    const violation: GateViolation = { construct, message, line, column };
    const source = locate?.(line, column);
    if (source) violation.source = source;
    violations.push(violation);
  };

  let program: acorn.Program;
  try {
    program = acorn.parse(code, { ecmaVersion: 5, sourceType: 'script', locations: true });
  } catch (error) {
    const syntaxError = error as SyntaxError & { loc?: { line: number; column: number } };
    const line = syntaxError.loc?.line ?? 0;
    const column = syntaxError.loc?.column ?? 0;
    report('non-ES5 syntax', describeSyntaxError(code, syntaxError.message, line, column), line, column);
    return violations;
  }

  const declared = collectDeclaredNames(program);
  const isGlobalReference = (node: acorn.AnyNode): node is acorn.Identifier =>
    node.type === 'Identifier' && !declared.has(node.name);

  walk.ancestor(program, {
    Literal(node) {
      const regex = (node as acorn.Literal & { regex?: { pattern: string; flags: string } }).regex;
      if (!regex) return;
      const problem = unsupportedRegexFeature(regex.pattern, regex.flags);
      const at = node.loc!.start;
      if (problem) report('regular expression', `/${regex.pattern}/${regex.flags}: ${problem}`, at.line, at.column);
    },
    NewExpression(node) {
      checkRegExpConstruction(node);
    },
    CallExpression(node) {
      checkRegExpConstruction(node);
    },
    LabeledStatement(node) {
      const at = node.loc!.start;
      report('labeled statement', `labeled statement "${node.label.name}:" (labels fail on Espruino)`, at.line, at.column);
    },
    Identifier(node, _state, ancestors) {
      if (!absentGlobalNames.includes(node.name) || declared.has(node.name)) return;
      const parent = ancestors[ancestors.length - 2];
      if (parent && isPropertyName(node, parent)) return;
      const at = node.loc!.start;
      report(node.name, `${node.name} does not exist on Espruino`, at.line, at.column);
    },
    MemberExpression(node) {
      const property = memberName(node);
      if (property === undefined) return;
      const at = node.loc!.start;
      if (absentInstanceMembers.includes(property)) {
        report(property, `.${property}: ${hints[property]}`, at.line, at.column);
        return;
      }
      if (isGlobalReference(node.object)) {
        const owner = node.object.name;
        const absent = absentStaticMembers[owner];
        if (absent && absent.includes(property)) {
          const construct = `${owner}.${property}`;
          report(construct, `${construct} ${hints[construct] ?? 'does not exist on Espruino'}`, at.line, at.column);
        }
      }
      if (node.object.type === 'MemberExpression' && memberName(node.object) === 'prototype') {
        const owner = node.object.object;
        if (isGlobalReference(owner) && builtinConstructors.includes(owner.name)) {
          const construct = `${owner.name}.prototype.${property}`;
          if (!workingPrototypeMembers.includes(construct)) report(construct, `${construct}: ${hints.prototype}`, at.line, at.column);
        }
      }
    },
  });
  return violations;

  function checkRegExpConstruction(node: acorn.NewExpression | acorn.CallExpression): void {
    if (node.callee.type !== 'Identifier' || node.callee.name !== 'RegExp' || declared.has('RegExp')) return;
    const [pattern, flags] = node.arguments;
    const at = node.loc!.start;
    if (!pattern || pattern.type !== 'Literal' || typeof pattern.value !== 'string') {
      report('regular expression', 'RegExp built from a computed pattern cannot be checked for what Espruino supports; use a literal', at.line, at.column);
      return;
    }
    const flagText = flags && flags.type === 'Literal' && typeof flags.value === 'string' ? flags.value : '';
    const problem = unsupportedRegexFeature(pattern.value, flagText);
    if (problem) report('regular expression', `RegExp(${JSON.stringify(pattern.value)}): ${problem}`, at.line, at.column);
  }
}

/**
 * What Espruino 2v29's RegExp engine lacks (measured: it returns no match instead of failing), or null.
 * It has literals, ., character classes, \d \s \w, anchors, groups, alternation, * and +, and flags g and i.
 */
export function unsupportedRegexFeature(pattern: string, flags: string): string | null {
  for (const flag of flags) if (flag !== 'g' && flag !== 'i') return `flag "${flag}" is not supported by Espruino's RegExp`;
  let inClass = false;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index];
    if (character === '\\') {
      index++;
      continue;
    }
    if (inClass) {
      if (character === ']') inClass = false;
      continue;
    }
    if (character === '[') inClass = true;
    else if (character === '(' && pattern[index + 1] === '?') return 'groups like (?: (?= (?! (?< are not supported by Espruino\'s RegExp';
    else if (character === '?') return 'the ? quantifier (and lazy *? +?) is not supported by Espruino\'s RegExp: spell the alternatives out';
    else if (character === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(index))) {
      return 'counted repetition {n,m} is not supported by Espruino\'s RegExp: repeat the atom or check the length separately';
    }
  }
  return null;
}

/** Render violations as build output: one line each, naming construct and (where known) the source file and line. */
export function formatViolations(violations: GateViolation[], bundleName = 'bundle'): string {
  return violations
    .map((violation) => {
      const where = violation.source
        ? `${violation.source.file}:${violation.source.line}:${violation.source.column + 1}`
        : `${bundleName}:${violation.line}:${violation.column + 1}`;
      return `${where}: ${violation.message}`;
    })
    .join('\n');
}

export class EspruinoCompatibilityError extends Error {
  constructor(
    readonly violations: GateViolation[],
    bundleName: string,
  ) {
    super(
      `Espruino compatibility gate: ${violations.length} violation${violations.length === 1 ? '' : 's'} in ${bundleName}\n` +
        formatViolations(violations, bundleName),
    );
    this.name = 'EspruinoCompatibilityError';
  }
}

function memberName(node: acorn.MemberExpression): string | undefined {
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.computed && node.property.type === 'Literal' && typeof node.property.value === 'string') return node.property.value;
  return undefined;
}

function isPropertyName(node: acorn.Identifier, parent: acorn.AnyNode): boolean {
  if (parent.type === 'MemberExpression') return parent.property === node && !parent.computed;
  if (parent.type === 'Property') return parent.key === node && !parent.computed;
  return false;
}

function collectDeclaredNames(program: acorn.Program): Set<string> {
  const names = new Set<string>();
  const addPattern = (pattern: acorn.AnyNode | null | undefined): void => {
    if (pattern && pattern.type === 'Identifier') names.add(pattern.name);
  };
  walk.simple(program, {
    VariableDeclarator(node) {
      addPattern(node.id);
    },
    FunctionDeclaration(node) {
      addPattern(node.id);
      node.params.forEach(addPattern);
    },
    FunctionExpression(node) {
      addPattern(node.id);
      node.params.forEach(addPattern);
    },
    CatchClause(node) {
      addPattern(node.param);
    },
  });
  return names;
}

/** Name the ES2015+ construct behind an ES5 parse error where the text makes it clear. */
function describeSyntaxError(code: string, message: string, line: number, column: number): string {
  const lineText = code.split('\n')[line - 1] ?? '';
  const text = lineText.slice(column, column + 40);
  // acorn stops at the token it cannot take; for an arrow that is the "=>" after the parameter list.
  if (lineText.slice(Math.max(0, column - 1), column + 2).includes('=>')) {
    return `not ES5 (arrow function): ${message} near "${lineText.slice(Math.max(0, column - 12), column + 12).trim()}"`;
  }
  const patterns: Array<[RegExp, string]> = [
    [/^=>/, 'arrow function'],
    [/^(let|const)\b/, 'let/const declaration'],
    [/^class\b/, 'class'],
    [/^async\b/, 'async function'],
    [/^await\b/, 'await'],
    [/^\*/, 'generator or exponent operator'],
    [/^`/, 'template literal'],
    [/^\.\.\./, 'spread or rest element'],
    [/^\?\./, 'optional chaining'],
    [/^\?\?/, 'nullish coalescing'],
    [/^[[{]/, 'destructuring pattern'],
    [/^=/, 'default parameter value'],
    [/^of\b/, 'for...of loop'],
    [/^import\b|^export\b/, 'ES module syntax'],
  ];
  const construct = patterns.find(([pattern]) => pattern.test(text))?.[1];
  const excerpt = text.slice(0, 24).replace(/\s+/g, ' ');
  return `not ES5${construct ? ` (${construct})` : ''}: ${message} near "${excerpt}"`;
}

/**
 * Espruino hoists neither `var` nor function declarations (measured on 2v29): a variable is local from the moment
 * its `var` statement runs (`y = 2; var y;` assigns a global `y`; `if (false) { var x }` leaves `x` global), and a
 * function exists once its declaration has run. So that code means the same on Espruino as in JavaScript, in every
 * function and at the top level: each `var` is a statement of the function body itself (or the `var` of a `for`
 * that is), each function declaration too, and nothing at the function's own level names a variable or function
 * before its declaration (nested functions may: they run later). The build hoists with terser; this checks it.
 */
export function checkDeclarationsFirst(code: string): GateViolation[] {
  const violations: GateViolation[] = [];
  const program = acorn.parse(code, { ecmaVersion: 5, sourceType: 'script', locations: true });
  const report = (construct: string, message: string, node: acorn.AnyNode): void => {
    const at = node.loc!.start;
    violations.push({ construct, message, line: at.line, column: at.column });
  };
  const checkFunction = (body: acorn.AnyNode[], parameters: string[]): void => {
    const direct = new Set<acorn.AnyNode>();
    for (const statement of body) {
      if (statement.type === 'VariableDeclaration' || statement.type === 'FunctionDeclaration') direct.add(statement);
      if (statement.type === 'ForStatement' && statement.init && statement.init.type === 'VariableDeclaration') direct.add(statement.init);
      if (statement.type === 'ForInStatement' && statement.left.type === 'VariableDeclaration') direct.add(statement.left);
    }
    const declaredAt = new Map<string, number>();
    const nested: Array<{ body: acorn.AnyNode[]; parameters: string[] }> = [];
    const references: acorn.Identifier[] = [];
    const parameterNames = (node: acorn.Function): string[] => node.params.map((parameter) => (parameter as acorn.Identifier).name);
    const declare = (name: string, position: number): void => {
      if (!declaredAt.has(name) || declaredAt.get(name)! > position) declaredAt.set(name, position);
    };
    const visitor: walk.RecursiveVisitors<null> & { VariablePattern(node: acorn.AnyNode): void } = {
      FunctionDeclaration(node) {
        const name = node.id ? node.id.name : '';
        if (!direct.has(node)) report('function declaration in a block', `function ${name} is declared inside a block: Espruino defines it only if that block runs`, node);
        declare(name, node.start);
        nested.push({ body: (node.body as acorn.BlockStatement).body, parameters: parameterNames(node) });
      },
      FunctionExpression(node) {
        nested.push({ body: (node.body as acorn.BlockStatement).body, parameters: parameterNames(node) });
      },
      VariableDeclaration(node, state, visit) {
        if (!direct.has(node)) {
          const names = node.declarations.map((declaration) => (declaration.id as acorn.Identifier).name).join(', ');
          report('var in a block', `var ${names} is declared inside a block: on Espruino it is not local unless that block has run`, node);
        }
        for (const declaration of node.declarations) {
          declare((declaration.id as acorn.Identifier).name, node.start);
          if (declaration.init) visit(declaration.init, state);
        }
      },
      Identifier(node) {
        references.push(node);
      },
      // Assignment targets (`x = 1`) come through here.
      VariablePattern(node) {
        references.push(node as acorn.Identifier);
      },
      CatchClause(node, state, visit) {
        visit(node.body, state);
      },
    };
    for (const statement of body) walk.recursive(statement, null, visitor);
    for (const reference of references) {
      if (parameters.includes(reference.name)) continue;
      const position = declaredAt.get(reference.name);
      if (position !== undefined && reference.start < position) {
        report('used before its declaration', `${reference.name} is used before its declaration: on Espruino it is not yet local (a var) or not yet defined (a function) here`, reference);
      }
    }
    for (const inner of nested) checkFunction(inner.body, inner.parameters);
  };
  checkFunction(program.body, []);
  return violations;
}
