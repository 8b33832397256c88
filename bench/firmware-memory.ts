/**
 * An estimate of the Espruino variable blocks the firmware holds, from a V8 heap snapshot of the simulator
 * running the bundle. Espruino keeps every value in fixed-size blocks (JsVars, 12-16 bytes); a function's code
 * stays in flash when the bundle runs from Storage (.bootcde), so what costs RAM is the data: objects, arrays,
 * closures and their scopes, strings, typed arrays. This walks what the firmware can reach (the global `udt`,
 * every closure created by the bundle, and what they reference) in the sandbox's realm, skipping the
 * interpreter's own objects (built-in globals, host objects of the simulator), and prices each with the block
 * model below. It is an estimate (docs/firmware.md gives the model and its error sources), not a measurement on
 * the interpreter; the simulator's own process.memory() is printed beside it.
 *
 * Usage (a child process, so the bundler's heap is not in the snapshot):
 *   tsx bench/firmware-memory.ts <board id> <bundle file> [<board storage bytes>]
 * prints one JSON line: { board, blocks, ..., simulatorUsage }.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import dgram from 'node:dgram';
import nodeCrypto from 'node:crypto';
import { encodeKeysFile } from '../firmware/application/keys-file';
import { createNodeCcmAead } from '../firmware/protocol/crypto-backends';
import { ReplayWindow, type OscoreContext } from '../firmware/protocol/oscore-context';
import { buildDownlinkResponse, receiveUplink } from '../firmware/protocol/server';
import { emptyDownlink } from '../firmware/protocol/uplink';
import { compactProfile, profileFileName, type Profile } from '../firmware/modbus/profile';
import { loadBoard } from '../hal/board-loader';
import { VirtualBoard } from '../simulator/board';
import { attachModem } from '../simulator/models/modem-attach';
import { loadProfileJson, ModbusMeterModel } from '../simulator/models/modbus-meter';
import { Sht3x as Sht3xModel } from '../simulator/models/sht3x';
import { AcSupply } from '../simulator/models/ac-supply';

/** The block model (see docs/firmware.md). */
export const blockModel = {
  /** Characters of a property name held in its own block; each further 12 characters take another block. */
  inlineNameCharacters: 4,
  /** Characters of a string value in its first block, and per extension block. */
  firstStringCharacters: 10,
  stringCharactersPerBlock: 12,
  /** A function: itself, its code reference (flash), its scope link, ~2 parameter names. */
  functionBlocks: 5,
  bytesPerBlock: 12,
};

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface MemoryEstimate {
  blocks: number;
  objects: number;
  functions: number;
  scopes: number;
  strings: number;
  numbers: number;
  typedArrayBytes: number;
  /** Blocks by what holds them. */
  byKind: Record<string, number>;
  /** Blocks by where the walk found them first: a property of the marker object, module scope, or closures. */
  byOwner: Record<string, number>;
}

