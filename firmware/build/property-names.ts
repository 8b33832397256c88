/**
 * Which property names the minifier may shorten. A property name costs flash in every place it is written and
 * RAM in every object that holds it (Espruino keeps a name of up to 4 characters in the property's own block,
 * a longer one takes more), so the build renames the firmware's own property names to one or two letters
 * consistently across the bundle. A name must keep its spelling where something outside the bundle spells it:
 *
 * - the interpreter: everything hal/espruino/api.ts and protocol/crypto-backends.ts declare (Espruino's API,
 *   including the option objects it reads, such as setWatch's `edge` and Serial.setup's `parity`), and the
 *   JavaScript built-ins (terser's own list of DOM and built-in names, always reserved);
 * - stored and received data: the device configuration (config.schema.json), meter profiles (profiles/), and the
 *   board entry's schema; these objects come from JSON.parse or a downlink, so their keys are data;
 * - the tools: the CLI, the simulator's fleet, tests and benchmarks read the running terminal through console
 *   expressions such as `udt.session.statistics`: every name written after a dot (or as an object key) inside a
 *   string in those files keeps its spelling, and in the files that read a running terminal, so does every
 *   property name they access or write in an object literal (what they read from and expect of its answers).
 *
 * Names written quoted (obj["name"]) anywhere in the bundle are kept as well (terser keep_quoted).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../hal/board-loader';
import { reservedWords } from './espruino-tokens';

const interpreterFiles = ['hal/espruino/api.ts', 'firmware/protocol/crypto-backends.ts', 'firmware/virtual-modules.d.ts'];
/** TypeScript declarations of JSON data: the device configuration (with the terminal section), meter profiles. */
const dataDeclarations = ['firmware/config/types.ts', 'firmware/application/settings.ts', 'firmware/modbus/profile.ts'];
const dataSchemas = ['firmware/config/config.schema.json', 'profiles', 'hal/boards.schema.json'];
/**
 * JavaScript's own names: everything TypeScript's ES5..ES2024 library declarations name (lib.es*.d.ts), so that no
 * built-in method is renamed even where the firmware calls one that Espruino lacks on a path no test takes.
 */
const languageLibrary = /^lib\.es(5|20\d\d)(\.[a-z]+)*\.d\.ts$/;
/** Files and folders whose string literals and property accesses are the tools' view of the terminal. */
const toolRoots = ['bin', 'simulator', 'test', 'bench'];

function filesUnder(relative: string, extension: string): string[] {
  const absolute = path.join(projectRoot, relative);
  if (!statSync(absolute, { throwIfNoEntry: false })) return [];
  if (statSync(absolute).isFile()) return [absolute];
  const found: string[] = [];
  for (const entry of readdirSync(absolute, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(child, extension));
    else if (entry.name.endsWith(extension)) found.push(path.join(projectRoot, child));
  }
  return found;
}

function addJsonKeys(value: unknown, names: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) addJsonKeys(item, names);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      names.add(key);
      addJsonKeys(child, names);
    }
  } else if (typeof value === 'string') {
    // Schema "required" lists and enum values name properties too.
    if (/^[A-Za-z_$][\w$]*$/.test(value)) names.add(value);
  }
}

function addDeclaredMembers(file: string, names: Set<string>): void {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if ((ts.isPropertySignature(node) || ts.isMethodSignature(node) || ts.isPropertyAssignment(node) || ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) {
      names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

const dottedName = /\.([A-Za-z_$][\w$]*)/g;
const objectKey = /([A-Za-z_$][\w$]*)\s*:/g;
/** A tool file that reads the running terminal: console expressions naming `udt`, or evaluation on a board. */
const talksToTerminal = /\budt\.|\bevaluate(Promise)?\(|\.global\(/;

function addToolNames(file: string, names: Set<string>): void {
  const text = readFileSync(file, 'utf8');
  const readsTerminal = talksToTerminal.test(text);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      for (const match of node.text.matchAll(dottedName)) names.add(match[1]!);
      // Object literals written in console expressions reach the firmware with these keys; a bare name is a
      // global the tool reads (board.evaluate('modemTestResult'), sandbox.global('vectorResults')).
      if (readsTerminal) {
        for (const match of node.text.matchAll(objectKey)) names.add(match[1]!);
        if (/^[A-Za-z_$][\w$]*$/.test(node.text)) names.add(node.text);
      }
    } else if (readsTerminal && ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name)) {
      // What the tool reads from the terminal's answers (JSON of firmware objects).
      names.add(node.name.text);
    } else if (readsTerminal && ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) {
      // What the tool expects the answers to look like.
      names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

let cached: string[] | undefined;

/** Property names that must keep their spelling in the bundle (see the file comment). */
export function reservedPropertyNames(): string[] {
  if (cached) return cached;
  const names = new Set<string>();
  for (const file of [...interpreterFiles, ...dataDeclarations]) addDeclaredMembers(path.join(projectRoot, file), names);
  const libraryDirectory = path.dirname(require.resolve('typescript/lib/lib.es5.d.ts'));
  for (const file of readdirSync(libraryDirectory).filter((name) => languageLibrary.test(name))) addDeclaredMembers(path.join(libraryDirectory, file), names);
  // Never a generated name: Espruino's lexer reads `a.in` as the keyword `in` (then `a.in/2` starts a regex).
  for (const word of reservedWords) names.add(word);
  // The firmware's globals, and names the interpreter looks up on objects it is given.
  for (const name of ['udt', 'onInit', 'toString', 'valueOf', 'toJSON', 'prototype', 'constructor', 'length', 'name', 'message', 'stack', 'then', 'catch', 'on', 'emit', 'removeListener', 'removeAllListeners', 'buffer', 'byteOffset', 'byteLength']) names.add(name);
  for (const schema of dataSchemas) for (const file of filesUnder(schema, '.json')) addJsonKeys(JSON.parse(readFileSync(file, 'utf8')), names);
  for (const root of toolRoots) for (const file of filesUnder(root, '.ts')) addToolNames(file, names);
  cached = [...names].sort();
  return cached;
}
