/**
 * Downlink commands end to end: MQTT command topic -> gateway queue -> response to the terminal's next uplink
 * -> executed by the firmware bundle on the virtual board -> result in the next uplink -> ack on MQTT.
 */
import { strict as assert } from 'node:assert';
import { TerminalRig, standardConfig } from './support/terminal-rig';

const minute = 60000;

async function finished(rig: TerminalRig, name: string, count = 1): Promise<Array<Record<string, unknown>>> {
  const done = () => rig.commandAcks(name).filter((ack) => ack.status === 'done' || ack.status === 'failed');
  const arrived = await rig.runUntilReal(() => done().length >= count, 40 * minute, 10000);
  if (!arrived) console.log(rig.evaluate<string>('JSON.stringify([udt.session.statistics, udt.session.results, udt.counters, udt.problems, udt.session.running, udt.power.holders(), udt.executedCommands.value(), udt.journal.statistics()])'));
  assert.ok(arrived, `${name}: no result; acks ${JSON.stringify(rig.commandAcks(name))}\n${rig.output().slice(-2000)}`);
  return done();
}

function climateTimes(rig: TerminalRig): number[] {
  return rig
    .readings()
    .filter((reading) => (reading.payload.values as Record<string, unknown>)['climate.temperature'] !== undefined)
    .map((reading) => Date.parse(reading.payload.time as string));
}

