/**
 * The small codecs under the drivers: decimal and hex text without number-to-string, quoted AT parameter
 * splitting, the 3GPP PSM timer bit strings (TS 24.008 §10.5.7.3 GPRS Timer 2, §10.5.7.4a GPRS Timer 3) and the
 * +CCLK time (TS 27.007 §8.15), including malformed input.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { decimal, fromHex, integer, isDigits, parameters, toHex } from '../../firmware/modem/text';
import { daysFromCivil, decodeActiveTime, decodePeriodicTau, encodeActiveTime, encodePeriodicTau, parseClock } from '../../firmware/modem/timers';

describe('modem text helpers', () => {
  it('writes decimals digit by digit, as V8 would for integers', () => {
    fc.assert(fc.property(fc.integer({ min: -0xffffffff, max: 0xffffffff }), (value) => decimal(value) === String(value)));
    assert.equal(decimal(0), '0');
  });

  it('round-trips hex and refuses odd lengths and non-hex characters', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => assert.deepEqual(fromHex(toHex(bytes)), bytes)));
    assert.equal(toHex(Uint8Array.from([0, 15, 16, 255])), '000F10FF');
    assert.deepEqual(fromHex('0a0B'), Uint8Array.from([10, 11]));
    assert.equal(fromHex('ABC'), null);
    assert.equal(fromHex('zz'), null);
    assert.equal(fromHex('0x'), null);
  });

  it('checks digits without RegExp (Espruino has no {n} or ? quantifiers)', () => {
    assert.equal(isDigits('0123456789'), true);
    assert.equal(isDigits(''), false);
    assert.equal(isDigits('12a'), false);
    assert.equal(isDigits('-1'), false);
    assert.equal(isDigits(' 1'), false);
  });

  it('splits parameters at commas outside quotes and parses strict integers', () => {
    assert.deepEqual(parameters('+QIURC: "recv",0,4,"3132"', '+QIURC:'), ['recv', '0', '4', '3132']);
    assert.deepEqual(parameters('+QIOPEN: 1,2,"UDP SERVICE","a,b",0', '+QIOPEN:'), ['1', '2', 'UDP SERVICE', 'a,b', '0']);
    assert.deepEqual(parameters('0,127.0.0.1,5683,4,DEADBEEF,0'), ['0', '127.0.0.1', '5683', '4', 'DEADBEEF', '0']);
    assert.equal(integer(' 42 '), 42);
    assert.equal(integer('-7'), -7);
    assert.ok(isNaN(integer('4x')));
    assert.ok(isNaN(integer('')));
    assert.ok(isNaN(integer(undefined)));
  });
});

describe('PSM timers and network time', () => {
  it('encodes T3412 and T3324 with the smallest unit that can say the value, never shorter than asked', () => {
    assert.equal(encodePeriodicTau(3 * 3600), '00010010'); // 18 x 10 min
    assert.equal(decodePeriodicTau('00100011'), 3 * 3600); // 3 x 1 h says the same
    assert.equal(decodePeriodicTau('01000011'), 30 * 3600); // 3 x 10 h
    assert.equal(encodePeriodicTau(24 * 3600), '00111000'); // 24 x 1 h
    assert.equal(encodePeriodicTau(60), '01111110'); // 30 x 2 s
    assert.equal(encodePeriodicTau(31 * 320 * 3600 + 1), null);
    assert.equal(encodeActiveTime(10), '00000101'); // 5 x 2 s
    assert.equal(encodeActiveTime(0), '00000000');
    assert.equal(encodeActiveTime(6 * 60), '00100110'); // 6 x 1 min
    assert.equal(encodeActiveTime(4 * 3600), null, 'beyond 31 decihours');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 31 * 320 * 3600 }), (seconds) => {
        const bits = encodePeriodicTau(seconds);
        assert.ok(bits);
        const decoded = decodePeriodicTau(bits)!;
        assert.ok(decoded >= seconds, bits);
      }),
    );
  });

  it('decodes deactivated and malformed timer strings as null', () => {
    assert.equal(decodePeriodicTau('11100000'), null);
    assert.equal(decodeActiveTime('11100000'), null);
    assert.equal(decodeActiveTime('0000010'), null);
    assert.equal(decodeActiveTime('0000010x'), null);
  });

  it('parses +CCLK local time with a quarter-hour zone to UTC, in every dialect spelling', () => {
    const utc = Date.parse('2026-08-01T12:00:05Z');
    assert.equal(parseClock('+CCLK:26/08/01,14:00:05+08'), utc);
    assert.equal(parseClock('+CCLK: 26/08/01,14:00:05+08'), utc);
    assert.equal(parseClock('+CCLK: "26/08/01,14:00:05+08"'), utc);
    assert.equal(parseClock('+CCLK: "26/08/01,08:30:05-14"'), utc);
    assert.equal(parseClock('+CCLK: 26/08/01,12:00:05'), utc);
    assert.equal(parseClock('+CCLK: 26/08/01,11:00:05-4'), utc, 'one-digit zone');
    assert.equal(parseClock('+CCLK: 26/13/01,12:00:05+00'), null);
    assert.equal(parseClock('+CCLK: 26/08/01 12:00:05+00'), null);
    assert.equal(parseClock('+CCLK: 26/08/01,12:0x:05+00'), null);
    assert.equal(parseClock('+CCLK: garbage'), null);
    assert.equal(parseClock('/'), null);
  });

  it('parses every well-formed time the modems can print (property, against Date)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-02T00:00:00Z'), max: new Date('2099-12-30T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: -48, max: 56 }),
        (date, quarters) => {
          const utc = Math.floor(date.getTime() / 1000) * 1000;
          const local = new Date(utc + quarters * 900000);
          const two = (value: number): string => String(value).padStart(2, '0');
          const text =
            two(local.getUTCFullYear() % 100) + '/' + two(local.getUTCMonth() + 1) + '/' + two(local.getUTCDate()) + ',' +
            two(local.getUTCHours()) + ':' + two(local.getUTCMinutes()) + ':' + two(local.getUTCSeconds()) +
            (quarters < 0 ? '-' : '+') + two(Math.abs(quarters));
          assert.equal(parseClock('+CCLK: "' + text + '"'), utc, text);
        },
      ),
    );
  });

  it('counts days like Date.UTC does (which Espruino lacks)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }), (date) => {
        const days = daysFromCivil(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
        assert.equal(days, Math.floor(date.getTime() / 86400000));
      }),
    );
  });
});
