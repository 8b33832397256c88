/**
 * Parts of the terminal application driven from TypeScript: the keys file, the configuration store (over
 * hal/espruino on the virtual board, with a power cut at every byte of a configuration write), the time keeper
 * and the naming of journal entries.
 */
import { strict as assert } from 'node:assert';
import { decodeKeysFile, encodeKeysFile } from '../../firmware/application/keys-file';
import { ConfigStore, decodeConfigRecord, encodeConfigRecord, mergePatch } from '../../firmware/application/config-store';
import { entryToReading, EntryKind, EventCode, statusFields, type NamingContext } from '../../firmware/application/entries';
import { TimeKeeper, uptimeFlag } from '../../firmware/application/time-keeper';
import { checkTerminalSettings } from '../../firmware/application/settings';
import { checkConfigEssentials } from '../../firmware/config/essentials';
import type { Clock } from '../../hal/interfaces';
import { createBoardIo } from '../../hal/espruino/index';
import { apiOf, createRig } from '../hal/rig';

const keys = {
  senderId: Uint8Array.from([0x2a]),
  recipientId: new Uint8Array(0),
  idContext: null,
  senderKey: Uint8Array.from(Buffer.from('2ef52bc1e4f85256b85dd0e32be0386d', 'hex')),
  recipientKey: Uint8Array.from(Buffer.from('be456e2f016e52cc82a34b08bbf9df1e', 'hex')),
  commonIv: Uint8Array.from(Buffer.from('551a789962233bc863460c2512', 'hex')),
};

describe('keys file', () => {
  it('round-trips the derived OSCORE values', () => {
    const file = encodeKeysFile(keys);
    assert.equal(file.length, 4 + 2 + 1 + 45 + 2);
    const decoded = decodeKeysFile(file);
    assert.equal(decoded.problem, null);
    assert.deepEqual(decoded.keys, keys);
  });

  it('refuses a missing, foreign, truncated or corrupted file with a reason', () => {
    const file = encodeKeysFile(keys);
    assert.match(decodeKeysFile(null).problem!, /no keys file/);
    assert.match(decodeKeysFile(Uint8Array.from([1, 2, 3])).problem!, /not a keys file/);
    assert.match(decodeKeysFile(file.subarray(0, file.length - 3)).problem!, /wrong length|not a keys file/);
    for (let index = 4; index < file.length; index++) {
      const damaged = Uint8Array.from(file);
      damaged[index] ^= 0x10;
      assert.notEqual(decodeKeysFile(damaged).problem, null, 'byte ' + index);
    }
    const wrongFormat = Uint8Array.from(file);
    wrongFormat[2] = 2;
    assert.match(decodeKeysFile(wrongFormat).problem!, /unsupported/);
    assert.throws(() => encodeKeysFile({ ...keys, senderKey: new Uint8Array(15) }), /16 bytes/);
    assert.throws(() => encodeKeysFile({ ...keys, senderId: new Uint8Array(8) }), /1\.\.7/);
  });
});

const boardConfig = { version: 1, pulseInputs: [{ name: 'water', input: 'pulse1' }], terminal: { gateway: { host: '127.0.0.1', port: 5683 } } };

