/**
 * Builds the firmware bundle: the single ES5 file that is flashed to a board (and that the simulator runs).
 *
 * TypeScript is lowered per module to ES5 (TypeScript 5.x: 7.x has no ES5 target), its helpers come from our
 * ES5-safe firmware/runtime/tslib.ts, rollup joins the modules into one script, the compatibility gate checks
 * it with source positions mapped back to the .ts files, terser minifies it for ES5, the gate checks the result
 * again, and the size is held against the board's budget.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rollup, type Plugin, type RollupLog } from 'rollup';
import { minify } from 'terser';
import ts from 'typescript';
import { tokenizer } from 'acorn';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { BoardDefinition } from '../../hal/board';
import { projectRoot } from '../../hal/board-loader';
import { checkDeclarationsFirst, checkEspruinoCompatibility, EspruinoCompatibilityError, type LocateFunction } from './gate';
import { selectDrivers, type DriverSelection, type FieldPartName } from './catalog';
import { detokenise, pretokenise } from './espruino-tokens';
import { reservedPropertyNames } from './property-names';
import { hoistBlockVariables } from './hoist';

export interface BundleOptions {
  /** The board to build for: embedded as `udt:board`, and its code budget enforced. */
  board?: BoardDefinition;
  /** A device configuration embedded as `udt:config` (the configuration used until one is written to Storage). */
  config?: unknown;
  /** Field parts to include beyond what `config` uses, for configurations sent later by downlink. */
  parts?: readonly FieldPartName[];
  /** Entry module (absolute path). Defaults to firmware/main.ts; tests bundle their own entries. */
  entry?: string;
  /** Minify with terser (default true). */
  minify?: boolean;
  /** Shorten the firmware's own property names (default true; firmware/build/property-names.ts). */
  mangleProperties?: boolean;
  /** Size limit in bytes; defaults to the board's codeBudgetBytes. */
  budgetBytes?: number;
  /** A name for messages, e.g. the board id. */
  name?: string;
}

export interface BundleModuleReport {
  /** Path relative to the project root (virtual modules keep their `udt:` name). */
  file: string;
  /** Bytes this module contributes before minification. */
  bytes: number;
}

export interface BundleResult {
  /** The minified ES5 bundle as plain JavaScript (dist/<board>/firmware.js). */
  code: string;
  /**
   * What is flashed: `code` in Espruino's pretokenised form, one character per byte (latin1). The simulator
   * and the interpreter run it as it is; its size is what the code budget holds.
   */
  image: string;
  /** Bytes of `image`, the size in Storage. */
  bytes: number;
  /** Bytes of `code`. */
  plainBytes: number;
  unminifiedBytes: number;
  budgetBytes: number | undefined;
  modules: BundleModuleReport[];
  /** What the board and configuration asked for. */
  drivers: DriverSelection;
  /** The selected drivers whose code is really in the bundle (the firmware uses them). */
  driversInside: DriverSelection['included'];
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export class BudgetExceededError extends BundleError {
  constructor(
    readonly bundleName: string,
    readonly bytes: number,
    readonly budgetBytes: number,
  ) {
    super(
      `${bundleName}: bundle is ${bytes} bytes, over its code budget of ${budgetBytes} bytes by ${bytes - budgetBytes} bytes ` +
        `(${((bytes / budgetBytes) * 100).toFixed(1)}% of budget)`,
    );
    this.name = 'BudgetExceededError';
  }
}

export const defaultEntry = path.join(projectRoot, 'firmware', 'main.ts');
const tslibReplacement = path.join(projectRoot, 'firmware', 'runtime', 'tslib.ts');
const supportedHelpers = ['__extends', '__assign', '__rest', '__spreadArray', '__makeTemplateObject'];
const unsupportedHelperConstructs: Record<string, string> = {
  __awaiter: 'async function (Espruino has no async/await: use Promises or callbacks)',
  __generator: 'generator or async function',
  __values: 'iteration over a non-array (for...of needs an array)',
  __read: 'destructuring of an iterable',
  __await: 'async iteration',
  __asyncGenerator: 'async generator',
  __classPrivateFieldGet: 'private #field (lowered through WeakMap, absent on Espruino)',
  __classPrivateFieldSet: 'private #field (lowered through WeakMap, absent on Espruino)',
  __classPrivateFieldIn: 'private #field',
  __decorate: 'decorator',
  __esDecorate: 'decorator',
};

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES5,
  module: ts.ModuleKind.ESNext,
  importHelpers: true,
  // Every file is a module, so helpers are always imported (from our ES5-safe tslib) and never inlined.
  moduleDetection: ts.ModuleDetectionKind.Force,
  sourceMap: true,
  inlineSources: false,
  removeComments: true,
  strict: true,
};

