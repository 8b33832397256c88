/** The I2C drivers bundled for the RAK5010 (compatibility gate) and run on the virtual board against sensor models. */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bundle } from '../../firmware/build/bundle';
import { loadBoard } from '../../hal/board-loader';
import { VirtualBoard } from '../../simulator/board';
import { Bme280 as Bme280Model } from '../../simulator/models/bme280';
import { Sht3x as Sht3xModel } from '../../simulator/models/sht3x';

describe('I2C drivers in a bundle on the virtual RAK5010', function () {
  this.timeout(120_000);

  it('pass the Espruino gate and read the SHT3x and BME280 models through hal/espruino', async () => {
    const definition = loadBoard('rak5010');
    const built = await bundle({ board: definition, entry: path.join(__dirname, 'fixtures', 'sensors-entry.ts') });
    const board = new VirtualBoard(definition);
    const bus = board.i2cBus()!;
    bus.attach(new Sht3xModel(board.clock, { address: 0x45, temperature: 24.5, humidity: 33 }) as never);
    bus.attach(new Bme280Model(board.clock, { address: 0x77, temperature: 19.5, pressure: 100500, humidity: 60 }) as never);
    board.flashFirmware(built.code);
    board.powerOn();
    board.clock.advance(5_000);
    const results = JSON.parse(board.evaluate('sensorTest.results()') as string);
    assert.ok(results.scan.includes(0x77), `scan ${JSON.stringify(results.scan)}`);
    assert.ok(Math.abs(results.sht3x.temperature - 24.5) < 0.01, JSON.stringify(results.sht3x));
    assert.ok(Math.abs(results.bme280.pressure - 100500) < 2, JSON.stringify(results.bme280));
    // No models for the on-board SHTC3/LPS22HB/OPT3001 on the virtual board yet: they must fail cleanly (NACK).
    for (const part of ['shtc3', 'lps22hb', 'opt3001']) assert.ok(results[part]?.error, `${part}: ${JSON.stringify(results[part])}`);
    console.log(`      bundle with all I2C drivers: ${built.bytes} bytes`);
  });
});
