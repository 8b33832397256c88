import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkBoards, defaultBoardsFile, loadBoards, BoardDefinitionError } from '../../hal/board-loader';

const boardsJson = (): { boards: Record<string, Record<string, unknown>> } => JSON.parse(readFileSync(defaultBoardsFile, 'utf8'));

function problemsOf(content: unknown): string[] {
  try {
    checkBoards(content);
  } catch (error) {
    assert.ok(error instanceof BoardDefinitionError, String(error));
    return error.problems;
  }
  assert.fail('the board definitions were accepted');
}

describe('boards.json', () => {
  it('passes its JSON Schema and the pin checks', () => {
    const boards = loadBoards();
    assert.deepEqual(Object.keys(boards).sort(), ['linux', 'nucleo-l476-bc95', 'pico-bc66', 'rak5010']);
  });

  it('covers the required boards and modem models', () => {
    const boards = loadBoards();
    assert.equal(boards.rak5010!.espruinoBoard, 'RAK5010');
    assert.equal(boards.rak5010!.modem.model, 'BG96');
    assert.ok(boards.rak5010!.i2c!.onBoardDevices.length >= 3, 'RAK5010 lists its on-board I2C sensors');
    assert.equal(boards['pico-bc66']!.espruinoBoard, 'PICO_R1_3');
    assert.equal(boards['pico-bc66']!.modem.model, 'BC66');
    assert.ok(boards['pico-bc66']!.rs485);
    assert.equal(boards['nucleo-l476-bc95']!.modem.model, 'BC95-G');
    assert.ok(boards['nucleo-l476-bc95']!.rs485);
    assert.equal(boards.linux!.espruinoBoard, 'LINUX');
    assert.match(boards.linux!.modem.serial.path!, /^\/dev\//);
  });

  it('rejects a board with a missing modem UART, naming the field', () => {
    const content = boardsJson();
    delete (content.boards['pico-bc66']!.modem as Record<string, unknown>).serial;
    const problems = problemsOf(content);
    assert.ok(problems.includes('/boards/pico-bc66/modem: missing required field "serial"'), problems.join('\n'));
  });

  it('rejects an unknown modem model, naming the field and the allowed models', () => {
    const content = boardsJson();
    (content.boards.rak5010!.modem as Record<string, unknown>).model = 'SIM7000';
    const problems = problemsOf(content);
    assert.ok(
      problems.some((problem) => problem.startsWith('/boards/rak5010/modem/model: must be equal to one of the allowed values: "BC66", "BC95-G", "BG96"')),
      problems.join('\n'),
    );
  });

  it('rejects a pin the board does not have', () => {
    const content = boardsJson();
    (content.boards['pico-bc66']!.rs485 as { driverEnablePin: string }).driverEnablePin = 'C9';
    assert.deepEqual(problemsOf(content), ['/boards/pico-bc66/rs485/driverEnablePin: pin C9 does not exist on PICO_R1_3']);
  });

  it('rejects a pin used twice and a serial port used twice', () => {
    const content = boardsJson();
    const board = content.boards['nucleo-l476-bc95'] as { digitalOutputs: Array<{ pin: string }>; rs485: { serial: { port: string } } };
    board.digitalOutputs[0]!.pin = 'C12';
    board.rs485.serial.port = 'Serial1';
    const problems = problemsOf(content);
    assert.ok(problems.includes('/boards/nucleo-l476-bc95/rs485/serial/port: Serial1 is already used by modem/serial'), problems.join('\n'));
    assert.ok(problems.includes('/boards/nucleo-l476-bc95/digitalOutputs/0: pin C12 is already used by rs485/driverEnablePin'), problems.join('\n'));
  });

  it('rejects device paths outside the Linux build and unknown fields', () => {
    const content = boardsJson();
    (content.boards.rak5010!.modem as { serial: Record<string, unknown> }).serial = { port: 'Serial1', path: '/dev/ttyS0', baudRate: 115200 };
    (content.boards.rak5010 as Record<string, unknown>).colour = 'blue';
    const problems = problemsOf(content);
    assert.ok(problems.includes('/boards/rak5010: unknown field "colour"'), problems.join('\n'));
  });

  it('`udt boards` lists every board', () => {
    const output = execFileSync(process.execPath, [path.join(__dirname, '../../bin/udt.js'), 'boards'], { encoding: 'utf8' });
    for (const id of ['rak5010', 'pico-bc66', 'nucleo-l476-bc95', 'linux']) assert.match(output, new RegExp(`^${id}\\s`, 'm'));
    assert.match(output, /BG96/);
  });
});
