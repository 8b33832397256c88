/**
 * Fit the board's modem to a virtual board: the model of the boards.json modem on the modem UART's device
 * end, its power key / reset / PSM wake inputs watching the MCU's pins (asserted when the MCU drives the pin
 * to the active level; a pin the MCU does not drive is released), and its supply current reported to the
 * board's energy meter so the battery model drains by it.
 */
import type { VirtualBoard } from '../board';
import type { ControlPinDefinition } from '../../hal/board';
import type { ModemModelCore, ModemModelOptions } from './modem-core';
import { Bc66Model } from './modem-bc66';
import { Bc95gModel } from './modem-bc95g';
import { Bg96Model } from './modem-bg96';

/** The model's options; `clock` defaults to the board's (a board whose crystal drifts passes the true clock). */
export type ModemOnBoardOptions = Omit<ModemModelOptions, 'clock' | 'serial'> & { clock?: ModemModelOptions['clock'] };

function watchControl(board: VirtualBoard, definition: ControlPinDefinition | null, input: (asserted: boolean) => void): void {
  if (!definition) return;
  const activeHigh = definition.activeLevel === 'high';
  let asserted = false;
  const update = (): void => {
    const driven = board.gpio.driven(definition.pin);
    const now = driven !== null && driven === activeHigh;
    if (now === asserted) return;
    asserted = now;
    input(now);
  };
  board.gpio.onChange(definition.pin, update);
  update();
}

export function attachModem(board: VirtualBoard, options: ModemOnBoardOptions = {}): ModemModelCore {
  const definition = board.definition.modem;
  const modelOptions: ModemModelOptions = { ...options, clock: options.clock ?? board.clock, serial: board.modemLine };
  const model =
    definition.model === 'BC66' ? new Bc66Model(modelOptions) : definition.model === 'BC95-G' ? new Bc95gModel(modelOptions) : new Bg96Model(modelOptions);
  watchControl(board, definition.powerKey, (asserted) => model.setPowerKey(asserted));
  watchControl(board, definition.reset, (asserted) => model.setReset(asserted));
  watchControl(board, definition.psmWake, (asserted) => model.setPsmWake(asserted));
  const consumer = 'modem ' + definition.model;
  board.energy.setCurrent(consumer, model.current.currentMilliamps());
  model.current.onChange((milliamps) => board.energy.setCurrent(consumer, milliamps));
  return model;
}
