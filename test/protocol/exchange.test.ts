import assert from 'node:assert/strict';
import { buildUplinkRequest, readUplinkResponse } from '../../firmware/protocol/client';
import { CoapCode, decodeCoap, encodeCoap } from '../../firmware/protocol/coap';
import { OscoreContext, ReplayWindow, SenderSequence } from '../../firmware/protocol/oscore-context';
import { protectRequest } from '../../firmware/protocol/oscore';
import { buildDownlinkResponse, buildProtectedErrorResponse, buildRejectionResponse, receiveUplink } from '../../firmware/protocol/server';
import { UplinkMessage } from '../../firmware/protocol/uplink';
import { exampleContexts, exampleDownlink, typicalReport } from './fixtures/examples';
import { bytesToHex } from './fixtures/hex';
import { cryptoBackends } from './support';

function withAead(context: OscoreContext, index: number): OscoreContext {
  return { ...context, aead: cryptoBackends()[index].aead };
}

describe('protocol: uplink exchange between terminal and gateway', () => {
  for (const [index, backend] of cryptoBackends().entries()) {
    it(`delivers readings and returns the downlink (${backend.name})`, () => {
      const contexts = exampleContexts();
      const terminal = withAead(contexts.terminal, index);
      const gateway = withAead(contexts.gateway, 3 - index);
      const request = buildUplinkRequest(terminal, 0x1234, typicalReport);
      const received = receiveUplink(request.datagram, () => gateway);
      assert.ok(received.ok, received.ok ? '' : received.reason);
      assert.equal(received.binding.sequenceNumber, 300);
      assert.equal(received.uplink.records[0].baseReadingId, 70000);
      for (const ownPartialIv of [false, true]) {
        if (ownPartialIv) gateway.sequence = new SenderSequence(0, 10, () => true);
        const response = buildDownlinkResponse(received, exampleDownlink, ownPartialIv);
        const result = readUplinkResponse(terminal, request, response);
        assert.ok(result.ok, result.ok ? '' : result.reason);
        assert.equal(result.downlink.acknowledgedReadingId, 70000);
        assert.deepEqual(result.downlink.commands.map((command) => [command.id, command.name]), [[5, 'relay']]);
        assert.equal(result.downlink.time, 1767225601);
      }
    });
  }

  it('prints the size of a typical meter report (4 values + battery + signal): at most 64 bytes', () => {
    const contexts = exampleContexts();
    const size = (message: UplinkMessage, sequence: number): number => {
      const terminal = { ...contexts.terminal, sequence: new SenderSequence(sequence, 100, () => true) };
      return buildUplinkRequest(terminal, 1, message).datagram.length;
    };
    const typical = size(typicalReport, 300);
    const fresh = size({ readings: [{ ...typicalReport.readings[0], time: 0 }], commandResults: [] }, 300);
    const allFloat32 = size({ readings: [{ ...typicalReport.readings[0], values: [Math.fround(12345.67), Math.fround(230.4), Math.fround(4.82), Math.fround(1107.3), 3600, -87] }], commandResults: [] }, 300);
    const later = size(typicalReport, 70000);
    console.log(`      typical meter report: ${typical} bytes on the wire (CoAP + OSCORE + SenML-CBOR; absolute time, reading id 70000, sequence number 300)`);
    console.log(`      same, time given as "now" (no base time): ${fresh} bytes; all four values float32: ${allFloat32} bytes; sequence number 70000 (3-byte Partial IV): ${later} bytes`);
    assert.ok(typical <= 64, `typical report is ${typical} bytes`);
    assert.ok(fresh <= 64);
  });

  it('survives a terminal reboot: sequence numbers resume above the checkpoint and the gateway accepts them', () => {
    const contexts = exampleContexts();
    let flash = 300;
    const persist = (limit: number): boolean => ((flash = limit), true);
    let terminal: OscoreContext = { ...contexts.terminal, sequence: new SenderSequence(flash, 100, persist) };
    const seen: number[] = [];
    for (let index = 0; index < 5; index++) {
      const request = buildUplinkRequest(terminal, index, typicalReport);
      const received = receiveUplink(request.datagram, () => contexts.gateway);
      assert.ok(received.ok);
      seen.push(received.binding.sequenceNumber);
    }
    terminal = { ...contexts.terminal, sequence: new SenderSequence(flash, 100, persist) }; // power cut and reboot
    const after = receiveUplink(buildUplinkRequest(terminal, 9, typicalReport).datagram, () => contexts.gateway);
    assert.ok(after.ok);
    assert.deepEqual(seen, [300, 301, 302, 303, 304]);
    assert.equal(after.binding.sequenceNumber, 400);
  });

  it('refuses to send when the checkpoint cannot be stored', () => {
    const contexts = exampleContexts();
    const terminal = { ...contexts.terminal, sequence: new SenderSequence(300, 100, () => false) };
    assert.throws(() => buildUplinkRequest(terminal, 1, typicalReport), (error: unknown) => (error as { code?: string }).code === 'persist-failed');
  });

  it('answers a replay with an unprotected 4.01 that the terminal reports as a security error', () => {
    const contexts = exampleContexts();
    const request = buildUplinkRequest(contexts.terminal, 0x1234, typicalReport);
    assert.ok(receiveUplink(request.datagram, () => contexts.gateway).ok);
    const replay = receiveUplink(request.datagram, () => contexts.gateway);
    assert.ok(!replay.ok && replay.reason === 'replay');
    const response = buildRejectionResponse(replay, false);
    assert.ok(response);
    const decoded = decodeCoap(response);
    assert.equal(decoded.code, CoapCode.Unauthorized);
    assert.equal(decoded.payload.length, 0, 'no diagnostic text: an unauthenticated reply must not amplify');
    assert.ok(response.length <= request.datagram.length, `reply ${response.length} bytes, request ${request.datagram.length}`);
    const result = readUplinkResponse(contexts.terminal, request, response);
    assert.ok(!result.ok && result.reason === 'security-error' && result.code === CoapCode.Unauthorized);
  });

  it('answers an unknown kid with a bare 4.01 and a ping with a Reset', () => {
    const contexts = exampleContexts();
    const request = buildUplinkRequest(contexts.terminal, 0x1234, typicalReport);
    const unknown = receiveUplink(request.datagram, () => null);
    assert.ok(!unknown.ok && unknown.reason === 'unknown-kid');
    assert.equal(decodeCoap(buildRejectionResponse(unknown, false) as Uint8Array).payload.length, 0);
    const ping = receiveUplink(new Uint8Array([0x40, 0x00, 0x12, 0x34]), () => null);
    assert.ok(!ping.ok && ping.reason === 'ping');
    assert.equal(bytesToHex(buildRejectionResponse(ping, false) as Uint8Array), '70001234');
    const acknowledgement = receiveUplink(new Uint8Array([0x60, 0x00, 0x12, 0x34]), () => null);
    assert.ok(!acknowledgement.ok && acknowledgement.reason === 'not-request');
    assert.equal(buildRejectionResponse(acknowledgement, false), null);
  });

  it('delivers a protected 5.03 with Max-Age that the terminal reads as retry-after', () => {
    const contexts = exampleContexts();
    const request = buildUplinkRequest(contexts.terminal, 0x1234, typicalReport);
    const received = receiveUplink(request.datagram, () => contexts.gateway);
    assert.ok(received.ok);
    const response = buildProtectedErrorResponse(received.context, received.binding, received.coap, CoapCode.ServiceUnavailable, 'journal unavailable', 60);
    const result = readUplinkResponse(contexts.terminal, request, response);
    assert.ok(!result.ok && result.reason === 'error-response' && result.code === CoapCode.ServiceUnavailable && result.maxAge === 60, JSON.stringify(result));
    assert.match(result.detail, /5\.03 journal unavailable/);
  });

  it('rejects an authenticated request that is not a POST or whose payload is not an uplink, with a protected 4.xx', () => {
    const contexts = exampleContexts();
    const terminal = contexts.terminal;
    const gateway: OscoreContext = { ...contexts.gateway, replay: new ReplayWindow() };
    const request = buildUplinkRequest(terminal, 0x1234, { readings: [], commandResults: [] });
    const decoded = decodeCoap(request.datagram);
    assert.ok(receiveUplink(encodeCoap(decoded), () => gateway).ok, 'an empty batch is a valid uplink');
    const bad = receiveUplink(tamperedInner(terminal, new Uint8Array([0x01])), () => gateway);
    assert.ok(!bad.ok && bad.reason === 'malformed-payload' && bad.context !== null);
    assert.ok(buildRejectionResponse(bad, false));
  });

  it('ignores responses that are not acknowledgements of the request', () => {
    const contexts = exampleContexts();
    const request = buildUplinkRequest(contexts.terminal, 0x1234, typicalReport);
    assert.equal(readUplinkResponse(contexts.terminal, request, new Uint8Array([0x60, 0x44, 0x12, 0x35])).ok, false);
    const reset = readUplinkResponse(contexts.terminal, request, new Uint8Array([0x70, 0x00, 0x12, 0x34]));
    assert.ok(!reset.ok && reset.reason === 'reset');
    const empty = readUplinkResponse(contexts.terminal, request, new Uint8Array([0x60, 0x00, 0x12, 0x34]));
    assert.ok(!empty.ok && empty.reason === 'empty-acknowledgement');
    const garbage = readUplinkResponse(contexts.terminal, request, new Uint8Array([0xff]));
    assert.ok(!garbage.ok && garbage.reason === 'malformed-coap');
  });
});

/** A request with a valid OSCORE protection around a payload that is not a valid uplink. */
function tamperedInner(terminal: OscoreContext, payload: Uint8Array): Uint8Array {
  return encodeCoap(protectRequest(terminal, { type: 0, code: CoapCode.Post, messageId: 3, token: new Uint8Array(0), options: [], payload }).message);
}