describe('configuration store on the virtual board', function () {
  this.timeout(120000);
  const validator = (config: unknown): string | null => {
    const problem = checkConfigEssentials(config, null);
    return problem ? problem.path + ': ' + problem.message : checkTerminalSettings(config as Record<string, unknown>, { water: ['total'] });
  };

  it('starts from the built-in configuration, takes whole and partial updates with rising revisions, and refuses bad ones', () => {
    const rig = createRig('nucleo-l476-bc95');
    const store = new ConfigStore(rig.io.storage, validator, boardConfig);
    assert.deepEqual(store.load(), { config: boardConfig, revision: 0, slot: -1, rejected: null });
    const patched = store.change(1, undefined, { terminal: { sendInterval: 3600000 } });
    assert.ok(patched.ok);
    assert.deepEqual((store.current().config as typeof boardConfig & { terminal: { sendInterval: number } }).terminal, { gateway: boardConfig.terminal.gateway, sendInterval: 3600000 });
    assert.deepEqual(store.change(1, undefined, { terminal: { sendInterval: 3600000 } }), { ok: true, revision: 1, config: store.current().config, unchanged: true });
    assert.match(String((store.change(1, boardConfig, undefined) as { problem: string }).problem), /already active with other contents/);
    assert.match(String((store.change(0, boardConfig, undefined) as { problem: string }).problem), /revision must be/);
    assert.match(String((store.change(2, { version: 2 }, undefined) as { problem: string }).problem), /\/version: must be 1/);
    assert.match(String((store.change(2, undefined, { terminal: { gateway: null } }) as { problem: string }).problem), /\/terminal\/gateway/);
    assert.match(String((store.change(2, undefined, { terminal: { thresholds: [{ source: 'nope', channel: 'x', above: 1 }] } }) as { problem: string }).problem), /no source "nope"/);
    assert.equal(store.current().revision, 1);
    const removed = store.change(3, undefined, { pulseInputs: null });
    assert.ok(removed.ok && !('pulseInputs' in (removed.config as object)), 'null removes a member (RFC 7396)');
    // A fresh boot reads what is in flash.
    const again = new ConfigStore(rig.io.storage, validator, boardConfig).load();
    assert.equal(again.revision, 3);
  });

  it('keeps the last good configuration when a newer stored one does not validate, and says why', () => {
    const rig = createRig('nucleo-l476-bc95');
    rig.io.storage.write('cfg0', encodeConfigRecord(4, boardConfig));
    rig.io.storage.write('cfg1', encodeConfigRecord(5, { ...boardConfig, pulseInputs: [{ name: 'water', input: 'nope' }] }));
    const strict = (config: unknown): string | null => {
      const problem = checkConfigEssentials(config, rig.definition);
      return problem ? problem.path + ': ' + problem.message : null;
    };
    const loaded = new ConfigStore(rig.io.storage, strict, null).load();
    assert.equal(loaded.revision, 4);
    assert.deepEqual(loaded.rejected, { revision: 5, problem: '/pulseInputs/0/input: board nucleo-l476-bc95 has no input "nope"' });
    // Nothing usable at all: no configuration, and the reason.
    rig.io.storage.erase('cfg0');
    const none = new ConfigStore(rig.io.storage, strict, null).load();
    assert.equal(none.config, null);
    assert.equal(none.rejected!.revision, 5);
  });

  it('survives a power cut at every byte of a configuration write: the old or the new revision, never neither', () => {
    const rig = createRig('nucleo-l476-bc95');
    let storage = rig.io.storage;
    const first = new ConfigStore(storage, validator, boardConfig);
    first.load();
    assert.ok(first.change(1, undefined, { terminal: { sendInterval: 1800000 } }).ok);
    const record = encodeConfigRecord(2, mergePatch(first.current().config, { terminal: { sendInterval: 600000 } }));
    let sawOld = 0;
    let sawNew = 0;
    // The write of revision 2 (into the other slot) is cut after every possible number of bytes.
    for (let cut = 0; cut <= record.length + 40; cut += 1) {
      const store = new ConfigStore(storage, validator, boardConfig);
      const before = store.load();
      if (before.revision === 2) {
        // Back to revision 1 in the slot revision 2 is not in, so the next round writes revision 2 again.
        storage.erase(before.slot === 0 ? 'cfg0' : 'cfg1');
        storage.write(before.slot === 0 ? 'cfg0' : 'cfg1', encodeConfigRecord(1, first.current().config));
        continue;
      }
      rig.board.flash.cutPowerAfterBytes(cut);
      try {
        store.change(2, undefined, { terminal: { sendInterval: 600000 } });
      } catch {
        // the power went in the middle of the write
      }
      rig.board.flash.cancelPowerCut();
      if (rig.board.powerState === 'off') rig.board.powerOn();
      rig.board.clock.advance(200);
      storage = createBoardIo(apiOf(rig.board), rig.board.definition).storage;
      const after = new ConfigStore(storage, validator, boardConfig).load();
      assert.ok(after.revision === 1 || after.revision === 2, 'cut after ' + cut + ' bytes: revision ' + after.revision);
      assert.equal(after.rejected, null);
      if (after.revision === 2) sawNew++;
      else sawOld++;
    }
    assert.ok(sawOld > 0 && sawNew > 0, `old ${sawOld}, new ${sawNew}`);
    assert.ok(rig.board.counters.powerCuts >= record.length, 'a cut inside every byte of the record: ' + rig.board.counters.powerCuts);
    assert.equal(rig.board.counters.storageErasures, 0);
  });

  it('decodes only intact records', () => {
    const record = encodeConfigRecord(7, boardConfig);
    assert.deepEqual(decodeConfigRecord(record), { revision: 7, config: boardConfig });
    for (let length = 0; length < record.length; length++) assert.equal(decodeConfigRecord(record.subarray(0, length)), null);
    const flipped = Uint8Array.from(record);
    flipped[20] ^= 1;
    assert.equal(decodeConfigRecord(flipped), null);
  });
});

class FakeClock implements Clock {
  uptime = 0;
  wall = 0;
  now(): number {
    return this.uptime;
  }
  wallTime(): number {
    return this.wall + this.uptime;
  }
  setWallTime(epochMilliseconds: number): void {
    this.wall = epochMilliseconds - this.uptime;
  }
  setTimeout(): number {
    return 0;
  }
  clearTimeout(): void {}
  setInterval(): number {
    return 0;
  }
  clearInterval(): void {}
}

