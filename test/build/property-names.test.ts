/**
 * Property names in the bundle (firmware/build/property-names.ts): the firmware's own names are shortened, the
 * names the interpreter, stored data and the tools spell are kept, and no shortened name is a word Espruino's
 * lexer takes for a keyword.
 */
import assert from 'node:assert/strict';
import { tokenizer } from 'acorn';
import { bundle } from '../../firmware/build/bundle';
import { reservedWords } from '../../firmware/build/espruino-tokens';
import { reservedPropertyNames } from '../../firmware/build/property-names';
import { loadBoard } from '../../hal/board-loader';

describe('property names in the firmware bundle', function () {
  this.timeout(120000);
  const reserved = new Set(reservedPropertyNames());
  const privateNames = [['skip', 'LineFeed'], ['raw', 'Remaining'], ['segment', 'Count'], ['lastLine', 'Activity']].map((parts) => parts.join(''));

  it('keeps what the interpreter, stored data and the tools spell', () => {
    // Espruino API and the option objects it reads; the configuration and the profiles; JavaScript built-ins;
    // the console view the tools read; Espruino's reserved words.
    for (const name of ['setWatch', 'edge', 'debounce', 'parity', 'readFrom', 'unitId', 'modbus', 'sampleInterval', 'points', 'subarray', 'then', 'udt', 'session', 'statistics', 'in', 'do', 'of']) {
      assert.ok(reserved.has(name), name);
    }
    // Written in pieces: a whole name in a string of a file under test/ would keep it (that is the rule under test).
    for (const name of privateNames) assert.ok(!reserved.has(name), name);
  });

  it('shortens the firmware\'s own names and never writes a keyword as a property', async () => {
    const config = { modbus: { devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 1, interval: 900000 }] }, pulseInputs: [{ name: 'water', input: 'pulse1', unitPerPulse: 10, unit: 'l' }] };
    const shortened = await bundle({ board: loadBoard('nucleo-l476-bc95'), config, budgetBytes: 1 << 22 });
    const kept = await bundle({ board: loadBoard('nucleo-l476-bc95'), config, budgetBytes: 1 << 22, mangleProperties: false });
    for (const name of privateNames.slice(0, 3)) {
      assert.ok(!shortened.code.includes(name), name);
      assert.ok(kept.code.includes(name), name);
    }
    assert.match(shortened.code, /unitId/);
    assert.ok(shortened.bytes < kept.bytes * 0.95, `${shortened.bytes} of ${kept.bytes} bytes`);
    const keywords = new Set(reservedWords);
    let previous = '';
    for (const token of tokenizer(shortened.code, { ecmaVersion: 5 })) {
      const text = shortened.code.slice(token.start, token.end);
      if (previous === '.') assert.ok(!keywords.has(text), `property .${text} is an Espruino keyword`);
      previous = token.type.label === '.' ? '.' : text;
    }
    console.log(`      ${kept.bytes} -> ${shortened.bytes} bytes in Storage with property names shortened`);
  });
});
