/**
 * `udt diag --port P`: what a technician checks on site, over the console of a running terminal: the board and
 * firmware, Storage, power (mains or battery, battery volts), the modem (IMEI, ICCID, IMSI, registration, signal),
 * an RS485 scan of Modbus unit ids, an I2C bus scan, the journal and the uplink. Each part is asked for on its
 * own, so one that fails (a modem asleep, no RS485 configured) is reported and the rest still runs.
 */
import type { Command } from 'commander';
import { ConsoleLink } from '../tooling/console-link';
import { identifyBoard } from '../tooling/flasher';
import { runTool, ToolRunError } from './flash';
import { ToolInputError } from '../tooling/device-files';

export interface DiagCommandOptions {
  port: string;
  baud: string;
  units: string;
  json?: boolean;
  modemTimeout: string;
}

export interface DiagReport {
  board: Awaited<ReturnType<typeof identifyBoard>>;
  terminal: Record<string, unknown> | null;
  power: Record<string, unknown> | { error: string } | null;
  modem: Record<string, unknown> | { error: string } | null;
  rs485: { scanned: string; present: number[]; silent: number[] } | { error: string } | null;
  i2c: { addresses: string[] } | { error: string } | null;
}

/** "1-16" or "1,2,5-7" -> unit ids (1..247). */
export function parseUnitRange(text: string): number[] {
  const units: number[] = [];
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!match) throw new ToolInputError('usage', `--units wants ids like 1-16 or 1,3,5-7, got "${text}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first < 1 || last > 247 || first > last) throw new ToolInputError('usage', `--units: Modbus unit ids are 1..247, got "${part.trim()}"`);
    for (let unit = first; unit <= last; unit++) if (!units.includes(unit)) units.push(unit);
  }
  return units;
}

async function part<T>(run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export async function collectDiagnostics(link: ConsoleLink, units: number[], modemTimeoutMs: number): Promise<DiagReport> {
  await link.handshake();
  const board = await identifyBoard(link);
  const running = await link.evaluate<boolean>('typeof udt=="object"&&udt!==null&&typeof udt.journal=="object"');
  if (!running) return { board, terminal: null, power: null, modem: null, rs485: null, i2c: null };
  const terminal = await link.evaluate<Record<string, unknown>>(
    '{board:udt.environment.board.id,firmware:udt.environment.firmwareVersion,bootCount:udt.bootCount,configRevision:udt.configRevision(),' +
      'uptimeSeconds:udt.time.uptimeSeconds(),timeKnown:udt.time.known(),time:udt.time.known()?new Date(udt.time.nowSeconds()*1000).toISOString():null,' +
      'journal:udt.journal.statistics(),uplink:udt.session?udt.session.statistics:null,problems:udt.problems,sources:udt.sources.map(function(s){return s.name})}',
  );
  const power = await part(() =>
    link.evaluate<Record<string, unknown>>('{source:udt.power.onBattery()?"battery":"mains",batteryVolts:udt.power.batteryVolts(),critical:udt.power.isCritical()}'),
  );
  const modem = await part(() =>
    link.evaluatePromise<Record<string, unknown>>(
      // Through the supervisor when there is one: it wakes a modem in PSM the way its driver needs (and
      // queues behind an uplink in progress instead of interleaving with it).
      // The MCU must stay out of deep sleep while the modem answers (an STM32 in stop mode loses UART bytes).
      '(function(){udt.power.hold("diag");var done=function(v){udt.power.release("diag");return v},failed=function(e){udt.power.release("diag");throw e};return ' +
        '(udt.modem?(udt.supervisor?udt.supervisor.run("diag",function(){return Promise.all([udt.modem.identity(),udt.modem.signal()])})' +
        ':(udt.modem.sleeping()?udt.modem.wake():Promise.resolve()).then(function(){return Promise.all([udt.modem.identity(),udt.modem.signal()])}))' +
        '.then(function(r){return {identity:r[0],signal:r[1],registered:udt.modem.registered(),socketOpen:udt.modem.udpOpen(),recovery:udt.supervisor?udt.supervisor.counters:null}})' +
        ':Promise.reject("no modem running (no gateway or keys configured?)")).then(done,failed)})()',
      modemTimeoutMs,
    ),
  );
  const rs485 = await part(async () => {
    const configured = await link.evaluate<boolean>('!!(udt.field&&udt.field.master)');
    if (!configured) throw new Error('RS485 is not in use: the configuration has no Modbus devices');
    // One unit after the other (the bus is half duplex); any answer, an exception response included, means present.
    const present = await link.evaluatePromise<number[]>(
      `new Promise(function(resolve){udt.power.hold("diag-rs485");var units=${JSON.stringify(units)},found=[],i=0;function next(){if(i>=units.length){udt.power.release("diag-rs485");return resolve(found)}var u=units[i++];` +
        'E.kickWatchdog();udt.field.master.request({unitId:u,functionCode:3,address:0,quantity:1},function(e,r){if(!e||e.code=="exception")found.push(u);next()},{retries:0,responseTimeout:200})}next()})',
      units.length * 2000 + 5000,
    );
    return { scanned: `${units[0]}..${units[units.length - 1]} (${units.length} ids)`, present, silent: units.filter((unit) => !present.includes(unit)) };
  });
  const i2c = await part(async () => {
    const configured = await link.evaluate<boolean>('!!udt.io.i2c');
    if (!configured) throw new Error('this board has no I2C bus');
    const addresses = await link.evaluatePromise<number[]>(
      'new Promise(function(resolve){var found=[],a=8,bus=udt.io.i2c;function next(){if(a>0x77)return resolve(found);var p=a++;' +
        'bus.write(p,new Uint8Array(0),function(e){if(!e){found.push(p);return next()}bus.read(p,1,function(e2){if(!e2)found.push(p);next()})})}next()})',
      30000,
    );
    return { addresses: addresses.map((address) => '0x' + address.toString(16).padStart(2, '0')) };
  });
  return { board, terminal, power, modem, rs485, i2c };
}

function describePart(value: unknown): string {
  if (value === null) return 'not available';
  if (value && typeof value === 'object' && 'error' in value) return `FAILED: ${(value as { error: string }).error}`;
  return '';
}

export function formatDiagnostics(report: DiagReport): string {
  const lines: string[] = [];
  const storage = report.board.storage;
  lines.push(`board      ${report.board.board}, Espruino ${report.board.version}`);
  lines.push(`storage    ${storage.fileBytes} of ${storage.totalBytes} bytes in ${storage.fileCount} files, ${storage.freeBytes} free, ${storage.trashBytes} trash`);
  if (report.board.memory) lines.push(`memory     ${report.board.memory.usage} of ${report.board.memory.total} variable blocks in use`);
  const terminal = report.terminal;
  if (!terminal) {
    lines.push('firmware   no udt firmware is running (flash one with `udt flash`)');
    return lines.join('\n');
  }
  lines.push(`firmware   udt ${terminal.firmware} for ${terminal.board}, boot ${terminal.bootCount}, configuration revision ${terminal.configRevision}, up ${terminal.uptimeSeconds} s`);
  lines.push(`time       ${terminal.timeKnown ? terminal.time : 'not known yet (learnt from the network or the gateway)'}`);
  const journal = terminal.journal as Record<string, number>;
  lines.push(`journal    ${journal.depth} entries waiting to be sent, next reading id ${journal.nextId}`);
  if (terminal.uplink) lines.push(`uplink     ${JSON.stringify(terminal.uplink)}`);
  lines.push(`sources    ${(terminal.sources as string[]).join(', ') || 'none'}`);
  for (const problem of terminal.problems as string[]) lines.push(`PROBLEM    ${problem}`);
  const power = report.power as Record<string, unknown>;
  lines.push(`power      ${describePart(power) || `${power.source}, battery ${Number(power.batteryVolts).toFixed(2)} V${power.critical ? ' (CRITICAL)' : ''}`}`);
  const modem = report.modem as Record<string, Record<string, unknown>>;
  if (describePart(modem)) lines.push(`modem      ${describePart(modem)}`);
  else {
    const identity = modem.identity!;
    const signal = modem.signal!;
    lines.push(`modem      IMEI ${identity.imei}, ICCID ${identity.iccid}, IMSI ${identity.imsi}`);
    lines.push(`signal     RSSI ${signal.rssi ?? '?'} dBm, RSRP ${signal.rsrp ?? '?'} dBm, SINR ${signal.sinr ?? '?'} dB, coverage class ${signal.coverageClass ?? '?'}; ${modem.registered ? 'registered' : 'NOT registered'}`);
  }
  const rs485 = report.rs485 as { scanned: string; present: number[] };
  lines.push(`rs485      ${describePart(rs485) || `scanned ${rs485.scanned}: ${rs485.present.length > 0 ? 'unit ids answering ' + rs485.present.join(', ') : 'no unit answers (check A/B wiring, baud rate, termination)'}`}`);
  const i2c = report.i2c as { addresses: string[] };
  lines.push(`i2c        ${describePart(i2c) || (i2c.addresses.length > 0 ? 'devices at ' + i2c.addresses.join(', ') : 'no device answers')}`);
  return lines.join('\n');
}

export function registerDiagCommand(program: Command): void {
  program
    .command('diag')
    .description("check a terminal on site over its console: modem identity and signal, RS485 scan, I2C scan, power, journal")
    .requiredOption('-p, --port <port>', 'console port: /dev/ttyUSB0, /dev/pts/N, COM3 or tcp://host:port')
    .option('--baud <rate>', 'serial baud rate', '115200')
    .option('--units <ids>', 'Modbus unit ids to scan on RS485', '1-16')
    .option('--modem-timeout <ms>', 'how long to wait for the modem (it may be waking from PSM)', '30000')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  udt diag --port /dev/ttyACM0\n  udt diag --port tcp://127.0.0.1:2323 --units 1-32 --json')
    .action((options: DiagCommandOptions) =>
      runTool('diag', async () => {
        const units = parseUnitRange(options.units);
        const link = await ConsoleLink.open(options.port, { baudRate: Number(options.baud) });
        try {
          const report = await collectDiagnostics(link, units, Number(options.modemTimeout));
          process.stdout.write((options.json ? JSON.stringify(report, null, 2) : formatDiagnostics(report)) + '\n');
          if (!report.terminal) throw new ToolRunError('no udt firmware is running on the board');
        } finally {
          await link.close();
        }
      })(),
    );
}