describe('time keeper', () => {
  it('stamps uptime until the time is known, then resolves those stamps to absolute or relative times', () => {
    const clock = new FakeClock();
    const time = new TimeKeeper(clock, 2);
    let jumps = 0;
    time.onJump = () => jumps++;
    clock.uptime = 90_000;
    const early = time.stamp();
    assert.deepEqual(early, { time: 90, flags: uptimeFlag });
    clock.uptime = 150_000;
    assert.equal(time.resolve(early.time, early.flags, true), -60, 'an age before the time is known');
    assert.equal(time.resolve(early.time, early.flags, false), 0, 'an earlier boot: time of receipt');
    assert.equal(time.learn('network', 1785585600), true);
    assert.equal(jumps, 1);
    assert.equal(time.resolve(early.time, early.flags, true), 1785585600 - 60);
    assert.deepEqual(time.stamp(), { time: 1785585600, flags: 0 });
    assert.equal(time.learn('gateway', 1785585601.5), false, 'within the tolerance');
    assert.equal(time.learn('gateway', 1785585630), true, 'drift beyond it is corrected');
    assert.equal(time.statistics.corrections, 1);
    assert.equal(time.statistics.largestCorrectionSeconds, 30);
    assert.equal(jumps, 1, 'small corrections do not move the schedule');
    assert.equal(time.learn('gateway', 12), false, 'nonsense times are ignored');
    assert.equal(time.learn('gateway', NaN), false);
  });
});

describe('journal entries as protocol readings', () => {
  const context: NamingContext = {
    revisionTag: 3,
    sources: [{ name: 'meter', kind: 'modbus', channels: ['voltage_l1', 'power_l1'], units: ['V', 'W'] }],
    inputEvents: ['tamper'],
    thresholdSubjects: ['meter.power_l1'],
    compactNames: false,
    firmwareVersion: '0.1.0',
  };
  const entry = (kind: number, source: number, values: number[], flags = 3) => ({ id: 9, kind, source, time: 1785585600, values, flags });

  it('names readings by source and channel, or positionally when compact', () => {
    assert.deepEqual(entryToReading(entry(EntryKind.Reading, 0, [230.5, 1100]), 1785585600, context).values, [
      { name: 'meter.voltage_l1', value: 230.5, unit: 'V' },
      { name: 'meter.power_l1', value: 1100, unit: 'W' },
    ]);
    assert.deepEqual(entryToReading(entry(EntryKind.Reading, 0, [230.5, 1100]), 0, { ...context, compactNames: true }).values, [230.5, 1100]);
    // Made under another configuration revision: neutral names, never wrong ones.
    assert.deepEqual(entryToReading(entry(EntryKind.Reading, 0, [1], 2), 0, context).values, [{ name: 'source0.0', value: 1 }]);
  });

  it('makes events, drops and status reports the gateway publishes by name', () => {
    assert.deepEqual(entryToReading(entry(EntryKind.Event, EventCode.AcLoss, [3.98]), 0, context).values, [{ name: 'event:ac_loss', value: 3.98, unit: 'V' }]);
    assert.deepEqual(entryToReading(entry(EntryKind.Event, EventCode.Input, [1, 0]), 0, context).values, [{ name: 'event:tamper', booleanValue: true }]);
    assert.deepEqual(entryToReading(entry(EntryKind.Event, EventCode.DeviceLost, [1, 0]), 0, context).values, [{ name: 'event:modbus_lost.meter', booleanValue: true }]);
    assert.deepEqual(entryToReading(entry(EntryKind.Event, EventCode.Threshold, [2300, 0, 1]), 0, context).values, [{ name: 'event:high.meter.power_l1', value: 2300 }]);
    assert.deepEqual(entryToReading(entry(EntryKind.Dropped, 0, [17]), 0, context).values, [{ name: 'event:readings_dropped', value: 17 }]);
    const status = statusFields.map((_, index) => index + 0.5);
    status[statusFields.indexOf('reset_reason')] = 2;
    status[statusFields.indexOf('power_source')] = 1;
    status[statusFields.indexOf('signal')] = NaN;
    const values = entryToReading(entry(EntryKind.Status, 0, status), 0, context).values as Array<{ name: string; value?: number; stringValue?: string }>;
    assert.deepEqual(values[0], { name: 'firmware', stringValue: '0.1.0' });
    assert.deepEqual(values.find((value) => value.name === 'reset_reason'), { name: 'reset_reason', stringValue: 'watchdog' });
    assert.deepEqual(values.find((value) => value.name === 'power_source'), { name: 'power_source', stringValue: 'battery' });
    assert.equal(values.find((value) => value.name === 'signal'), undefined, 'unknown values are left out');
    assert.deepEqual(values.find((value) => value.name === 'battery'), { name: 'battery', value: 3.5, unit: 'V' });
  });
});