function relative(file: string): string {
  return path.isAbsolute(file) ? path.relative(projectRoot, file) : file;
}

/** Strip what the firmware never reads from the embedded board entry: it costs RAM on the board. */
function boardForFirmware(board: BoardDefinition): Partial<BoardDefinition> {
  const { pins: _pins, notes: _notes, name: _name, ...rest } = board;
  return rest;
}

function udtPlugin(options: BundleOptions, drivers: DriverSelection): Plugin {
  const virtualModules: Record<string, string> = {
    'udt:board': `export default ${JSON.stringify(options.board ? boardForFirmware(options.board) : null)};`,
    'udt:config': `export default ${JSON.stringify(options.config ?? null)};`,
    'udt:build': `export var firmwareVersion = ${JSON.stringify(readPackageVersion())};`,
    'udt:drivers': drivers.moduleSource,
  };
  return {
    name: 'udt-firmware',
    resolveId(source, importer) {
      if (source in virtualModules) return '\0' + source;
      if (source === 'tslib') return tslibReplacement;
      if (!importer) return path.resolve(source);
      if (!(source.startsWith('.') || path.isAbsolute(source))) {
        throw new BundleError(`${relative(importer)}: cannot import "${source}" into firmware: only project files under firmware/ and hal/ go into the bundle`);
      }
      const base = path.resolve(importer.startsWith('\0') ? projectRoot : path.dirname(importer), source);
      for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
        if (existsSync(candidate) && !candidate.endsWith(path.sep) && /\.(ts|json)$/.test(candidate)) return candidate;
      }
      throw new BundleError(`${relative(importer)}: cannot resolve "${source}"`);
    },
    load(id) {
      if (id.startsWith('\0')) return virtualModules[id.slice(1)];
      if (id.endsWith('.json')) return `export default ${readFileSync(id, 'utf8')};`;
      return undefined;
    },
    transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const extendsError = /class\s+\w+\s+extends\s+Error\b/.exec(code);
      if (extendsError) {
        const line = code.slice(0, extendsError.index).split('\n').length;
        throw new BundleError(`${relative(id)}:${line}: "extends Error" is not supported: on Espruino such objects are not instanceof Error; use a plain class with a name field`);
      }
      const output = ts.transpileModule(code, { compilerOptions, fileName: id });
      const helperImport = /import\s*\{([^}]*)\}\s*from\s*"tslib"/.exec(output.outputText);
      if (helperImport) {
        const helpers = helperImport[1]!.split(',').map((name) => name.trim()).filter(Boolean);
        const unsupported = helpers.filter((helper) => !supportedHelpers.includes(helper));
        if (unsupported.length > 0) {
          const constructs = unsupported.map((helper) => unsupportedHelperConstructs[helper] ?? `construct needing TypeScript helper ${helper}`);
          throw new BundleError(`${relative(id)}: not supported on Espruino: ${constructs.join('; ')}`);
        }
      }
      return { code: aliasPrototypes(output.outputText), map: output.sourceMapText ? JSON.parse(output.sourceMapText) : null };
    },
  };
}

/**
 * TypeScript writes every method as `Name.prototype.method = function ...`; the minifier cannot shorten
 * `.prototype`, which then costs 10 bytes per method (about 2.7 KB in the firmware). Each top-level class gets a
 * local alias for its prototype, declared on the line of its first method so that source lines stay where the
 * source map says they are.
 */
