import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createNodeCcmAead } from '../../firmware/protocol/crypto-backends';
import { runDatagramFuzz } from './fixtures/fuzz';

describe('protocol: gateway decoder under random and mutated datagrams', () => {
  const check = (label: string, count: number, aead: Parameters<typeof runDatagramFuzz>[2]): void => {
    it(`${count} datagrams (${label}): no exception escapes, no internal error, nothing forged is accepted, no hang`, () => {
      const report = runDatagramFuzz(count, 0xdecaf, aead, () => performance.now());
      console.log(`      ${report.datagrams} datagrams in ${report.wallMilliseconds.toFixed(0)} ms, accepted ${report.accepted}; rejected: ${JSON.stringify(report.rejectedByReason)}`);
      assert.equal(report.escapedExceptions, 0);
      assert.equal(report.rejectedByReason['internal-error'] ?? 0, 0);
      assert.equal(report.forgeries, 0);
      assert.equal(report.datagrams, count);
      assert.ok(report.accepted > 0 && report.rejectedByReason['replay'] > 0 && report.rejectedByReason['auth-failed'] > 0);
      assert.ok(report.maxMicrosecondsPerDatagram < 100_000, `slowest datagram took ${report.maxMicrosecondsPerDatagram} µs`);
    });
  };
  check('gateway AEAD: node:crypto aes-128-ccm', 20000, createNodeCcmAead(nodeCrypto));
  check('gateway AEAD: pure TypeScript CCM', 5000, null);
});