/** Walk a heap snapshot from the global that has property `marker` and price what the firmware holds. */
export function estimateFromSnapshot(file: string, marker: string, builtInGlobals: string[]): MemoryEstimate {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snapshot.snapshot.meta;
  const nodeFieldCount = meta.node_fields.length;
  const edgeFieldCount = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const nodes = snapshot.nodes;
  const edgeList = snapshot.edges;
  const strings = snapshot.strings;
  const edgeCountField = meta.node_fields.indexOf('edge_count');
  const sizeField = meta.node_fields.indexOf('self_size');
  const nodeCount = nodes.length / nodeFieldCount;
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let node = 0, edge = 0; node < nodeCount; node++) {
    firstEdge[node] = edge;
    edge += nodes[node * nodeFieldCount + edgeCountField]! * edgeFieldCount;
  }
  firstEdge[nodeCount] = edgeList.length;
  const type = (node: number): string => nodeTypes[nodes[node * nodeFieldCount]!]!;
  const name = (node: number): string => strings[nodes[node * nodeFieldCount + 1]!]!;
  const selfSize = (node: number): number => nodes[node * nodeFieldCount + sizeField]!;
  interface Edge {
    type: string;
    name: string | number;
    to: number;
  }
  const edges = (node: number): Edge[] => {
    const result: Edge[] = [];
    for (let edge = firstEdge[node]!; edge < firstEdge[node + 1]!; edge += edgeFieldCount) {
      const edgeType = edgeTypes[edgeList[edge]!]!;
      const nameOrIndex = edgeList[edge + 1]!;
      result.push({ type: edgeType, name: edgeType === 'element' || edgeType === 'hidden' ? nameOrIndex : strings[nameOrIndex]!, to: edgeList[edge + 2]! / nodeFieldCount });
    }
    return result;
  };
  const edgeNamed = (node: number, edgeName: string): number | undefined => edges(node).find((edge) => edge.name === edgeName)?.to;

  // The sandbox's global (the contextified object and V8's global may be separate nodes: exclude every node that
  // holds both the marker and Serial1).
  let global = -1;
  const excluded = new Set<number>();
  for (let node = 0; node < nodeCount; node++) {
    if (type(node) !== 'object') continue;
    const own = edges(node);
    if (own.some((edge) => edge.type === 'property' && edge.name === marker) && own.some((edge) => edge.name === 'Serial1')) {
      excluded.add(node);
      if (global < 0) global = node;
    }
  }
  if (global < 0) throw new Error('no sandbox global with ' + marker + ' in the snapshot');
  for (const node of [...excluded]) {
    for (const edge of edges(node)) if (edge.type === 'property' && builtInGlobals.includes(String(edge.name))) excluded.add(edge.to);
  }
  // The bundle's top-level scope: the outermost context of the constructor of the marker object.
  const markerObject = edgeNamed(global, marker)!;
  const markerPrototype = edgeNamed(markerObject, '__proto__')!;
  const markerConstructor = edgeNamed(markerPrototype, 'constructor')!;
  // The realm's Object.prototype: where the firmware's class prototypes lead. Host (simulator) objects lead elsewhere.
  const realmObjectPrototype = edgeNamed(markerPrototype, '__proto__')!;
  let bundleScope = edgeNamed(markerConstructor, 'context')!;
  for (;;) {
    const previous = edgeNamed(bundleScope, 'previous');
    if (previous === undefined || name(previous).includes('NativeContext')) break;
    bundleScope = previous;
  }
  const builtInConstructors = ['Object', 'Array', 'Promise', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'DataView', 'ArrayBuffer', 'Error', 'Date'];
  const realmBuiltIn = new Map<number, boolean>();
  /** A prototype of the interpreter's own plain objects, arrays, typed arrays (realm built-ins, not the simulator's). */
  const isRealmPrototype = (prototype: number): boolean => {
    const known = realmBuiltIn.get(prototype);
    if (known !== undefined) return known;
    let result = prototype === realmObjectPrototype;
    if (!result) {
      const constructor = edgeNamed(prototype, 'constructor');
      if (constructor !== undefined && builtInConstructors.includes(name(constructor))) {
        let chain: number | undefined = prototype;
        for (let depth = 0; chain !== undefined && depth < 4 && !result; depth++) {
          chain = edgeNamed(chain, '__proto__');
          result = chain === realmObjectPrototype;
        }
      }
    }
    realmBuiltIn.set(prototype, result);
    return result;
  };
  const firmwareClosure = new Map<number, boolean>();
  const isFirmwareClosure = (node: number): boolean => {
    if (type(node) !== 'closure') return false;
    const known = firmwareClosure.get(node);
    if (known !== undefined) return known;
    let context = edgeNamed(node, 'context');
    let result = false;
    for (let depth = 0; context !== undefined && depth < 64; depth++) {
      if (context === bundleScope) {
        result = true;
        break;
      }
      context = edgeNamed(context, 'previous');
    }
    firmwareClosure.set(node, result);
    return result;
  };
  const isFirmwareObject = (node: number): boolean => {
    if (excluded.has(node)) return false;
    const nodeType = type(node);
    if (nodeType === 'closure') return isFirmwareClosure(node);
    if (nodeType !== 'object' && nodeType !== 'array') return false;
    if (name(node).startsWith('system /')) return false;
    const prototype = edgeNamed(node, '__proto__');
    if (prototype === undefined) return false;
    if (isRealmPrototype(prototype)) return true;
    const constructor = edgeNamed(prototype, 'constructor');
    const verdict = constructor !== undefined && isFirmwareClosure(constructor);
    return verdict;
  };

  const estimate: MemoryEstimate = { blocks: 0, objects: 0, functions: 0, scopes: 0, strings: 0, numbers: 0, typedArrayBytes: 0, byKind: {}, byOwner: {} };
  const owners = new Map<number, string>();
  let currentOwner = '';
  const add = (kind: string, blocks: number): void => {
    estimate.blocks += blocks;
    estimate.byKind[kind] = (estimate.byKind[kind] ?? 0) + blocks;
    estimate.byOwner[currentOwner] = (estimate.byOwner[currentOwner] ?? 0) + blocks;
  };
  const nameBlocks = (key: string | number): number => {
    const text = String(key);
    return 1 + Math.ceil(Math.max(0, text.length - blockModel.inlineNameCharacters) / blockModel.stringCharactersPerBlock);
  };
  const stringBlocks = (length: number): number => 1 + Math.ceil(Math.max(0, length - blockModel.firstStringCharacters) / blockModel.stringCharactersPerBlock);
  const visited = new Set<number>();
  // Breadth first from the marker (its properties name the owners of what hangs below them), then the module
  // scope, then every closure of the bundle (timer and event callbacks the interpreter holds).
  const queue: number[] = [markerObject];
  owners.set(markerObject, marker);
  for (const edge of edges(markerObject)) if (edge.type === 'property' && !owners.has(edge.to)) owners.set(edge.to, marker + '.' + String(edge.name));
  queue.push(bundleScope);
  owners.set(bundleScope, 'module scope');
  for (let node = 0; node < nodeCount; node++) {
    if (type(node) === 'closure' && isFirmwareClosure(node)) {
      queue.push(node);
      if (!owners.has(node)) owners.set(node, 'other closures');
    }
  }

  const valueBlocks = (target: number): number => {
    const targetType = type(target);
    if (targetType === 'string' || targetType === 'concatenated string' || targetType === 'sliced string') {
      estimate.strings++;
      return stringBlocks(name(target).length);
    }
    if (targetType === 'number' || targetType === 'heap number') {
      estimate.numbers++;
      return 1;
    }
    if (targetType === 'hidden' || targetType === 'code') return 0;
    if (!visited.has(target) && (isFirmwareObject(target) || (type(target) === 'object' && name(target) === 'system / Context'))) {
      queue.push(target);
      if (!owners.has(target)) owners.set(target, currentOwner);
    }
    return 0;
  };

  for (let next = 0; next < queue.length; next++) {
    const node = queue[next]!;
    if (visited.has(node)) continue;
    visited.add(node);
    currentOwner = owners.get(node) ?? '?';
    const nodeType = type(node);
    const nodeName = name(node);
    if (nodeName === 'system / Context') {
      if (name(node).includes('NativeContext')) continue;
      estimate.scopes++;
      let blocks = 1;
      for (const edge of edges(node)) {
        if (edge.type === 'context') blocks += nameBlocks(edge.name) + valueBlocks(edge.to);
        else if (edge.type === 'internal' && edge.name === 'previous' && !name(edge.to).includes('NativeContext')) valueBlocks(edge.to);
      }
      add('closure scopes', blocks);
      continue;
    }
    if (nodeType === 'closure') {
      estimate.functions++;
      let blocks = blockModel.functionBlocks;
      for (const edge of edges(node)) {
        if (edge.type === 'internal' && edge.name === 'context') valueBlocks(edge.to);
        else if (edge.type === 'property' && edge.name !== '__proto__') blocks += nameBlocks(edge.name) + valueBlocks(edge.to);
      }
      add('functions', blocks);
      continue;
    }
    estimate.objects++;
    let blocks = 1;
    const typedArray = /^(Uint8|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64)Array$|^DataView$|^ArrayBuffer$/.test(nodeName);
    for (const edge of edges(node)) {
      if (edge.type === 'property' && edge.name !== '__proto__') blocks += nameBlocks(edge.name) + valueBlocks(edge.to);
      else if (edge.type === 'element') blocks += 1 + valueBlocks(edge.to);
      else if (typedArray && edge.type === 'internal' && (edge.name === 'backing_store' || edge.name === 'buffer')) {
        if (type(edge.to) === 'native' && nodeName === 'ArrayBuffer') {
          const bytes = selfSize(edge.to);
          estimate.typedArrayBytes += bytes;
          blocks += 1 + Math.ceil(bytes / blockModel.bytesPerBlock);
        } else if (nodeName !== 'ArrayBuffer') valueBlocks(edge.to);
      }
    }
    if (typedArray) {
      const buffer = edgeNamed(node, 'buffer');
      if (buffer !== undefined && !visited.has(buffer)) queue.push(buffer);
    }
    add(typedArray ? 'typed arrays' : nodeName === 'Array' ? 'arrays' : 'objects', blocks);
  }
  return estimate;
}