export function aliasPrototypes(code: string): string {
  const lines = code.split('\n');
  let className: string | null = null;
  let declared = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const classStart = /^var (\w+) = \(function \(/.exec(line);
    if (classStart) {
      className = classStart[1]!;
      declared = false;
      continue;
    }
    if (className === null) continue;
    if (/^\}\(/.test(line)) {
      className = null;
      continue;
    }
    const prefix = `    ${className}.prototype.`;
    if (!line.startsWith(prefix)) continue;
    const alias = `${className}$prototype`;
    lines[index] = (declared ? '    ' : `    var ${alias} = ${className}.prototype; `) + alias + '.' + line.slice(prefix.length);
    declared = true;
  }
  return lines.join('\n');
}

function readPackageVersion(): string {
  return (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Build a bundle; throws EspruinoCompatibilityError, BudgetExceededError or BundleError with the reason. */
export async function bundle(options: BundleOptions = {}): Promise<BundleResult> {
  const entry = options.entry ?? defaultEntry;
  const name = options.name ?? (options.board ? options.board.id : relative(entry));
  const drivers = selectDrivers(options.board, options.config, options.parts);
  let build;
  try {
    build = await rollup({
      input: entry,
      plugins: [udtPlugin(options, drivers)],
      treeshake: { moduleSideEffects: false, propertyReadSideEffects: false },
      onwarn(warning: RollupLog) {
        if (['CIRCULAR_DEPENDENCY', 'EMPTY_BUNDLE', 'MISSING_NAME_OPTION_FOR_IIFE_EXPORT'].includes(warning.code ?? '')) return;
        throw new BundleError(`${name}: ${warning.message}`);
      },
    });
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`${name}: ${(error as Error).message}`);
  }
  const { output } = await build.generate({
    format: 'iife',
    sourcemap: true,
    strict: false,
    indent: false,
    // Rollup would otherwise freeze namespace objects (Object.freeze is absent on Espruino).
    freeze: false,
    generatedCode: { preset: 'es5', symbols: false },
  });
  await build.close();
  const chunk = output[0];
  const traced = chunk.map ? new TraceMap(JSON.parse(chunk.map.toString())) : undefined;
  const locate: LocateFunction = (line, column) => {
    if (!traced) return undefined;
    const position = originalPositionFor(traced, { line, column });
    if (position.source === null || position.line === null) return undefined;
    return { file: relative(path.resolve(projectRoot, position.source)), line: position.line, column: position.column ?? 0 };
  };
  const violations = checkEspruinoCompatibility(chunk.code, locate);
  if (violations.length > 0) throw new EspruinoCompatibilityError(violations, name);

  // Espruino hoists neither `var` nor function declarations (measured on 2v29: `y = 2; var y;` assigns a global,
  // and a function is defined only when its declaration runs), so every build goes through terser with both
  // hoisted to the top of their function; --no-minify only keeps names and layout readable.
  const minifying = options.minify !== false;
  const minified = await minify(chunk.code, {
    ecma: 5,
    toplevel: true,
    compress: minifying
      ? { passes: 2, ecma: 5, unsafe_arrows: false, keep_fargs: true, hoist_vars: true, hoist_funs: true, inline: 1 }
      : { defaults: false, hoist_vars: true, hoist_funs: true },
    mangle: minifying ? { toplevel: true, properties: options.mangleProperties === false ? false : { reserved: reservedPropertyNames(), keep_quoted: true, builtins: true } } : false,
    format: { ecma: 5, ascii_only: true, comments: false, beautify: !minifying },
  });
  const code = hoistBlockVariables(minified.code ?? '');
  const minifiedViolations = [...checkEspruinoCompatibility(code), ...checkDeclarationsFirst(code)];
  if (minifiedViolations.length > 0) throw new EspruinoCompatibilityError(minifiedViolations, `${name} (${minifying ? 'minified' : 'hoisted'})`);
  const image = pretokenise(code);
  assertSameTokens(code, detokenise(image), name);
  const bytes = image.length;
  const budgetBytes = options.budgetBytes ?? options.board?.codeBudgetBytes;
  if (budgetBytes !== undefined && bytes > budgetBytes) throw new BudgetExceededError(name, bytes, budgetBytes);

  const modules = Object.entries(chunk.modules)
    .map(([id, module]) => ({ file: id.startsWith('\0') ? id.slice(1) : relative(id), bytes: module.renderedLength }))
    .filter((module) => module.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  const driversInside = drivers.included.filter((entry) => modules.some((module) => module.file === entry.file));
  return { code, image, bytes, plainBytes: Buffer.byteLength(code, 'utf8'), unminifiedBytes: Buffer.byteLength(chunk.code, 'utf8'), budgetBytes, modules, drivers, driversInside };
}

/** The pretokenised image must read back as the same program: compare the token streams. */
function assertSameTokens(code: string, roundTrip: string, name: string): void {
  const describe = (source: string): string[] => {
    const list: string[] = [];
    for (const token of tokenizer(source, { ecmaVersion: 5 })) list.push(token.type.label + ':' + String((token as { value?: unknown }).value));
    return list;
  };
  const expected = describe(code);
  const actual = describe(roundTrip);
  const mismatch = expected.findIndex((token, index) => actual[index] !== token);
  if (mismatch >= 0 || expected.length !== actual.length) {
    throw new BundleError(`${name}: the pretokenised image does not read back as the bundle (token ${mismatch}: ${expected[mismatch]} became ${actual[mismatch]})`);
  }
}
