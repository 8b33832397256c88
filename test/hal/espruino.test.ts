/**
 * The hal contract suites run against hal/espruino over the virtual Espruino board of every boards.json entry
 * that has the part in question. hal/espruino is created from TypeScript over the interpreter's global scope,
 * exactly as the bundle does with `createBoardIo(global, board)`.
 */
import { loadBoards } from '../../hal/board-loader';
import { createBoardIo } from '../../hal/espruino/index';
import { EspruinoAnalogInput, EspruinoDigitalInput, EspruinoDigitalOutput } from '../../hal/espruino/index';
import type { BoardIo } from '../../hal/interfaces';
import { apiOf, createRig } from './rig';
import { clockContract } from './contracts/clock.contract';
import { analogInputContract, digitalInputContract, digitalOutputContract } from './contracts/digital.contract';
import { i2cContract } from './contracts/i2c.contract';
import { rs485Contract } from './contracts/rs485.contract';
import { serialContract } from './contracts/serial.contract';
import { storageContract } from './contracts/storage.contract';
import { systemContract } from './contracts/system.contract';
import { EspruinoClock } from '../../hal/espruino/clock';

const boards = loadBoards();

for (const definition of Object.values(boards)) {
  const id = definition.id;

  serialContract(`hal/espruino on ${id} ${definition.modem.serial.port} (modem)`, () => {
    const rig = createRig(definition);
    return { serial: rig.io.modemSerial, far: rig.board.modemLine, run: rig.run, now: () => rig.board.clock.now() };
  });

  if (definition.rs485) {
    const rs485Definition = definition.rs485;
    rs485Contract(`hal/espruino on ${id} ${rs485Definition.serial.port} DE ${rs485Definition.driverEnablePin}`, () => {
      const rig = createRig(definition);
      return {
        rs485: rig.io.rs485!,
        bus: rig.board.rs485Bus!,
        driverEnabled: () => rig.board.gpio.read(rs485Definition.driverEnablePin),
        onDriverChange: (listener) => rig.board.gpio.onChange(rs485Definition.driverEnablePin, listener),
        run: rig.run,
        now: () => rig.board.clock.now(),
      };
    });
  }

  if (definition.i2c) {
    i2cContract(`hal/espruino on ${id} ${definition.i2c.bus}`, () => {
      const rig = createRig(definition);
      return { i2c: rig.io.i2c!, bus: rig.board.i2cBus()!, clock: rig.board.clock, run: rig.run };
    });
  }

  const inputPin = definition.digitalInputs[0]!.pin;
  digitalInputContract(`hal/espruino on ${id} ${inputPin}`, () => {
    const rig = createRig(definition);
    const clock = rig.io.clock as EspruinoClock;
    return {
      input: (debounce) => new EspruinoDigitalInput(rig.api, clock, inputPin, { pull: 'up', debounce }),
      drive: (level) => rig.board.gpio.drive(inputPin, level),
      clock,
      run: rig.run,
    };
  });

  const outputPin = definition.digitalOutputs[0]!.pin;
  digitalOutputContract(`hal/espruino on ${id} ${outputPin}`, () => {
    const rig = createRig(definition);
    return { output: (initial) => new EspruinoDigitalOutput(rig.api, outputPin, initial), pinLevel: () => rig.board.gpio.driven(outputPin) };
  });

  if (definition.battery) {
    const batteryPin = definition.battery.pin;
    analogInputContract(`hal/espruino on ${id} ${batteryPin}`, () => {
      const rig = createRig(definition);
      return {
        input: () => new EspruinoAnalogInput(rig.api, batteryPin),
        setVolts: (volts) => rig.board.gpio.setVoltage(batteryPin, volts),
        referenceVolts: rig.board.gpio.adcReference,
      };
    });
  }

  storageContract(`hal/espruino on ${id} (${definition.storage.bytes} bytes, ${definition.storage.pageSize}-byte pages)`, () => {
    const rig = createRig(definition);
    return {
      storage: rig.io.storage,
      capacityBytes: definition.storage.bytes,
      reboot: () => {
        rig.board.reset('pin');
        rig.run(10);
        return createBoardIo(apiOf(rig.board), definition).storage;
      },
    };
  });

  clockContract(`hal/espruino on ${id}`, () => {
    const rig = createRig(definition);
    return { clock: rig.io.clock, run: rig.run };
  });

  if (definition.espruinoBoard !== 'LINUX') {
    systemContract(`hal/espruino on ${id} (${definition.espruinoBoard})`, () => {
      const rig = createRig(definition);
      let generation = rig.board.counters.boots;
      let io: BoardIo = rig.io;
      return {
        io: rig.io,
        run: rig.run,
        current: () => {
          if (rig.board.counters.boots !== generation) {
            generation = rig.board.counters.boots;
            io = createBoardIo(apiOf(rig.board), definition);
          }
          return io;
        },
        resets: () => rig.board.counters.watchdogResets + rig.board.counters.softwareResets,
        sleepFractions: () => {
          const times = rig.board.energy.report().mcu;
          const total = times.active + times.sleep + times.deepSleep;
          return { asleep: (times.sleep + times.deepSleep) / total, deep: times.deepSleep / total };
        },
        deepSleepWithUart: !rig.board.mcu.sleepsDeeplyByItself,
      };
    });
  }
}