/** A stand-in gateway for the measurement: verifies, acknowledges the highest reading id, answers with the time. */
function startStandInGateway(keys: OscoreContext['keys'], port: number): dgram.Socket {
  const context: OscoreContext = { keys: { ...keys, senderId: keys.recipientId, recipientId: keys.senderId, senderKey: keys.recipientKey, recipientKey: keys.senderKey }, aead: createNodeCcmAead(nodeCrypto), sequence: null, replay: new ReplayWindow() };
  const socket = dgram.createSocket('udp4');
  let highest = 0;
  socket.on('message', (message, remote) => {
    const received = receiveUplink(new Uint8Array(message), () => context);
    if (!received.ok) return;
    for (const record of received.uplink.records) if (record.baseReadingId !== undefined && record.baseReadingId > highest) highest = record.baseReadingId;
    const downlink = { ...emptyDownlink(), acknowledgedReadingId: highest, time: Math.floor(Date.parse('2026-08-01T12:00:00Z') / 1000) };
    socket.send(buildDownlinkResponse(received, downlink, false), remote.port, remote.address);
  });
  socket.bind(port, '127.0.0.1');
  return socket;
}

async function main(): Promise<void> {
  const [boardId, bundleFile, storageBytes] = process.argv.slice(2);
  if (!boardId || !bundleFile) throw new Error('usage: firmware-memory.ts <board> <bundle file> [storage bytes]');
  const definition = loadBoard(boardId);
  // A board whose Storage cannot hold the bundle is measured on a copy with more flash: the RAM figure is what it would need.
  const board = new VirtualBoard(storageBytes ? { ...definition, storage: { ...definition.storage, bytes: Number(storageBytes) } } : definition);
  const keys = { senderId: new Uint8Array([1]), recipientId: new Uint8Array(0), idContext: null, senderKey: new Uint8Array(16).fill(1), recipientKey: new Uint8Array(16).fill(2), commonIv: new Uint8Array(13).fill(3) };
  const gateway = startStandInGateway(keys, 0);
  await new Promise((resolve) => gateway.once('listening', resolve));
  const modem = attachModem(board, { udp: { route: { host: '127.0.0.1', port: gateway.address().port }, replyWaitMs: 300 } });
  new AcSupply(board, true);
  if (board.rs485Bus) new ModbusMeterModel(board.clock, board.rs485Bus, 1, loadProfileJson('eastron-sdm630'));
  if (board.i2cBus()) board.i2cBus()!.attach(new Sht3xModel(board.clock, { address: 0x45 }) as never);
  const profile = JSON.stringify(compactProfile(loadProfileJson('eastron-sdm630') as Profile));
  board.storage.write(profileFileName('eastron-sdm630'), Uint8Array.from(Buffer.from(profile, 'latin1')), 0, 0, 0);
  board.storage.write('udt.keys', encodeKeysFile(keys), 0, 0, 0);
  // The interpreter's own globals, before any firmware ran.
  board.flashFirmware('');
  board.powerOn();
  board.clock.advance(500);
  const builtInGlobals = board.evaluate('Object.getOwnPropertyNames(this)') as string[];
  board.cutPower('measure');
  board.flashFirmware(readFileSync(bundleFile, 'latin1'));
  board.powerOn();
  // Boot, the first sampling round and its uplink, back to sleep.
  const end = board.clock.now() + 20 * 60000;
  while (board.clock.now() < end) await board.clock.runWithRealIo(Math.min(end, board.clock.now() + 60000));
  const simulator = board.evaluate('JSON.stringify(process.memory())') as string;
  const exchanges = board.evaluate('udt.session ? udt.session.statistics.exchanges : 0') as number;
  const file = path.join(os.tmpdir(), `udt-firmware-${boardId}-${process.pid}.heapsnapshot`);
  v8.writeHeapSnapshot(file, { exposeNumericValues: true } as never);
  try {
    const estimate = estimateFromSnapshot(file, 'udt', builtInGlobals);
    console.log(JSON.stringify({ board: boardId, variables: definition.variables, exchanges, simulatorMemory: JSON.parse(simulator), ...estimate }));
  } finally {
    if (!process.env.UDT_KEEP_SNAPSHOT) rmSync(file, { force: true });
    modem.close();
    gateway.close();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
