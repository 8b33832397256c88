/**
 * hal/espruino: the HAL contracts (../interfaces.ts) over the Espruino API. `createBoardIo(global, board)` is what
 * the firmware calls at boot; the simulator's virtual board passes its own global scope, so the same code runs
 * on a board and in the simulator.
 */
import type { BoardDefinition, ControlPinDefinition } from '../board';
import type { BoardIo, DigitalInput, DigitalOutput } from '../interfaces';
import type { EspruinoApi } from './api';
import { EspruinoClock } from './clock';
import { EspruinoAnalogInput, EspruinoDigitalInput, EspruinoDigitalOutput } from './digital';
import { EspruinoI2c } from './i2c';
import { EspruinoRs485, EspruinoSerial } from './serial';
import { EspruinoStorageHal } from './storage';
import { EspruinoPower, EspruinoWatchdog } from './system';

export type { EspruinoApi } from './api';
export { EspruinoClock } from './clock';
export { EspruinoAnalogInput, EspruinoDigitalInput, EspruinoDigitalOutput } from './digital';
export { EspruinoI2c } from './i2c';
export { EspruinoRs485, EspruinoSerial, characterTimeMilliseconds } from './serial';
export { EspruinoStorageHal } from './storage';
export { EspruinoPower, EspruinoWatchdog } from './system';

/** A control output (power key, reset, PSM wake): `write(true)` asserts it at its active level; starts released. */
function controlOutput(api: EspruinoApi, definition: ControlPinDefinition | null): DigitalOutput | null {
  if (!definition) return null;
  return new EspruinoDigitalOutput(api, definition.pin, false, definition.activeLevel === 'low');
}

export function createBoardIo(api: EspruinoApi, board: BoardDefinition): BoardIo {
  const clock = new EspruinoClock(api);
  const digitalInputs: { [name: string]: DigitalInput } = {};
  for (const input of board.digitalInputs) {
    digitalInputs[input.name] = new EspruinoDigitalInput(api, clock, input.pin, { pull: input.pull || 'none' });
  }
  const digitalOutputs: { [name: string]: DigitalOutput } = {};
  for (const output of board.digitalOutputs) {
    digitalOutputs[output.name] = new EspruinoDigitalOutput(api, output.pin, !!output.initial);
  }
  const battery = board.battery;
  let batteryVoltage: (() => number) | null = null;
  if (battery) {
    const adc = new EspruinoAnalogInput(api, battery.pin);
    batteryVoltage = function (): number {
      return adc.read() * battery.referenceVolts * battery.dividerRatio;
    };
  }
  return {
    boardId: board.id,
    clock: clock,
    storage: new EspruinoStorageHal(api),
    watchdog: new EspruinoWatchdog(api),
    power: new EspruinoPower(api, board.espruinoBoard),
    modemSerial: new EspruinoSerial(api, board.modem.serial),
    modemPowerKey: controlOutput(api, board.modem.powerKey),
    modemReset: controlOutput(api, board.modem.reset),
    modemPsmWake: controlOutput(api, board.modem.psmWake),
    rs485: board.rs485 ? new EspruinoRs485(api, board.rs485) : null,
    auxiliarySerial: board.auxiliarySerial ? new EspruinoSerial(api, board.auxiliarySerial) : null,
    i2c: board.i2c ? new EspruinoI2c(api, board.i2c) : null,
    digitalInputs: digitalInputs,
    digitalOutputs: digitalOutputs,
    batteryVoltage: batteryVoltage,
    acPresent: board.acSense
      ? new EspruinoDigitalInput(api, clock, board.acSense.pin, { pull: 'none', activeLow: board.acSense.activeLevel === 'low' })
      : null,
  };
}
