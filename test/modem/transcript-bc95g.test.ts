/**
 * BC95-G dialect, byte for byte, after the Quectel BC95-G&BC68 AT Commands Manual V1.2 (2018-07-04,
 * "BC95-G&BC68_AT_Commands_Manual_V1.2"). What could be read of it: the title page and the contents up to
 * §4.7 (2.2 ATE, 2.6 AT+CGSN, 2.7 AT+CEREG, 2.10 AT+CSQ, 2.13 AT+CGATT, 2.15 AT+CIMI, 2.17 AT+CFUN, 2.18
 * AT+CMEE, 2.19 AT+CCLK, 2.20 AT+CPSMS, 2.21 AT+CEDRXS, 2.31 AT+CNMPSD, 4.1 AT+NRB, 4.2 AT+NUESTATS, 4.4
 * AT+NSOCR, 4.5 AT+NSOST, 4.6 AT+NSOSTF, 4.7 AT+NQSOS); "4.8 AT+NSORF Receive Command" is quoted by another
 * project from a BC95 manual. No section number was found for AT+NSOCL, +NSONMI, AT+NPSMR, AT+NCCID or the
 * boot banner, and the command pages themselves (parameter tables, examples) were not available: the shapes
 * below agree with BC95/BC35-G driver code and the u-blox SARA-N2 manual (same Huawei platform: NSOSTF flags
 * 0x200 / 0x400), not with the Quectel text. The IMEI 490154203237511 and the NSOST payload are believed to
 * be the manual's example values (not verified). Replies are <CR><LF>text<CR><LF>, no space after the colon.
 */
import { strict as assert } from 'node:assert';
import { createTerminal, createModemRig, startEchoServer, settler, openDriverUdp } from '../support/modem-rig';

const crlf = (line: string): string => '\r\n' + line + '\r\n';

