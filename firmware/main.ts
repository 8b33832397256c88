/**
 * Firmware entry: the first code that runs when the board boots the bundle.
 * It turns the Espruino global scope into BoardIo for the board this bundle was built for, and reports the boot.
 * The terminal application (scheduler, journal, uplink) plugs in here as it is built.
 */
import board from 'udt:board';
import config from 'udt:config';
import { firmwareVersion } from 'udt:build';
import { createBoardIo, type EspruinoApi } from '../hal/espruino/index';

const io = createBoardIo(globalThis as unknown as EspruinoApi, board);
console.log(
  'udt boot board=' + board.id + ' version=' + firmwareVersion + ' reset=' + io.power.resetReason() +
    ' config=' + (config ? 'built-in' : 'none'),
);
