/**
 * Flashing a terminal over its Espruino console: identify the board, check that everything fits, stop the
 * running program, write the firmware as boot code (.bootcde, exactly what E.setBootCode stores, written in
 * chunks with Storage.write(name, data, offset, size) as EspruinoTools does for code larger than RAM), write the
 * device files (keys, configuration, profiles), read every file back and compare its CRC-32 with the local
 * bytes, then reboot and wait for the firmware's boot line.
 *
 * Why not EspruinoTools itself (docs/technician-guide.md, "How flashing works"): its node entry point replaces
 * the process's global `require`, installs es6-shim into every built-in prototype of the process, keeps one
 * serial connection in a global singleton and fetches board information from the web unless intercepted; and it
 * has no read-back verification. The console protocol it uses is small, so udt speaks it directly.
 */
import { crc32 } from 'node:zlib';
import type { BoardDefinition } from '../../hal/board';
import { ConsoleError, type ConsoleLink } from './console-link';
import { staleConfigSlots, type DeviceFile } from './device-files';

export type FlashProblem = 'board-mismatch' | 'too-big' | 'verification' | 'no-boot' | 'write';

export class FlashError extends Error {
  constructor(
    readonly problem: FlashProblem,
    message: string,
  ) {
    super(message);
    this.name = 'FlashError';
  }
}

export interface BoardIdentity {
  board: string;
  version: string;
  storage: { totalBytes: number; freeBytes: number; fileBytes: number; fileCount: number; trashBytes: number };
  files: Array<{ name: string; bytes: number }>;
  /** The udt firmware's running version, or null when no udt firmware runs. */
  firmware: string | null;
  memory: { total: number; usage: number } | null;
}

export interface FlashRequest {
  board: BoardDefinition;
  firmware: string;
  files: DeviceFile[];
  /** Wait this long (real ms) for the firmware's boot line after the reboot; 0: do not wait. */
  bootWaitMs?: number;
  progress?: (text: string) => void;
}

export interface FileReport {
  name: string;
  what: string;
  bytes: number;
  crc32: number;
}

export interface FlashReport {
  identity: BoardIdentity;
  files: FileReport[];
  wallMs: number;
  bootLine: string | null;
}

/**
 * Bytes of one Storage.write chunk: 256 bytes are 344 base64 characters, a line of under 500 bytes, well inside
 * Espruino's input buffer (1024 bytes on the Linux build, which overflows and asserts on a longer line when
 * nothing throttles its input; measured on 2v29).
 */
const chunkBytes = 256;
/** Storage keeps a header per file (Espruino jsflash.c: 32 bytes with the name) and pads to the alignment. */
const fileOverheadBytes = 48;

export async function identifyBoard(link: ConsoleLink): Promise<BoardIdentity> {
  return link.evaluate<BoardIdentity>(
    '{board:process.env.BOARD,version:process.env.VERSION,storage:S.getStats(),' +
      'files:S.list().map(function(n){return {name:n,bytes:S.read(n).length}}),' +
      'firmware:(typeof udt=="object"&&udt&&udt.environment)?udt.environment.firmwareVersion:null,' +
      'memory:(function(m){return {total:m.total,usage:m.usage}})(process.memory())}',
    8000,
    'var S=require("Storage");',
  );
}

export function crc32Of(bytes: Uint8Array): number {
  return crc32(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)) >>> 0;
}

/** Write one Storage file in chunks (first chunk creates it at its full size), kicking the watchdog on the way. */
async function writeFile(link: ConsoleLink, name: string, bytes: Uint8Array, progress: (done: number) => void): Promise<void> {
  const quotedName = JSON.stringify(name);
  await link.evaluate('1', 5000, `E.kickWatchdog();require("Storage").erase(${quotedName});`);
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    const chunk = Buffer.from(bytes.subarray(offset, offset + chunkBytes)).toString('base64');
    const size = offset === 0 ? `,${bytes.length}` : '';
    const written = await link.evaluate<boolean>(`require("Storage").write(${quotedName},atob("${chunk}"),${offset}${size})`, 8000, 'E.kickWatchdog();');
    if (written === false) throw new FlashError('write', `Storage refused ${name} at byte ${offset} of ${bytes.length}`);
    progress(Math.min(bytes.length, offset + chunkBytes));
  }
}

