/**
 * Firmware entry: the first code that runs when the board boots the bundle. It turns the Espruino global scope
 * into BoardIo for the board this bundle was built for and starts the terminal application
 * (firmware/application/terminal.ts). `udt` in the global scope is the running terminal, for the console.
 */
import board from 'udt:board';
import config from 'udt:config';
import { firmwareVersion } from 'udt:build';
import { fieldParts, modemDriver, sensorDrivers, softwareBlockCipher } from 'udt:drivers';
import { createBoardIo, type EspruinoApi } from '../hal/espruino/index';
import { Terminal } from './application/terminal';
import { createEspruinoBlockCipher, type EspruinoCryptoModule } from './protocol/crypto-backends';

const scope = globalThis as unknown as EspruinoApi & { udt?: Terminal; require(name: string): unknown };
const io = createBoardIo(scope, board);
let crypto: EspruinoCryptoModule | null = null;
if (board.nativeCrypto.aes) {
  try {
    crypto = scope.require('crypto') as EspruinoCryptoModule;
  } catch (error) {
    crypto = null;
  }
}
const terminal = new Terminal({
  io: io,
  board: board,
  builtInConfig: config,
  firmwareVersion: firmwareVersion,
  modemDriver: modemDriver,
  sensorDrivers: sensorDrivers,
  fieldParts: fieldParts,
  // The interpreter's AES where the board has it, else AES in JavaScript (built in only for such boards).
  blockCipher: crypto ? createEspruinoBlockCipher(crypto) : softwareBlockCipher ? softwareBlockCipher() : null,
  log: function (text) {
    console.log(text);
  },
});
scope.udt = terminal;
console.log('udt boot board=' + board.id + ' version=' + firmwareVersion + ' reset=' + io.power.resetReason() + ' boot=' + terminal.bootCount + ' config=' + terminal.configRevision());
terminal.start();
