/**
 * A virtual board running (no firmware), with hal/espruino created over its interpreter's global scope from
 * TypeScript: the contract tests drive the real hal code against the virtual hardware.
 */
import type { BoardDefinition } from '../../hal/board';
import { loadBoard } from '../../hal/board-loader';
import { createBoardIo, type EspruinoApi } from '../../hal/espruino/index';
import type { BoardIo } from '../../hal/interfaces';
import { VirtualBoard, type VirtualBoardOptions } from '../../simulator/board';

export interface HalRig {
  board: VirtualBoard;
  api: EspruinoApi;
  io: BoardIo;
  definition: BoardDefinition;
  /** Advance virtual time. */
  run(milliseconds: number): void;
}

export function startBoard(definition: BoardDefinition | string, options: VirtualBoardOptions = {}): VirtualBoard {
  const board = new VirtualBoard(typeof definition === 'string' ? loadBoard(definition) : definition, { bootDelayMs: 1, ...options });
  board.powerOn();
  board.clock.advance(2);
  if (!board.currentSession) throw new Error('board did not boot');
  return board;
}

/** The interpreter's global scope, as the firmware sees it. */
export function apiOf(board: VirtualBoard): EspruinoApi {
  const session = board.currentSession;
  if (!session) throw new Error('board is not running');
  return session.realm.get<EspruinoApi>('globalThis');
}

export function createRig(definition: BoardDefinition | string = 'pico-bc66', options: VirtualBoardOptions = {}): HalRig {
  const board = startBoard(definition, options);
  const api = apiOf(board);
  const io = createBoardIo(api, board.definition);
  return { board, api, io, definition: board.definition, run: (milliseconds) => board.clock.advance(milliseconds) };
}

/** Plain array of a (possibly other-realm) byte array, for assertions. */
export function bytes(data: ArrayLike<number> | null | undefined): number[] | null {
  return data ? Array.from(data) : null;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}