/** Read a file back on the board: its length and CRC-32 (E.CRC32 over the memory-mapped file). */
async function readBack(link: ConsoleLink, name: string): Promise<{ bytes: number; crc32: number } | null> {
  const quotedName = JSON.stringify(name);
  return link.evaluate<{ bytes: number; crc32: number } | null>(`(function(f){return f===undefined?null:{bytes:f.length,crc32:E.CRC32(f)>>>0}})(require("Storage").read(${quotedName}))`, 15000, 'E.kickWatchdog();');
}

export async function flashTerminal(link: ConsoleLink, request: FlashRequest): Promise<FlashReport> {
  const started = Date.now();
  const progress = request.progress ?? (() => {});
  await link.handshake();
  const identity = await identifyBoard(link);
  const expected = request.board.espruinoBoard;
  if (identity.board !== expected) {
    throw new FlashError(
      'board-mismatch',
      `the board on ${link.port} is a ${identity.board} (Espruino ${identity.version}), but --board ${request.board.id} is a ${expected}; ` +
        `pick the board id that matches (see \`udt boards\`)`,
    );
  }
  progress(`found ${identity.board}, Espruino ${identity.version}; ${identity.firmware ? `udt firmware ${identity.firmware} running` : 'no udt firmware running'}`);

  const written: Array<{ name: string; what: string; bytes: Uint8Array }> = [
    { name: '.bootcde', what: 'firmware (boot code)', bytes: new Uint8Array(Buffer.from(request.firmware, 'latin1')) },
    ...request.files,
  ];
  const replaced = new Set([...written.map((file) => file.name), '.bootrst', ...staleConfigSlots]);
  const reclaimed = identity.files.filter((file) => replaced.has(file.name)).reduce((sum, file) => sum + file.bytes + fileOverheadBytes, 0);
  const needed = written.reduce((sum, file) => sum + file.bytes.length + fileOverheadBytes, 0);
  const available = identity.storage.freeBytes + identity.storage.trashBytes + reclaimed;
  if (needed > available) {
    throw new FlashError(
      'too-big',
      `firmware and files need ${needed} bytes of Storage, the board has ${available} bytes for them ` +
        `(${identity.storage.totalBytes} total, ${identity.storage.fileBytes - reclaimed} kept for other files); nothing was written`,
    );
  }

  // Stop the running program so it neither writes Storage nor prints while we work (reset() skips boot code).
  await link.evaluate('1', 5000, 'E.kickWatchdog();');
  link.write('\x10reset();\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await link.handshake(3000, 5);

  for (const name of ['.bootrst', ...staleConfigSlots]) await link.evaluate('1', 5000, `require("Storage").erase(${JSON.stringify(name)});`);
  const reports: FileReport[] = [];
  for (const file of written) {
    let lastShown = 0;
    await writeFile(link, file.name, file.bytes, (done) => {
      if (done === file.bytes.length || done - lastShown >= 16384) {
        lastShown = done;
        progress(`writing ${file.name} (${file.what}): ${done} of ${file.bytes.length} bytes`);
      }
    });
    reports.push({ name: file.name, what: file.what, bytes: file.bytes.length, crc32: crc32Of(file.bytes) });
  }
  for (const report of reports) {
    const stored = await readBack(link, report.name);
    if (!stored || stored.bytes !== report.bytes || stored.crc32 !== report.crc32) {
      throw new FlashError(
        'verification',
        `verification failed for ${report.name} (${report.what}): wrote ${report.bytes} bytes with CRC-32 ${hex32(report.crc32)}, ` +
          `the board holds ${stored ? `${stored.bytes} bytes with CRC-32 ${hex32(stored.crc32)}` : 'no such file'}; flash again`,
      );
    }
  }
  progress(`verified ${reports.length} files by CRC-32`);

  let bootLine: string | null = null;
  const mark = link.position();
  // A hardware reset on a board; the Linux build's E.reboot() ends the process, so there load() runs the boot code.
  link.write(identity.board === 'LINUX' ? '\x10load();\n' : '\x10E.reboot();\n');
  if ((request.bootWaitMs ?? 20000) > 0) {
    try {
      const match = await link.waitFor(/udt boot [^\r\n]*/, request.bootWaitMs ?? 20000, mark, 'boot line of the new firmware');
      bootLine = match[0];
    } catch (error) {
      if (error instanceof ConsoleError && error.problem === 'timeout') {
        throw new FlashError('no-boot', `the firmware is written and verified, but it printed no boot line after the reboot; console output:\n${link.output(mark).slice(-1500)}`);
      }
      throw error;
    }
  }
  return { identity, files: reports, wallMs: Date.now() - started, bootLine };
}

export function hex32(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}
