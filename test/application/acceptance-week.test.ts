/**
 * Acceptance (issue 7): 7 virtual days of 15-minute readings from an SDM630, a pulse counter and an SHT3x, with
 * 20 % datagram loss each way, a 12-hour gateway outage and 10 power cuts at random moments (half of them in
 * the middle of a flash write): every reading the terminal produced reaches the gateway exactly once by reading
 * id. The oracle is what the real gateway publishes on MQTT (readings on `up`, alarms on `event/<type>`); the
 * terminal's ids are contiguous from 1, so "produced" is every id below the journal's next id at the end.
 */
import { strict as assert } from 'node:assert';
import { TerminalRig } from './support/terminal-rig';

/** Mulberry32: the same "random" moments on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const hour = 3600000;
const day = 24 * hour;

/** The modem shares the board's supply: it goes off with a cut and boots by itself when power returns (BC95-G has no power key). */
interface ModemSupply {
  switchOff(finalLine: string | null): void;
  boot(reason: string): void;
}

describe('acceptance: a week of readings through loss, a gateway outage and power cuts', function () {
  this.timeout(30 * 60000);
  let rig: TerminalRig;

  after(async () => {
    await rig?.close();
  });

  it('delivers every reading produced exactly once by reading id', async () => {
    const started = Date.now();
    rig = await TerminalRig.start({ radio: { seed: 7, uplinkLoss: 0.2, downlinkLoss: 0.2 } });
    const random = seeded(2026);
    const board = rig.board;
    const modemSupply = rig.modem as unknown as ModemSupply;
    // Water flows: a pulse every 40 s on average, all week.
    rig.pulses.start(1 / 40);
    const outage = { from: 3 * day + 6 * hour, to: 3 * day + 18 * hour };
    const cuts: Array<{ at: number; tearWrite: boolean }> = [];
    for (let index = 0; index < 10; index++) cuts.push({ at: Math.round(random() * 7 * day), tearWrite: index % 2 === 1 });
    cuts.sort((left, right) => left.at - right.at);
    const events: Array<{ at: number; what: string }> = [];
    for (const cut of cuts) events.push({ at: cut.at, what: cut.tearWrite ? 'tear' : 'cut' });
    events.push({ at: outage.from, what: 'gateway-down' }, { at: outage.to, what: 'gateway-up' });
    events.sort((left, right) => left.at - right.at);

    let bootsSeen = 0;
    const restore = (): void => {
      modemSupply.boot('power-on');
      board.powerOn();
    };
    board.on('power', (change: { on: boolean }) => {
      if (change.on) return;
      // Every cut (ours or the flash injector's) takes the modem too; power returns after 5..65 s.
      modemSupply.switchOff(null);
      board.clock.schedule(5000 + Math.round(random() * 60000), restore);
    });
    board.on('boot', () => bootsSeen++);

    for (const event of events) {
      await rig.run(event.at - board.clock.now());
      if (event.what === 'gateway-down') await rig.stopGateway();
      else if (event.what === 'gateway-up') await rig.startGateway();
      else if (event.what === 'cut') board.cutPower('acceptance: random cut');
      // The next flash write stops after 1..40 bytes: the cut tears whatever is being written.
      else board.flash.cutPowerAfterBytes(1 + Math.floor(random() * 40));
    }
    await rig.run(7 * day - board.clock.now());
    // Let the last readings go out (the radio stays lossy).
    rig.pulses.stop();
    await rig.runUntil(() => board.powerState === 'on' && rig.evaluate<number>('udt.journal.statistics().depth') === 0, 6 * hour, 60000);
    await rig.drainPublications();

    const statistics = JSON.parse(rig.evaluate<string>('JSON.stringify(udt.journal.statistics())')) as { nextId: number; depth: number; tornRecords: number };
    const produced = statistics.nextId - 1;
    const published = rig.publications().filter((publication) => publication.readingId !== null);
    const counts = new Map<number, number>();
    for (const publication of published) counts.set(publication.readingId!, (counts.get(publication.readingId!) ?? 0) + 1);
    const missing: number[] = [];
    for (let id = 1; id <= produced; id++) if (!counts.has(id)) missing.push(id);
    const duplicated = [...counts.values()].filter((count) => count > 1).reduce((sum, count) => sum + count - 1, 0);
    const unexpected = [...counts.keys()].filter((id) => id < 1 || id > produced);
    const readings = rig.readings();
    const meter = readings.filter((reading) => (reading.payload.values as Record<string, unknown>)['meter.voltage_l1'] !== undefined).length;
    const climate = readings.filter((reading) => (reading.payload.values as Record<string, unknown>)['climate.temperature'] !== undefined).length;
    const water = readings.filter((reading) => (reading.payload.values as Record<string, unknown>)['water.total'] !== undefined).length;
    const statuses = readings.filter((reading) => (reading.payload.values as Record<string, unknown>).boot_count !== undefined).length;
    const epoch = Date.parse('2026-08-01T12:00:00Z');
    const duringOutage = readings.filter((reading) => {
      const time = Date.parse(reading.payload.time as string) - epoch;
      return time > outage.from && time < outage.to;
    });
    const drained = Math.max(...duringOutage.map((reading) => Date.parse(reading.payload.receivedAt as string) - epoch)) - outage.to;
    const session = JSON.parse(rig.evaluate<string>('JSON.stringify(udt.session.statistics)')) as Record<string, number>;
    console.log(
      `      produced ${produced} / delivered ${counts.size} / duplicated ${duplicated} (missing ${missing.length}, unexpected ${unexpected.length})\n` +
        `      readings: meter ${meter}, climate ${climate}, water ${water}, status ${statuses}; events ${rig.events().length}\n` +
        `      readings taken during the 12 h outage: ${duringOutage.length}, all at the gateway ${(drained / 60000).toFixed(1)} min after it came back\n` +
        `      boots ${bootsSeen} (power cuts ${board.counters.powerCuts}), torn journal slots at last boot ${statistics.tornRecords}, storage erasures ${board.counters.storageErasures}\n` +
        `      modem datagrams up ${rig.modem.statistics.uplinkDatagrams} (lost ${rig.modem.statistics.uplinkLost}), down lost ${rig.modem.statistics.downlinkLost}; ` +
        `last boot's session: ${session.exchanges} exchanges, ${session.retransmissions} retransmissions, ${session.failures} failed\n` +
        `      ${((Date.now() - started) / 1000).toFixed(0)} s real time`,
    );
    assert.equal(board.counters.powerCuts, 10);
    assert.equal(board.counters.storageErasures, 0, 'Espruino never found Storage corrupt');
    assert.deepEqual(missing, [], 'every produced reading delivered');
    assert.equal(duplicated, 0, 'nothing published twice');
    assert.deepEqual(unexpected, []);
    assert.ok(duringOutage.length >= 12 * 4 * 3 - 6, 'the readings of the outage arrived afterwards: ' + duringOutage.length);
    // 7 days of 15-minute readings per source, less what the power cuts cost (at most a round each).
    assert.ok(meter >= 7 * 96 - 12 && climate >= 7 * 96 - 12 && water >= 7 * 96 - 12, `${meter} ${climate} ${water}`);
  });
});
