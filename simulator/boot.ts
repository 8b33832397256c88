/**
 * What the Espruino interpreter does when it starts (jsinteractive.c jsiSemiInit/jsiSoftInit, jsflash.c
 * jsfLoadBootCodeFromFlash): at a hardware boot, check Storage and erase it all if it looks corrupt; run
 * .bootPowerOn (hardware boots), .boot0-.boot3, then .bootrst or .bootcde (reset() runs only .bootrst);
 * fire E's "init" event and onInit(); print the banner when no code was loaded, then the prompt.
 */
import { banner } from './espruino/console';
import { bytesToLatin1 } from './espruino/data';
import type { EspruinoEvents } from './espruino/events';
import { createGlobals } from './espruino/globals';
import type { EspruinoSession } from './espruino/session';
import type { VirtualBoard } from './board';
import type { ResetCause } from './hardware/mcu';

/** Returns true when the boot erased a corrupt Storage area. */
export function bootSession(board: VirtualBoard, session: EspruinoSession, kind: ResetCause | 'reset' | 'load', checkStorage: boolean): boolean {
  const globals = createGlobals(session);
  globals.echo = (on: unknown): void => {
    board.console.echoEnabled = !!on;
  };
  session.installGlobals(globals);
  const hardwareBoot = kind !== 'reset' && kind !== 'load';
  let erased = false;
  if (hardwareBoot && checkStorage && !board.storage.isValid()) {
    session.print('Storage is corrupt.\nErasing Storage Area...\n');
    board.storage.eraseAll();
    session.print('Erase complete.\n');
    erased = true;
  }
  const run = (name: string): boolean => {
    const code = board.storage.read(name);
    if (code === null || !session.alive) return false;
    session.evaluate(bytesToLatin1(code), name);
    session.finishEvent();
    return true;
  };
  if (hardwareBoot) run('.bootPowerOn');
  for (const index of [0, 1, 2, 3]) run(`.boot${index}`);
  let loaded = run('.bootrst');
  if (!loaded && kind !== 'reset') loaded = run('.bootcde');
  if (session.alive) (globals.E as EspruinoEvents).emitFromEventLoop('init', []);
  const onInit = session.realm.get<unknown>('onInit');
  if (session.alive && typeof onInit === 'function') {
    session.print('Running onInit()...\n');
    session.invoke(onInit, undefined, []);
  }
  if (!session.alive) return erased;
  if (!loaded && board.console.echoEnabled) session.print(banner + '\n');
  session.print('\n');
  board.console.showPrompt();
  return erased;
}