describe('downlink commands on the terminal bundle', function () {
  this.timeout(300000);
  let rig: TerminalRig;

  before(async () => {
    // The build carries a relay although the first configuration has none: the configuration below adds one.
    rig = await TerminalRig.start({ imeiIndex: 80, parts: ['relay'] });
    await rig.run(2 * minute);
  });

  after(async () => {
    await rig?.close();
  });

  it('applies a configuration sent by downlink (partial, versioned), acknowledges it, and keeps it across a reboot', async () => {
    // Climate every 5 minutes instead of 15, and a relay on the board's output.
    await rig.command('config', { arguments: { revision: 2, patch: { sensors: [{ name: 'climate', part: 'SHT3x', address: 0x45, interval: 5 * minute }], relays: [{ name: 'valve', output: 'relay1' }] } } });
    const [ack] = await finished(rig, 'config');
    assert.equal(ack!.status, 'done', JSON.stringify(ack));
    assert.equal(rig.evaluate<number>('udt.configRevision()'), 2);
    const since = Date.parse('2026-08-01T12:00:00Z') + rig.board.clock.now();
    await rig.run(31 * minute);
    await rig.drainPublications();
    const recent = climateTimes(rig).filter((time) => time > since);
    assert.ok(recent.length >= 5, 'climate every 5 minutes now: ' + recent.map((time) => new Date(time).toISOString()).join(' '));
    const state = rig.observer.on(`udt/${rig.imei}/state`).map((message) => message.json());
    assert.equal(state[state.length - 1]!.configVersion, 2, 'the status report carries the new revision');

    rig.board.cutPower('test');
    rig.board.clock.schedule(1000, () => rig.board.powerOn());
    await rig.run(10000);
    assert.match(rig.output(), /boot=2 config=2/);
  });

  it('refuses an invalid configuration with the reason and keeps the old one', async () => {
    await rig.command('config', { arguments: { revision: 3, patch: { modbus: { devices: [{ name: 'meter', profile: 'eastron-sdm630', unitId: 300, interval: 900000 }] } } } });
    const acks = await finished(rig, 'config', 2);
    const refused = acks[acks.length - 1]!;
    assert.equal(refused.status, 'failed');
    assert.equal(refused.code, 2);
    assert.match(String(refused.detail), /\/modbus\/devices\/0\/unitId: must be 1\.\.247/);
    // A part this firmware build does not carry (built for Modbus, SHT3x, pulses and a relay).
    await rig.command('config', { arguments: { revision: 4, patch: { digitalInputs: [{ name: 'door', input: 'door' }] } } });
    const missingPart = (await finished(rig, 'config', 3))[2]!;
    assert.equal(missingPart.status, 'failed');
    assert.match(String(missingPart.detail), /^not in this firmware build: digitalInputs/);
    assert.equal(rig.evaluate<number>('udt.configRevision()'), 2, 'revision 2 still active');
    assert.equal(rig.evaluate<number>('udt.configRevision()'), 2, 'revision 2 still active');
    // An older revision is refused too (versioned).
    await rig.command('config', { arguments: { revision: 1, config: standardConfig } });
    const stale = (await finished(rig, 'config', 4))[3]!;
    assert.equal(stale.status, 'failed');
    assert.match(String(stale.detail), /older than the active revision 2/);
    console.log(`      refused: ${refused.detail}; ${missingPart.detail}; ${stale.detail}`);
  });

  it('switches and pulses a relay, reads now, answers a ping, sets the time and reboots on command', async () => {
    const relayPin = rig.board.definition.digitalOutputs.find((output) => output.name === 'relay1')!.pin;
    await rig.command('relay', { arguments: { name: 'valve', on: true } });
    assert.equal((await finished(rig, 'relay'))[0]!.status, 'done');
    assert.equal(rig.board.gpio.driven(relayPin), true);
    await rig.command('relay', { arguments: { name: 'valve', on: false } });
    await finished(rig, 'relay', 2);
    assert.equal(rig.board.gpio.driven(relayPin), false);
    // A pulse: on at once, off by itself after the given time.
    const pinHistory: Array<[number, boolean | null]> = [];
    rig.board.gpio.onChange(relayPin, () => pinHistory.push([rig.board.clock.now(), rig.board.gpio.driven(relayPin)]));
    await rig.command('relay', { arguments: { name: 'valve', pulse: 3000 } });
    await finished(rig, 'relay', 3);
    await rig.run(5000);
    const on = pinHistory.find(([, level]) => level === true);
    const off = pinHistory.find(([, level]) => level === false);
    assert.ok(on && off && Math.abs(off[0] - on[0] - 3000) < 50, 'pulsed for 3 s: ' + JSON.stringify(pinHistory));
    await rig.command('relay', { arguments: { name: 'nope', on: true } });
    const badRelay = (await finished(rig, 'relay', 4))[3]!;
    assert.equal(badRelay.status, 'failed');
    assert.equal(badRelay.code, 1);

    const readingsBefore = rig.readings().length;
    await rig.command('read', { arguments: { source: 'meter' } });
    const read = (await finished(rig, 'read'))[0]!;
    assert.equal(read.status, 'done');
    await rig.run(2 * minute);
    await rig.drainPublications();
    assert.ok(rig.readings().length > readingsBefore, 'a meter reading came right after the read command');

    await rig.command('ping', {});
    assert.equal((await finished(rig, 'ping'))[0]!.detail, 'pong');
    // A wrong time (hours ahead, as a drifting or mis-set clock): the gateway's time in the next response corrects it.
    const correctionsBefore = rig.evaluate<number>('udt.time.statistics.corrections');
    const wrong = Math.floor(rig.now() / 1000) + 3 * 3600;
    await rig.command('time', { arguments: { time: wrong } });
    assert.equal((await finished(rig, 'time'))[0]!.status, 'done');
    await rig.runUntilReal(() => rig.evaluate<number>('udt.time.statistics.corrections') >= correctionsBefore + 2, 20 * minute);
    const skew = rig.evaluate<number>('Date.now()') - rig.now();
    assert.ok(Math.abs(skew) < 2000, 'back on the gateway time, off by ' + skew + ' ms');
    // The command waits for the next uplink (up to 15 min), so the clock was set less than 3 h ahead of then.
    assert.ok(rig.evaluate<number>('udt.time.statistics.largestCorrectionSeconds') >= 2.5 * 3600);

    const boots = rig.board.counters.boots;
    await rig.command('reboot', {});
    const reboot = (await finished(rig, 'reboot'))[0]!;
    assert.equal(reboot.status, 'done');
    assert.equal(reboot.detail, 'rebooted', 'the result was reported by the restarted terminal');
    assert.equal(rig.board.counters.boots, boots + 1, 'rebooted exactly once');
    assert.equal(rig.board.counters.softwareResets, 1);
    await rig.run(40 * minute);
    assert.equal(rig.board.counters.boots, boots + 1, 'and not again when the gateway learns the result');

    // A command the terminal does not know is refused by the gateway when it is published (never queued), with the
    // terminal's own "unknown command" code.
    await rig.observer.client.publishAsync(`udt/${rig.imei}/cmd/selfdestruct`, '{}', { qos: 1 });
    const unknown = (await finished(rig, 'selfdestruct'))[0]!;
    assert.equal(unknown.status, 'failed');
    assert.equal(unknown.code, 3);
  });
});
