/**
 * Acceptance: the firmware bundle, running in the virtual Espruino board, polls an SDM630 model and a water
 * meter model on the board's RS485 bus and reads exactly the values set in the models; fault slaves on the same
 * bus are counted and reported while the meters keep their schedule.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { compactProfile, profileFileName, type Profile } from '../../firmware/modbus/profile';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { loadProfileJson, ModbusMeterModel } from '../../simulator/models/modbus-meter';
import { ModbusSlaveModel, type SlaveFault } from '../../simulator/models/modbus-slave';
import { fillMeter } from '../support/meter-values';

const entry = path.join(__dirname, 'fixtures', 'field-entry.ts');
/** The fixture carries every field part plus test hooks; the application will bundle only what its config uses. */
export const fixtureBudget = 60_000;

export function installProfiles(board: VirtualBoard, ids: string[]): void {
  for (const id of ids) {
    const text = JSON.stringify(compactProfile(loadProfileJson(id) as Profile));
    board.storage.write(profileFileName(id), Uint8Array.from(Buffer.from(text, 'latin1')), 0, 0, 0);
  }
}

describe('field interfaces in the firmware bundle on the virtual board: Modbus', function () {
  this.timeout(120_000);

  it('reads exactly the values set in an SDM630 and a water meter (every point type, both word orders)', async () => {
    const config = {
      version: 1,
      modbus: {
        bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 2 },
        devices: [
          { name: 'energy', profile: 'eastron-sdm630', unitId: 1, interval: 30_000 },
          { name: 'water', profile: 'tuf2000-water', unitId: 2, interval: 60_000 },
        ],
      },
    };
    const built = await bundle({ board: loadBoard('rak5010'), entry, config, budgetBytes: fixtureBudget });
    const board = new VirtualBoard(loadBoard('rak5010'));
    const sdm630 = new ModbusMeterModel(board.clock, board.rs485Bus!, 1, loadProfileJson('eastron-sdm630'));
    const water = new ModbusMeterModel(board.clock, board.rs485Bus!, 2, loadProfileJson('tuf2000-water'));
    const expected = { energy: fillMeter(sdm630), water: fillMeter(water) };
    installProfiles(board, ['eastron-sdm630', 'tuf2000-water']);
    board.flashFirmware(built.code);
    board.powerOn();
    board.clock.advance(5_000);
    assert.match(board.consoleOutput(), /field ready/);
    for (const device of ['energy', 'water'] as const) {
      const readings = JSON.parse(board.evaluate(`fieldTest.readings(${JSON.stringify(device)})`) as string) as Record<string, number>;
      assert.equal(Object.keys(readings).length, expected[device].size, `${device}: all points`);
      for (const [point, value] of expected[device]) assert.equal(readings[point], value, `${device}.${point}`);
    }
    // New values in the meters show up at the next poll.
    sdm630.set('import_energy', Math.fround(12345.5));
    water.set('positive_total', 987654);
    board.clock.advance(60_000);
    assert.equal(JSON.parse(board.evaluate('fieldTest.readings("energy")') as string).import_energy, 12345.5);
    assert.equal(JSON.parse(board.evaluate('fieldTest.readings("water")') as string).positive_total, 987654);
    const status = JSON.parse(board.evaluate('fieldTest.status()') as string);
    assert.deepEqual(status.problems, []);
    const polls = JSON.parse(board.evaluate('fieldTest.polls()') as string).polls.energy.length;
    console.log(`      bundle ${built.bytes} bytes; SDM630 (${sdm630.profile.points.length} points) read in ${sdm630.requests.length / polls} requests per poll`);
  });

  it('counts and reports each fault slave while the meters stay on schedule', async () => {
    const faults: Array<[string, SlaveFault, string]> = [
      ['silent', { kind: 'no-answer' }, 'timeout'],
      ['badcrc', { kind: 'bad-crc' }, 'crc'],
      ['wrongunit', { kind: 'wrong-unit', answerAs: 77 }, 'wrong-unit'],
      ['exception', { kind: 'exception', exceptionCode: 2 }, 'exception'],
      ['short', { kind: 'short-frame', keepBytes: 4 }, 'short-frame'],
      ['slow', { kind: 'slow', delay: 800 }, 'timeout'],
    ];
    const config = {
      version: 1,
      modbus: {
        bus: { baudRate: 9600, parity: 'none', stopBits: 1, responseTimeout: 300, retries: 1, offlineAfter: 3 },
        devices: [
          { name: 'energy', profile: 'eastron-sdm630', unitId: 1, interval: 20_000, points: ['voltage_l1', 'current_l1', 'total_power', 'import_energy', 'serial_number'] },
          { name: 'water', profile: 'tuf2000-water', unitId: 2, interval: 20_000 },
          ...faults.map(([name], index) => ({ name, profile: 'generic', unitId: 10 + index, interval: 20_000, points: ['holding_0'], offlineInterval: 120_000 })),
        ],
      },
    };
    const built = await bundle({ board: loadBoard('rak5010'), entry, config, budgetBytes: fixtureBudget });
    const board = new VirtualBoard(loadBoard('rak5010'));
    const sdm630 = new ModbusMeterModel(board.clock, board.rs485Bus!, 1, loadProfileJson('eastron-sdm630'));
    const water = new ModbusMeterModel(board.clock, board.rs485Bus!, 2, loadProfileJson('tuf2000-water'));
    fillMeter(sdm630);
    const waterValues = fillMeter(water);
    faults.forEach(([name, fault], index) => {
      const slave = new ModbusSlaveModel(board.clock, board.rs485Bus!, 10 + index, name);
      slave.fault = fault;
    });
    installProfiles(board, ['eastron-sdm630', 'tuf2000-water', 'generic']);
    board.flashFirmware(built.code);
    board.powerOn();
    const minutes = 10;
    board.clock.advance(minutes * 60_000 + 1_000);
    const { polls, errors } = JSON.parse(board.evaluate('fieldTest.polls()') as string) as { polls: Record<string, number[]>; errors: Record<string, string[]> };
    const status = JSON.parse(board.evaluate('fieldTest.status()') as string);
    for (const meter of ['energy', 'water']) {
      assert.equal(polls[meter]!.length, minutes * 3 + 1, `${meter} polled every 20 s`);
      polls[meter]!.forEach((time, index) => assert.ok(Math.abs(time - (polls[meter]![0]! + index * 20_000)) < 100, `${meter} poll ${index} started on time`));
    }
    const readings = JSON.parse(board.evaluate('fieldTest.readings("water")') as string) as Record<string, number>;
    for (const [point, value] of waterValues) assert.equal(readings[point], value);
    for (const [name, , code] of faults) {
      assert.ok(errors[name]!.length > 0 && errors[name]!.every((reported) => reported === code), `${name}: ${errors[name]!.join(',')}`);
    }
    const slaves = new Map<number, Record<string, number | boolean>>(status.slaves.map((entry: Record<string, number | boolean>) => [entry.unitId, entry]));
    assert.ok((slaves.get(10)!.timeouts as number) > 0);
    assert.ok((slaves.get(11)!.crcErrors as number) > 0);
    assert.ok((slaves.get(12)!.wrongUnit as number) > 0);
    assert.ok((slaves.get(13)!.exceptions as number) > 0);
    assert.ok((slaves.get(14)!.shortFrames as number) > 0);
    assert.ok((slaves.get(15)!.timeouts as number) > 0);
    assert.equal(slaves.get(10)!.online, false);
    const meterErrors = (errors.energy ?? []).length + (errors.water ?? []).length;
    console.log(`      meters: ${polls.energy!.length + polls.water!.length} polls, ${meterErrors} with an error (collisions with late answers: ${board.rs485Bus!.collisions})`);
  });
});
