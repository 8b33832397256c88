/**
 * BG96 dialect (NB-IoT mode), byte for byte. Sources, read in full (PDFs of a public repository of Quectel
 * BG96 documents): [AT] Quectel_BG96_AT_Commands_Manual_V2.2 (2018-09-25); [TCP] Quectel_BG96_TCP(IP)_AT_
 * Commands_Manual_V1.0 (2017-11-23); [PSM] Quectel_BG96_PSM_Application_Note_V1.0 (2018-04-23); [HW]
 * Quectel_BG96_Hardware_Design_V1.3. The section is named at each exchange. The connectID 2, local port 3030
 * and remote 10.7.89.10:6969 are [TCP] §3.6's UDP SERVICE example values. Not in these texts: "APP RDY" at
 * the end of the boot URCs (module logs), the space after the '>' prompt ([TCP] §2.1.7 shows ">"; the
 * engine accepts both) and the model's boot timing.
 */
import { strict as assert } from 'node:assert';
import { advance, createModemRig, createTerminal, settler, startEchoServer, openDriverUdp } from '../support/modem-rig';

const crlf = (line: string): string => '\r\n' + line + '\r\n';

describe('BG96 transcripts (BG96 AT Commands Manual V2.2, TCP/IP AT Commands Manual V1.0, PSM Application Note V1.0)', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(async () => {
    await echo.close();
  });

  async function poweredTerminal(options = {}) {
    const terminal = createTerminal('BG96', options);
    // [HW] §3.6.1: PWRKEY low for at least 500 ms turns the module on.
    terminal.model.setPowerKey(true);
    await advance(terminal.clock, 600);
    terminal.model.setPowerKey(false);
    return terminal;
  }

  it('stays off on a short PWRKEY press, boots on >= 500 ms with RDY ... and answers identity and NB-IoT signal', async () => {
    const early = createTerminal('BG96');
    try {
      early.model.setPowerKey(true);
      await advance(early.clock, 200);
      early.model.setPowerKey(false);
      assert.equal(await early.listen(7000), '', '[HW] §3.6.1: 200 ms is too short');
    } finally {
      early.close();
    }
    const terminal = await poweredTerminal();
    try {
      // [AT] §12.7 Summary of URC: RDY, +CFUN: 1, +CPIN: <state>, +QIND: SMS DONE (then APP RDY, not in [AT]).
      assert.equal(await terminal.listen(7000), crlf('RDY') + crlf('+CFUN: 1') + crlf('+CPIN: READY') + crlf('+QIND: SMS DONE') + crlf('APP RDY'));
      // [AT] §2.8 AT+GSN -> <IMEI> alone on its line; echo on by default.
      assert.equal(await terminal.exchange('AT+GSN\r', 100), 'AT+GSN\r' + crlf('866834041234567') + crlf('OK'));
      await terminal.exchange('ATE0\r', 100);
      await terminal.listen(9000);
      // [AT] §6.18 AT+QCSQ -> +QCSQ: "CAT-NB1",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq>; SINR in 1/5 dB over
      // 0-250 for -20..+30 dB: 160 is +12 dB.
      assert.equal(await terminal.exchange('AT+QCSQ\r', 100), crlf('+QCSQ: "CAT-NB1",-73,-85,160,-10') + crlf('OK'));
      // [AT] §4.2.6 AT+QCFG="celevel" -> +QCFG: "celevel",<level>.
      assert.equal(await terminal.exchange('AT+QCFG="celevel"\r', 100), crlf('+QCFG: "celevel",0') + crlf('OK'));
      // [AT] §11.2 AT+CCLK? -> +CCLK: "<yy/MM/dd,hh:mm:ss±zz>" (quoted; zone in quarter hours).
      assert.match(await terminal.exchange('AT+CCLK?\r', 100), /^\r\n\+CCLK: "26\/08\/01,14:00:\d\d\+08"\r\n\r\nOK\r\n$/);
      assert.equal(await terminal.exchange('AT+QCFG="nonsense",1\r', 100), crlf('ERROR'));
      // Not in [AT] (nor [TCP], [PSM]): the 27.007 "no more PS data" command.
      assert.equal(await terminal.exchange('AT+CNMPSD\r', 100), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('UDP SERVICE: QIOPEN, QISEND with the > prompt and raw bytes, +QIURC "recv", QIRD with the data', async () => {
    const terminal = await poweredTerminal({ udp: { route: { host: '127.0.0.1', port: echo.port } } });
    try {
      await terminal.listen(16000);
      await terminal.exchange('ATE0\r', 100);
      // [TCP] §2.1.4 AT+QIOPEN: OK, then +QIOPEN: <connectID>,<err>; without an active context <err> is 561
      // ("Open PDP context failed", [TCP] Chapter 4 Table 1).
      assert.equal(await terminal.exchange('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0\r', 400), crlf('OK') + crlf('+QIOPEN: 2,561'));
      // [TCP] §2.1.1 AT+QICSGP=<contextID>,<context_type>,<APN>,<username>,<password>,<authentication>.
      assert.equal(await terminal.exchange('AT+QICSGP=1,1,"","","",1\r', 100), crlf('OK'));
      // [TCP] §2.1.2 AT+QIACT=<contextID> (up to 150 s); AT+QIACT? -> +QIACT: <id>,<state>,<type>,<IP_address>.
      assert.equal(await terminal.exchange('AT+QIACT=1\r', 2000), crlf('OK'));
      assert.equal(await terminal.exchange('AT+QIACT?\r', 100), crlf('+QIACT: 1,1,1,"10.76.12.9"') + crlf('OK'));
      // [TCP] §3.6.1, the manual's own example: AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0 -> OK, +QIOPEN: 2,0.
      assert.equal(await terminal.exchange('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0\r', 400), crlf('OK') + crlf('+QIOPEN: 2,0'));
      // An id in use: 563 ("Socket identity has been used", [TCP] Chapter 4 Table 1).
      assert.equal(await terminal.exchange('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3031,0\r', 400), crlf('OK') + crlf('+QIOPEN: 2,563'));
      // [TCP] §3.6.2 / §2.1.7: AT+QISEND=2,10,"10.7.89.10",6969, the prompt, exactly <send_length> bytes, SEND OK.
      assert.equal(await terminal.exchange('AT+QISEND=2,10,"10.7.89.10",6969\r', 100), '> ');
      // Raw bytes, CR and LF included (routed to the loopback echo here).
      const exchange = await terminal.exchange('test\r\n1234', 3000);
      // [TCP] §2.2.2 buffer access mode: +QIURC: "recv",<connectID>.
      assert.equal(exchange, crlf('SEND OK') + crlf('+QIURC: "recv",2'));
      assert.equal(echo.received.at(-1)!.toString('latin1'), 'test\r\n1234');
      // [TCP] §2.1.8 AT+QIRD=<id>,0 -> +QIRD: <total_receive_length>,<have_read_length>,<unread_length>.
      assert.equal(await terminal.exchange('AT+QIRD=2,0\r', 100), crlf('+QIRD: 10,0,10') + crlf('OK'));
      // [TCP] §2.1.8 / §3.6.3 "UDP SERVICE": +QIRD: <len>,"<remoteIP>",<remote_port> CR LF <data>, OK.
      assert.equal(
        await terminal.exchange('AT+QIRD=2\r', 200),
        crlf('+QIRD: 10,"127.0.0.1",' + echo.port) + 'test\r\n1234' + '\r\n' + crlf('OK'),
      );
      assert.equal(await terminal.exchange('AT+QIRD=2\r', 100), crlf('+QIRD: 0') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+QIRD=2,0\r', 100), crlf('+QIRD: 10,10,0') + crlf('OK'));
      // [TCP] §2.1.7: a connection that does not exist -> ERROR.
      assert.equal(await terminal.exchange('AT+QISEND=5,1,"10.7.89.10",6969\r', 100), crlf('ERROR'));
      // [TCP] §3.6.4 AT+QICLOSE=2 -> OK.
      assert.equal(await terminal.exchange('AT+QICLOSE=2\r', 100), crlf('OK'));
      // [AT] §11.1 AT+QPOWD: OK, then POWERED DOWN.
      assert.equal(await terminal.exchange('AT+QPOWD=1\r', 800), crlf('OK') + crlf('POWERED DOWN'));
      assert.equal(terminal.model.power, 'off');
    } finally {
      terminal.close();
    }
  });

  it('with psm/urc on: +QPSMTIMER at the release, POWER DOWN into PSM; UART does not wake it, PWRKEY does', async () => {
    const terminal = await poweredTerminal({ radio: { inactivityMs: 3000 } });
    try {
      await terminal.listen(7000); // boot URCs; the attach is still running
      await terminal.exchange('ATE0\r', 100);
      // [AT] §4.2.9 / [PSM] §3.5 AT+QCFG="psm/urc",1 enables +QPSMTIMER: <TAU_duration>,<Active_duration>.
      assert.equal(await terminal.exchange('AT+QCFG="psm/urc",1\r', 100), crlf('OK'));
      assert.equal(await terminal.exchange('AT+QCFG="psm/urc"\r', 100), crlf('+QCFG: "psm/urc",1') + crlf('OK'));
      // [AT] §6.8 AT+CPSMS=1,,,"<T3412>","<T3324>": "01000011" = 3 x 10 h, "00000101" = 5 x 2 s.
      assert.equal(await terminal.exchange('AT+CPSMS=1,,,"01000011","00000101"\r', 100), crlf('OK'));
      // [PSM] §3.6 example: +QPSMTIMER: 86400,2 then POWER DOWN. The URC comes when the RRC connection of the
      // attach is released and T3324 starts ([AT] §4.2.9); POWER DOWN when T3324 has run out.
      assert.equal(await terminal.listen(30000), crlf('+QPSMTIMER: 108000,10') + crlf('POWER DOWN'));
      assert.equal(await terminal.exchange('AT\r', 500), '');
      assert.equal(terminal.model.power, 'psm');
      // [PSM] §4 / [HW] §3.4.2: driving PWRKEY low wakes the module from PSM.
      terminal.model.setPowerKey(true);
      await advance(terminal.clock, 100);
      terminal.model.setPowerKey(false);
      assert.equal(await terminal.listen(4000), crlf('RDY') + crlf('+CFUN: 1') + crlf('+CPIN: READY') + crlf('+QIND: SMS DONE') + crlf('APP RDY'));
      assert.equal(await terminal.exchange('AT\r', 100), 'AT\r' + crlf('OK'), 'echo is back on after the restart');
    } finally {
      terminal.close();
    }
  });

  it('driver: PWRKEY >= 500 ms, context activation, UDP SERVICE socket, prompt send, buffered read, no release command', async () => {
    const rig = createModemRig({ model: 'BG96' });
    const settle = settler(rig.clock);
    try {
      const driver = rig.driver;
      const replies = await openDriverUdp(rig, settle, echo.port);
      await settle(driver.sendDatagram(Uint8Array.from([0x0d, 0x0a, 0x3e, 0x20]), { releaseAfter: 'send' }));
      await advance(rig.clock, 2000);
      assert.deepEqual(Array.from(replies[0]!), [0x0d, 0x0a, 0x3e, 0x20]);
      const commands = rig.trace.filter((line) => line.startsWith('> ')).map((line) => line.substring(2));
      for (const expected of [
        'AT+QCFG="iotopmode",1,1',
        'AT+QICSGP=1,1,"","","",1',
        'AT+QIACT=1',
        'AT+QIOPEN=1,0,"UDP SERVICE","127.0.0.1",0,56000,0',
        'AT+QISEND=0,4,"127.0.0.1",' + echo.port,
        'AT+QIRD=0',
      ]) {
        assert.ok(commands.includes(expected), expected + ' in ' + commands.join(' | '));
      }
      assert.ok(!commands.includes('AT+CNMPSD'));
    } finally {
      rig.close();
    }
  });
});
