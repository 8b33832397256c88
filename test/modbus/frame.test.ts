import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { crc16, hasValidCrc } from '../../firmware/modbus/crc16';
import { isModbusError, type ModbusError } from '../../firmware/modbus/errors';
import { announcedLength, buildRequest, parseResponse, type ModbusRequest } from '../../firmware/modbus/frame';
import { modbusCrcBitwise } from '../../simulator/models/modbus-slave';

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

function withCrc(body: number[]): Uint8Array {
  const frame = new Uint8Array(body.length + 2);
  frame.set(body);
  const crc = modbusCrcBitwise(frame, body.length);
  frame[body.length] = crc & 0xff;
  frame[body.length + 1] = crc >> 8;
  return frame;
}

function errorOf(action: () => unknown): ModbusError {
  try {
    action();
  } catch (error) {
    assert.ok(isModbusError(error), `expected a ModbusError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ModbusError');
}

describe('Modbus CRC-16 and frames', () => {
  it('matches published CRC vectors', () => {
    // TUF-2000F manual 5.1: "01 03 00 00 00 0A C5 CD" reads REG0001..0010 of unit 1.
    assert.ok(hasValidCrc(hex('01 03 00 00 00 0A C5 CD')));
    // Modbus over Serial Line V1.02, 6.2.2 example: 02 07 -> CRC 0x1241 (sent 41 12).
    assert.equal(crc16(hex('02 07')), 0x1241);
    // CRC-16/MODBUS check value over "123456789".
    assert.equal(crc16(Uint8Array.from(Buffer.from('123456789'))), 0x4b37);
  });

  it('agrees with an independent bitwise CRC on arbitrary data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        assert.equal(crc16(data), modbusCrcBitwise(data));
      }),
    );
  });

  it('builds each request function as the spec lays it out', () => {
    assert.deepEqual(buildRequest({ unitId: 1, functionCode: 3, address: 0, quantity: 10 }), hex('01 03 00 00 00 0A C5 CD'));
    const cases: Array<[ModbusRequest, string]> = [
      [{ unitId: 17, functionCode: 1, address: 0x13, quantity: 0x25 }, '11 01 00 13 00 25'],
      [{ unitId: 17, functionCode: 2, address: 0xc4, quantity: 0x16 }, '11 02 00 C4 00 16'],
      [{ unitId: 17, functionCode: 4, address: 0x08, quantity: 1 }, '11 04 00 08 00 01'],
      [{ unitId: 17, functionCode: 5, address: 0xac, value: 1 }, '11 05 00 AC FF 00'],
      [{ unitId: 17, functionCode: 6, address: 1, value: 3 }, '11 06 00 01 00 03'],
      [{ unitId: 17, functionCode: 15, address: 0x13, values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 0] }, '11 0F 00 13 00 0A 02 CD 01'],
      [{ unitId: 17, functionCode: 16, address: 1, values: [0x000a, 0x0102] }, '11 10 00 01 00 02 04 00 0A 01 02'],
    ];
    for (const [request, body] of cases) {
      const frame = buildRequest(request);
      assert.deepEqual(frame.subarray(0, frame.length - 2), hex(body), `function ${request.functionCode}`);
      assert.ok(hasValidCrc(frame));
    }
  });

  it('refuses requests Modbus cannot express, naming the problem', () => {
    const bad: Array<[ModbusRequest, RegExp]> = [
      [{ unitId: 248, functionCode: 3, address: 0, quantity: 1 }, /unit id/],
      [{ unitId: 0, functionCode: 3, address: 0, quantity: 1 }, /broadcast/],
      [{ unitId: 1, functionCode: 3, address: 0, quantity: 126 }, /quantity must be 1..125/],
      [{ unitId: 1, functionCode: 1, address: 0, quantity: 0 }, /quantity/],
      [{ unitId: 1, functionCode: 4, address: 65535, quantity: 2 }, /passes 65535/],
      [{ unitId: 1, functionCode: 6, address: 0, value: 70000 }, /0..65535/],
      [{ unitId: 1, functionCode: 5, address: 0, value: 2 }, /0 or 1/],
      [{ unitId: 1, functionCode: 16, address: 0, values: [1, -1] }, /value 1/],
      [{ unitId: 1, functionCode: 7, address: 0 }, /unsupported function/],
      [{ unitId: 1, functionCode: 3, address: -1, quantity: 1 }, /address/],
    ];
    for (const [request, message] of bad) {
      const error = errorOf(() => buildRequest(request));
      assert.equal(error.code, 'invalid-request');
      assert.match(error.message, message);
    }
  });

  it('parses read answers and checks the write echo', () => {
    const read = { unitId: 17, functionCode: 3, address: 0x6b, quantity: 3 };
    const answer = parseResponse(read, withCrc([17, 3, 6, 0x02, 0x2b, 0, 0, 0, 0x64]));
    assert.deepEqual([...answer.registerBytes!], [0x02, 0x2b, 0, 0, 0, 0x64]);
    const coils = parseResponse({ unitId: 17, functionCode: 1, address: 0x13, quantity: 10 }, withCrc([17, 1, 2, 0xcd, 0x01]));
    assert.deepEqual(coils.bits, [1, 0, 1, 1, 0, 0, 1, 1, 1, 0]);
    const write = { unitId: 17, functionCode: 16, address: 1, values: [1, 2] };
    parseResponse(write, withCrc([17, 16, 0, 1, 0, 2]));
    assert.equal(errorOf(() => parseResponse(write, withCrc([17, 16, 0, 1, 0, 3]))).code, 'malformed');
  });

  it('classifies every bad answer precisely', () => {
    const request = { unitId: 5, functionCode: 4, address: 0x48, quantity: 2 };
    const good = withCrc([5, 4, 4, 0x43, 0x48, 0, 0]);
    assert.ok(parseResponse(request, good));
    const corrupted = Uint8Array.from(good);
    corrupted[4] ^= 1;
    assert.equal(errorOf(() => parseResponse(request, corrupted)).code, 'crc');
    assert.equal(errorOf(() => parseResponse(request, good.subarray(0, 6))).code, 'short-frame');
    assert.equal(errorOf(() => parseResponse(request, good.subarray(0, 2))).code, 'short-frame');
    const other = errorOf(() => parseResponse(request, withCrc([6, 4, 4, 0x43, 0x48, 0, 0])));
    assert.equal(other.code, 'wrong-unit');
    assert.equal(other.unitId, 5);
    assert.equal(other.address, 0x48);
    assert.equal(errorOf(() => parseResponse(request, withCrc([5, 3, 4, 0x43, 0x48, 0, 0]))).code, 'wrong-function');
    assert.equal(errorOf(() => parseResponse(request, withCrc([5, 4, 2, 0x43, 0x48]))).code, 'malformed');
    const exception = errorOf(() => parseResponse(request, withCrc([5, 0x84, 2])));
    assert.equal(exception.code, 'exception');
    assert.equal(exception.exceptionCode, 2);
    assert.match(exception.toString(), /unit 5 function 4 address 72/);
  });

  it('knows the frame length from the header as soon as it can', () => {
    const request = { unitId: 1, functionCode: 3, address: 0, quantity: 4 };
    assert.equal(announcedLength(request, hex('01'), 1), -1);
    assert.equal(announcedLength(request, hex('01 03'), 2), -1);
    assert.equal(announcedLength(request, hex('01 03 08'), 3), 13);
    assert.equal(announcedLength(request, hex('01 83'), 2), 5);
    assert.equal(announcedLength({ unitId: 1, functionCode: 6, address: 0, value: 1 }, hex('01 06'), 2), 8);
  });

  it('never throws anything but a ModbusError on random answers', () => {
    const request = { unitId: 1, functionCode: 3, address: 0, quantity: 2 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (data) => {
        try {
          parseResponse(request, data);
        } catch (error) {
          assert.ok(isModbusError(error));
        }
      }),
    );
  });
});