describe('BC95-G transcripts (BC95-G&BC68 AT Commands Manual V1.2)', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(async () => {
    await echo.close();
  });

  it('boots with the Neul banner, echoes by default (§2.2 ATE) and answers identity, signal and time', async () => {
    const terminal = createTerminal('BC95-G', { identity: { imei: '490154203237511' } });
    try {
      const banner = await terminal.listen(3000);
      assert.equal(
        banner,
        crlf('Boot: Unsigned') + crlf('Security B.. Verified') + crlf('Protocol A.. Verified') + crlf('Apps A...... Verified') +
          crlf('REBOOT_CAUSE_APPLICATION_AT') + crlf('Neul ') + crlf('OK'),
      );
      // §2.6 AT+CGSN=1 -> +CGSN:<IMEI>, no space after the colon in this dialect.
      assert.equal(await terminal.exchange('AT+CGSN=1\r', 300), 'AT+CGSN=1\r' + crlf('+CGSN:490154203237511') + crlf('OK'));
      // §2.2 ATE0 switches echo off; the reply to ATE0 itself is still echoed.
      assert.equal(await terminal.exchange('ATE0\r', 300), 'ATE0\r' + crlf('OK'));
      assert.equal(await terminal.exchange('AT\r', 300), crlf('OK'));
      await terminal.listen(9000); // automatic attach (AUTOCONNECT is TRUE by default)
      // §2.7 AT+CEREG?: +CEREG:<n>,<stat>; §2.10 AT+CSQ: +CSQ:<rssi>,<ber>.
      assert.equal(await terminal.exchange('AT+CEREG?\r', 300), crlf('+CEREG:0,1') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+CSQ\r', 300), crlf('+CSQ:20,99') + crlf('OK'));
      // §2.19 AT+CCLK? -> +CCLK:<yy/MM/dd,hh:mm:ss>[<tz>] (zone in quarter hours; TS 27.007 §8.15).
      assert.match(await terminal.exchange('AT+CCLK?\r', 300), /^\r\n\+CCLK:26\/08\/01,14:00:\d\d\+08\r\n\r\nOK\r\n$/);
      // §4.2 AT+NUESTATS: "Signal power" and "SNR" in centibels, ECL as a number (line names from driver code).
      const statistics = await terminal.exchange('AT+NUESTATS\r', 500);
      assert.match(statistics, /\r\nSignal power:-850\r\n/);
      assert.match(statistics, /\r\nECL:0\r\n/);
      assert.match(statistics, /\r\nSNR:120\r\n/);
      // Bad input: unknown command and malformed socket commands answer ERROR.
      assert.equal(await terminal.exchange('AT+BOGUS\r', 300), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+NSOCR=STREAM,6,0,1\r', 300), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+CPSMS=1,,,"01000011","bad"\r', 300), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('creates a socket, sends hex with NSOST, announces the reply with +NSONMI and reads it with NSORF (§4.4, §4.5, §4.8)', async () => {
    const terminal = createTerminal('BC95-G', { udp: { route: { host: '127.0.0.1', port: echo.port } } });
    try {
      await terminal.listen(12000);
      await terminal.exchange('ATE0\r', 300);
      // §4.4 AT+NSOCR=<type>,<protocol>,<listen port>[,<receive control>] -> <socket>
      assert.equal(await terminal.exchange('AT+NSOCR=DGRAM,17,56,1\r', 300), crlf('0') + crlf('OK'));
      // §4.5 AT+NSOST=<socket>,<remote_addr>,<remote_port>,<length>,<data> -> <socket>,<length> (the believed
      // example values; routed to the loopback echo here).
      const payload = '400241C7B17401724D0265703D323031363038323331363438';
      const sent = await terminal.exchange('AT+NSOST=0,192.53.100.53,5683,25,' + payload + '\r', 3000);
      assert.ok(sent.startsWith(crlf('0,25') + crlf('OK')), JSON.stringify(sent));
      // The echo comes back: +NSONMI:<socket>,<length> (URC, BC95-G default NSONMI mode 1).
      assert.ok(sent.endsWith(crlf('+NSONMI:0,25')), JSON.stringify(sent));
      assert.equal(echo.received.at(-1)!.toString('hex').toUpperCase(), payload);
      // §4.8 AT+NSORF=<socket>,<req_length> -> <socket>,<ip_addr>,<port>,<length>,<data>,<remaining_length>.
      const first = await terminal.exchange('AT+NSORF=0,10\r', 500);
      assert.equal(first, crlf('0,127.0.0.1,' + echo.port + ',10,' + payload.substring(0, 20) + ',15') + crlf('OK'));
      const rest = await terminal.exchange('AT+NSORF=0,100\r', 500);
      assert.equal(rest, crlf('0,127.0.0.1,' + echo.port + ',15,' + payload.substring(20) + ',0') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+NSORF=0,100\r', 300), crlf('OK'));
      // §4.6 AT+NSOSTF with flag 0x200 (release after this uplink); a bad flag or length mismatch is ERROR.
      assert.ok((await terminal.exchange('AT+NSOSTF=0,127.0.0.1,5683,0x200,2,ABCD\r', 400)).startsWith(crlf('0,2') + crlf('OK')));
      assert.equal(await terminal.exchange('AT+NSOSTF=0,127.0.0.1,5683,0x999,2,ABCD\r', 300), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+NSOST=0,127.0.0.1,5683,3,ABCD\r', 300), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+NSOST=0,127.0.0.1,5683,2,ABZZ\r', 300), crlf('ERROR'));
      // AT+NSOCL=<socket> (section number not found); closing it twice is an error.
      assert.equal(await terminal.exchange('AT+NSOCL=0\r', 300), crlf('OK'));
      assert.equal(await terminal.exchange('AT+NSOCL=0\r', 300), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('reports PSM entry with +NPSMR:1 and wakes on UART activity, losing the waking bytes', async () => {
    const terminal = createTerminal('BC95-G', { radio: { inactivityMs: 5000 } });
    try {
      await terminal.listen(12000);
      await terminal.exchange('ATE0\r', 300);
      // AT+NPSMR=1 (section number not found) enables +NPSMR:<mode>, 1 entering PSM, 0 leaving it.
      assert.equal(await terminal.exchange('AT+NPSMR=1\r', 300), crlf('OK'));
      // §2.20 AT+CPSMS=1,,,<T3412 "01000011" = 3 x 10 h>,<T3324 "00000101" = 10 s>
      assert.equal(await terminal.exchange('AT+CPSMS=1,,,"01000011","00000101"\r', 300), crlf('OK'));
      const quiet = await terminal.listen(40000);
      assert.equal(quiet, crlf('+NPSMR:1'));
      assert.equal(terminal.model.power, 'psm');
      assert.equal(await terminal.exchange('AT\r', 300), crlf('+NPSMR:0'), 'the bytes that wake it are lost');
      assert.equal(await terminal.exchange('AT\r', 300), crlf('OK'));
    } finally {
      terminal.close();
    }
  });

  it('driver: brings the module up with the manual flow and gets a datagram answered', async () => {
    const rig = createModemRig({ model: 'BC95-G' });
    const settle = settler(rig.clock);
    try {
      const driver = rig.driver;
      const replies = await openDriverUdp(rig, settle, echo.port);
      await settle(driver.sendDatagram(Uint8Array.from([0xc0, 0xff, 0xee]), { releaseAfter: 'reply' }));
      await settle(new Promise<void>((resolve) => {
        const check = (): void => void (replies.length > 0 ? resolve() : rig.halClock.setTimeout(check, 20));
        check();
      }));
      assert.deepEqual(Array.from(replies[0]!), [0xc0, 0xff, 0xee]);
      const commands = rig.trace.filter((line) => line.startsWith('> ')).map((line) => line.substring(2));
      // AT probes until the banner is over, then the set-up sequence.
      const setup = commands.indexOf('ATE0');
      assert.ok(commands.slice(0, setup).every((command) => command === 'AT'));
      assert.deepEqual(commands.slice(setup, setup + 4), ['ATE0', 'AT+CMEE=1', 'AT+CEREG=1', 'AT+NPSMR=1']);
      assert.ok(commands.includes('AT+NSOCR=DGRAM,17,56000,1'));
      assert.ok(commands.includes('AT+NSOSTF=0,127.0.0.1,' + echo.port + ',0x400,3,C0FFEE'));
      assert.ok(commands.includes('AT+NSORF=0,3'));
    } finally {
      rig.close();
    }
  });
});
