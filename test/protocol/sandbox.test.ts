import assert from 'node:assert/strict';
import path from 'node:path';
import vm from 'node:vm';
import { bundle } from '../../firmware/build/bundle';
import { createEspruinoSandbox } from '../../simulator/sandbox';
import { createEspruinoCrypto } from '../../simulator/espruino-crypto';
import type { VectorOutcome } from './fixtures/vectors';
import { exampleContexts, exampleDownlink, typicalReport } from './fixtures/examples';
import { bytesToHex, hexToBytes } from './fixtures/hex';
import { buildDownlinkResponse, receiveUplink } from '../../firmware/protocol/server';

describe('protocol: published vectors inside the Espruino sandbox (bundled, ES5, gate-checked)', function () {
  this.timeout(60000);
  let outcomes: VectorOutcome[] = [];
  let bundleBytes = 0;
  const printed: string[] = [];

  before(async () => {
    const result = await bundle({ entry: path.join(__dirname, 'fixtures', 'vectors-entry.ts') });
    bundleBytes = result.bytes;
    const sandbox = createEspruinoSandbox();
    const crypto = createEspruinoCrypto({
      printError: (line) => printed.push(line),
      newArrayBuffer: (length) => vm.runInContext(`new ArrayBuffer(${length})`, sandbox.context) as ArrayBuffer,
    });
    (sandbox.context as Record<string, unknown>).require = (name: string) => (name === 'crypto' ? crypto : undefined);
    sandbox.run(result.code, 'vectors-entry.js');
    outcomes = JSON.parse(sandbox.global('protocolVectorResults') as string) as VectorOutcome[];
  });

  it('runs every vector on both backends', () => {
    const sections = (backend: string) => outcomes.filter((outcome) => outcome.backend === backend).map((outcome) => outcome.section);
    // RFC 8613 C.1-C.3 (6 contexts), FIPS-197 (2), RFC 3610 #1-#6, RFC 8613 C.4-C.6 and C.7-C.8.
    assert.equal(sections('hmac').length, 6);
    assert.equal(sections('pure TypeScript AES').length, 2 + 6 + 3 + 2);
    assert.equal(sections('native crypto.AES').length, 2 + 6 + 3 + 2);
    console.log(`      bundle with codec and vectors: ${bundleBytes} bytes minified`);
  });

  const expectPass = (backend: string, match: RegExp) => () => {
    const selected = outcomes.filter((outcome) => outcome.backend === backend && match.test(outcome.section));
    assert.ok(selected.length > 0);
    for (const outcome of selected) assert.deepEqual(outcome.failures, [], `${backend}: ${outcome.section}`);
  };
  it('RFC 8613 C.1-C.3 key derivation (HKDF over the native SHA256)', expectPass('hmac', /RFC 8613 C\.[123]/));
  for (const backend of ['pure TypeScript AES', 'native crypto.AES']) {
    it(`FIPS-197 AES-128 blocks (${backend})`, expectPass(backend, /FIPS-197/));
    it(`RFC 3610 packet vectors #1-#6 (${backend})`, expectPass(backend, /RFC 3610/));
    it(`RFC 8613 C.4-C.6 request protection (${backend})`, expectPass(backend, /RFC 8613 C\.[456]/));
    it(`RFC 8613 C.7-C.8 response protection (${backend})`, expectPass(backend, /RFC 8613 C\.[78]/));
  }
  it('printed no Espruino errors', () => assert.deepEqual(printed, []));
});

describe('protocol: terminal codec bundled into the Espruino sandbox, talking to the gateway codec in Node', function () {
  this.timeout(60000);
  for (const native of [true, false]) {
    it(`exchanges uplinks and downlinks (${native ? 'native crypto.AES' : 'board without AES: pure TypeScript'})`, async () => {
      const result = await bundle({ entry: path.join(__dirname, 'fixtures', 'terminal-entry.ts') });
      console.log(`      terminal codec bundle: ${result.bytes} bytes minified`);
      const contexts = exampleContexts();
      const keys = contexts.terminal.keys;
      const sandbox = createEspruinoSandbox();
      const crypto = createEspruinoCrypto({ aes: native, newArrayBuffer: (length) => vm.runInContext(`new ArrayBuffer(${length})`, sandbox.context) as ArrayBuffer });
      const context = sandbox.context as Record<string, unknown>;
      context.require = (name: string) => (name === 'crypto' ? crypto : undefined);
      context.provisioning = JSON.stringify({
        senderId: bytesToHex(keys.senderId), recipientId: bytesToHex(keys.recipientId), senderKey: bytesToHex(keys.senderKey),
        recipientKey: bytesToHex(keys.recipientKey), commonIv: bytesToHex(keys.commonIv), storedLimit: 300,
      });
      sandbox.run(result.code, 'terminal-entry.js');
      const terminal = sandbox.global('uplinkTerminal') as { request(messageId: number, message: string): string; response(datagram: string): string };
      for (let round = 0; round < 3; round++) {
        const datagram = hexToBytes(terminal.request(0x1234 + round, JSON.stringify(typicalReport)));
        const received = receiveUplink(datagram, () => contexts.gateway);
        assert.ok(received.ok, received.ok ? '' : received.reason);
        assert.equal(received.binding.sequenceNumber, 300 + round);
        assert.equal(received.uplink.records[0].baseReadingId, 70000);
        const reply = JSON.parse(terminal.response(bytesToHex(buildDownlinkResponse(received, exampleDownlink, false))));
        assert.equal(reply.ok, true, JSON.stringify(reply));
        assert.equal(reply.downlink.acknowledgedReadingId, 70000);
        assert.equal(reply.downlink.commands[0].name, 'relay');
      }
      assert.deepEqual(JSON.parse(JSON.stringify(sandbox.global('checkpoints'))), [400]);
    });
  }
});
