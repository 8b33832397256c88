/**
 * Fuzz target: the gateway-side uplink decoder (CoAP, OSCORE, SenML-CBOR: receiveUplink in
 * firmware/protocol/server.ts), through the datagram fuzzer the protocol work already has
 * (test/protocol/fixtures/fuzz.ts, also run alone by bench/fuzz-protocol.ts). Each run is a batch of datagrams
 * from a seed the property draws, so the whole run is fixed by the target's seed.
 */
import nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { createNodeCcmAead } from '../../../firmware/protocol/crypto-backends';
import { runDatagramFuzz, timeDatagram } from '../../protocol/fixtures/fuzz';
import type { FuzzTarget } from '../support/runner';

const DATAGRAMS_PER_RUN = 2000;
const TIME_LIMIT_MICROSECONDS = 100_000;

export const protocolTiming = { slowestMicroseconds: 0 };

function batch(seed: number): void {
  const report = runDatagramFuzz(DATAGRAMS_PER_RUN, seed, createNodeCcmAead(nodeCrypto), () => performance.now());
  protocolTiming.slowestMicroseconds = Math.max(protocolTiming.slowestMicroseconds, report.maxMicrosecondsPerDatagram);
  const internal = report.rejectedByReason['internal-error'] ?? 0;
  if (report.escapedExceptions > 0 || internal > 0) throw new Error(`seed ${seed}: ${report.escapedExceptions} exceptions escaped, ${internal} internal errors`);
  if (report.forgeries > 0) throw new Error(`seed ${seed}: ${report.forgeries} forged uplinks accepted`);
  if (report.datagrams !== DATAGRAMS_PER_RUN) throw new Error(`seed ${seed}: ${report.datagrams} of ${DATAGRAMS_PER_RUN} datagrams processed`);
  if (report.maxMicrosecondsPerDatagram > TIME_LIMIT_MICROSECONDS && report.slowestDatagram) {
    // Wall time includes garbage collection pauses: time the slow datagram again on its own before calling it slow.
    const alone = timeDatagram(report.slowestDatagram, 21, createNodeCcmAead(nodeCrypto), () => performance.now());
    if (alone > TIME_LIMIT_MICROSECONDS) throw new Error(`seed ${seed}: a ${report.slowestDatagram.length}-byte datagram takes ${alone.toFixed(0)} µs (median of 21)`);
  }
}

export const protocolTarget: FuzzTarget = {
  name: 'coap-oscore',
  description: 'gateway uplink decoder (receiveUplink): random and mutated datagrams; no exception, no internal error, no forgery accepted, bounded time',
  properties: [
    {
      name: `receiveUplink on batches of ${DATAGRAMS_PER_RUN} random and mutated datagrams`,
      property: () => fc.property(fc.integer({ min: 1, max: 0x7fffffff }), batch) as fc.IRawProperty<unknown>,
      runs: 10,
      inputsPerRun: DATAGRAMS_PER_RUN,
    },
  ],
};
