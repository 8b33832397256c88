/**
 * BC66 dialect, byte for byte.
 *
 * Sources. The BC66 manuals themselves (Quectel_BC66_AT_Commands_Manual_V1.0, 2018-08-28, and the BC66 TCP/IP
 * AT Commands Manual) were found only as title pages and tables of contents: no BC66 section number could be
 * read in any source, so none is given below. What each exchange was checked against instead:
 * - [660] Quectel BC660K-GL&BC950K-GL AT Commands Manual V1.4 (2024-01-26), the BC66's successor on the same
 *   command set, section numbers as given (read in full).
 * - [BC26] a BC26 (same MT2625 platform) application note quoting the AT+QNBIOTRAI <rai> values 0-2.
 * - [R] Renode's Quectel_BC66 model (renode-infrastructure, Quectel_BC66.cs / QuectelModem.cs): BC66 accepts
 *   only <contextID> 1 in AT+QIOPEN, AT+QICLOSE answers OK then CLOSE OK, AT+QISEND answers OK then SEND OK,
 *   RDY when the module starts.
 * - Not checked against any text: the direct-push +QIURC "recv" line with hex data, the +QIOPEN <err> 563,
 *   and BC66 timings (PWRKEY >= 500 ms, boot time, PSM_EINT wake).
 */
import { strict as assert } from 'node:assert';
import { advance, createModemRig, createTerminal, settler, startEchoServer, openDriverUdp } from '../support/modem-rig';

const crlf = (line: string): string => '\r\n' + line + '\r\n';

describe('BC66 transcripts (BC66 AT Commands Manual V1.0, shapes checked against BC660K-GL AT Commands Manual V1.4)', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(async () => {
    await echo.close();
  });

  async function poweredTerminal() {
    const terminal = createTerminal('BC66');
    assert.equal(await terminal.listen(1000), '', 'off until PWRKEY');
    terminal.model.setPowerKey(true);
    await advance(terminal.clock, 600);
    terminal.model.setPowerKey(false);
    return terminal;
  }

  it('stays off until PWRKEY is held >= 500 ms, then prints RDY and answers with a space after the colon', async () => {
    const terminal = await poweredTerminal();
    try {
      // [R] RDY when the module is up; [660] §9.3 AT+CFUN example: RDY after a restart.
      assert.equal(await terminal.listen(1500), crlf('RDY'));
      // [660] §2.5 AT+CGSN=1 -> +CGSN: <IMEI>; echo is on until ATE0 ([660] §3.1 ATE).
      assert.equal(await terminal.exchange('AT+CGSN=1\r', 100), 'AT+CGSN=1\r' + crlf('+CGSN: 866425031234567') + crlf('OK'));
      assert.equal(await terminal.exchange('ATE0\r', 100), 'ATE0\r' + crlf('OK'));
      // [660] §8.11 AT+QCCID -> +QCCID: <ICCID>.
      assert.equal(await terminal.exchange('AT+QCCID\r', 100), crlf('+QCCID: 89882280666027595890') + crlf('OK'));
      // [660] §4.1 AT+CEREG=1 enables the URC +CEREG: <stat>; the read command answers +CEREG: <n>,<stat>.
      assert.equal(await terminal.exchange('AT+CEREG=1\r', 100), crlf('OK'));
      assert.equal(await terminal.listen(9000), crlf('+CEREG: 1'));
      assert.equal(await terminal.exchange('AT+CEREG?\r', 100), crlf('+CEREG: 1,1') + crlf('OK'));
      // [660] §4.7 AT+CSQ -> +CSQ: <rssi>,<ber>.
      assert.equal(await terminal.exchange('AT+CSQ\r', 100), crlf('+CSQ: 20,99') + crlf('OK'));
      // [660] §4.8 AT+QENG=0 -> +QENG: 0,<sc_EARFCN>,<sc_EARFCN_offset>,<sc_pci>,"<sc_cellID>",<sc_RSRP>,<sc_RSRQ>,
      // <sc_RSSI>,<sc_SINR>,<sc_band>,"<sc_TAC>",<sc_ECL>,<sc_Tx_pwr>,<operation_mode> (SINR in dB; offset 12 = 0).
      assert.equal(
        await terminal.exchange('AT+QENG=0\r', 100),
        crlf('+QENG: 0,3686,12,302,"00BC6B14",-85,-10,-73,12,8,"2B84",0,12,2') + crlf('OK'),
      );
      // [660] §12.1 AT+CCLK? -> +CCLK: <yy/MM/dd,hh:mm:ss>±<zz> (zone in quarter hours).
      assert.match(await terminal.exchange('AT+CCLK?\r', 100), /^\r\n\+CCLK: 26\/08\/01,14:00:\d\d\+08\r\n\r\nOK\r\n$/);
      // [660] §9.10 AT+QSCLK=<n>, n 0-2; [BC26]/[R] AT+QNBIOTRAI=<rai>, rai 0-2. Out of range: ERROR.
      assert.equal(await terminal.exchange('AT+QSCLK=7\r', 100), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+QNBIOTRAI=3\r', 100), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('opens a UDP socket, sends hex with QISEND and pushes the reply in +QIURC "recv"', async () => {
    const terminal = await poweredTerminal();
    try {
      await terminal.listen(10000);
      await terminal.exchange('ATE0\r', 100);
      // AT+QIOPEN=<contextID>,<connectID>,"UDP",<host>,<remote_port>,<local_port>,<access_mode 1 = direct push>:
      // OK, then +QIOPEN: <connectID>,<err>. [R] the BC66 takes only <contextID> 1; 0 (the BC660K's) is refused.
      assert.equal(await terminal.exchange('AT+QIOPEN=0,0,"UDP","127.0.0.1",' + echo.port + ',0,1\r', 400), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+QIOPEN=1,0,"UDP","127.0.0.1",' + echo.port + ',0,1\r', 400), crlf('OK') + crlf('+QIOPEN: 0,0'));
      // [R] AT+QICFG="dataformat",<send>,<recv> selects hex; without it QISEND with hex text is refused here.
      assert.equal(await terminal.exchange('AT+QISEND=0,4,"31323334"\r', 200), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+QICFG="dataformat",1,1\r', 100), crlf('OK'));
      // A connectID in use: +QIOPEN: <id>,563 (563 "socket identity has been used" is the BG96 TCP/IP manual's
      // code, Chapter 4; the BC66 code was not checked).
      assert.equal(await terminal.exchange('AT+QIOPEN=1,0,"UDP","127.0.0.1",' + echo.port + ',0,1\r', 400), crlf('OK') + crlf('+QIOPEN: 0,563'));
      // [R] AT+QISEND=<connectID>,<send_length>,<data>: OK, then SEND OK; the reply is pushed (direct push, hex).
      const exchange = await terminal.exchange('AT+QISEND=0,4,"31323334"\r', 3000);
      assert.equal(exchange, crlf('OK') + crlf('SEND OK') + crlf('+QIURC: "recv",0,4,"31323334"'));
      assert.equal(echo.received.at(-1)!.toString(), '1234');
      // Length and hex must agree.
      assert.equal(await terminal.exchange('AT+QISEND=0,3,"31323334"\r', 200), crlf('ERROR'));
      // [R] AT+QICLOSE=<connectID>: OK, then CLOSE OK.
      assert.equal(await terminal.exchange('AT+QICLOSE=0\r', 200), crlf('OK') + crlf('CLOSE OK'));
      assert.equal(await terminal.exchange('AT+QICLOSE=0\r', 200), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('never sleeps while AT+QSCLK=0; with QSCLK=1 it reports +QNBIOTEVENT: "ENTER PSM" and PSM_EINT wakes it', async () => {
    const terminal = await poweredTerminal();
    try {
      await terminal.listen(10000);
      await terminal.exchange('ATE0\r', 100);
      await terminal.exchange('AT+QSCLK=0\r', 100);
      // [660] §9.8 AT+QNBIOTEVENT=<enable>,<event 1 = PSM state> -> +QNBIOTEVENT: "ENTER PSM" / "EXIT PSM".
      await terminal.exchange('AT+QNBIOTEVENT=1,1\r', 100);
      // [660] §9.4 AT+CPSMS=<mode>,,,"<T3412>","<T3324>": "01000011" = 3 x 10 h, "00000101" = 5 x 2 s.
      assert.equal(await terminal.exchange('AT+CPSMS=1,,,"01000011","00000101"\r', 100), crlf('OK'));
      assert.equal(await terminal.listen(60000), '');
      assert.equal(terminal.model.power, 'on');
      assert.equal(terminal.model.current.currentState(), 'active');
      assert.equal(await terminal.exchange('AT+QSCLK=1\r', 100), crlf('OK'));
      assert.equal(await terminal.listen(11000), crlf('+QNBIOTEVENT: "ENTER PSM"'));
      assert.equal(terminal.model.power, 'psm');
      // [660] §9.10 AT+QSCLK=1: deep sleep, woken by PSM_EINT (falling edge) or the main UART.
      terminal.model.setPsmWake(true);
      assert.equal(await terminal.listen(120), crlf('+QNBIOTEVENT: "EXIT PSM"'));
      terminal.model.setPsmWake(false);
      assert.equal(await terminal.exchange('AT\r', 100), crlf('OK'));
    } finally {
      terminal.close();
    }
  });

  it('after the connection is released a reply waits for the paging occasion: DRX 2.56 s, or the eDRX cycle', async () => {
    const terminal = createTerminal('BC66', { radio: { releaseDelayMs: 0 } });
    terminal.model.setPowerKey(true);
    await advance(terminal.clock, 600);
    terminal.model.setPowerKey(false);
    try {
      await terminal.listen(10000);
      await terminal.exchange('ATE0\r', 100);
      await terminal.exchange('AT+QICFG="dataformat",1,1\r', 100);
      await terminal.exchange('AT+QNBIOTRAI=1\r', 100);
      await terminal.exchange('AT+QIOPEN=1,0,"UDP","127.0.0.1",' + echo.port + ',0,1\r', 400);
      await terminal.listen(30000); // the attach's RRC connection times out
      // [660] §9.1 and TS 27.007 §7.40 AT+CEDRXS=<mode>,<AcT-type 5 = NB-S1>,<eDRX value>; "0010" is 20.48 s. A bad value is refused.
      assert.equal(await terminal.exchange('AT+CEDRXS=1,5,"0111"\r', 100), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+CEDRXS=1,5,"0010"\r', 100), crlf('OK'));
      assert.equal(terminal.model.current.currentState(), 'edrx');
      const sentAt = terminal.clock.now();
      const quick = await terminal.exchange('AT+QISEND=0,2,"ABCD"\r', 2000);
      assert.equal(quick, crlf('OK') + crlf('SEND OK'), 'released at once: the reply is not there yet');
      let waited = quick;
      while (!waited.includes('+QIURC')) waited = await terminal.listen(1000);
      const arrivedAt = terminal.clock.now();
      assert.ok(waited.endsWith(crlf('+QIURC: "recv",0,2,"ABCD"')));
      assert.ok(arrivedAt - sentAt > 3000 && arrivedAt - sentAt <= 20480 + 2000, 'paged on the eDRX cycle: ' + (arrivedAt - sentAt));
      assert.equal(await terminal.exchange('AT+CEDRXS=0\r', 100), crlf('OK'));
      assert.equal(terminal.model.pagingCycleMs(), 2560);
    } finally {
      terminal.close();
    }
  });

  it('driver: QSCLK=0 while commanding, hex dataformat, release assistance before the send, reply delivered', async () => {
    const rig = createModemRig({ model: 'BC66' });
    const settle = settler(rig.clock);
    try {
      const driver = rig.driver;
      const replies = await openDriverUdp(rig, settle, echo.port);
      await settle(driver.sendDatagram(Uint8Array.from([0, 1, 2, 0xfe]), { releaseAfter: 'reply' }));
      await advance(rig.clock, 2000);
      assert.deepEqual(Array.from(replies[0]!), [0, 1, 2, 0xfe]);
      const commands = rig.trace.filter((line) => line.startsWith('> ')).map((line) => line.substring(2));
      const setup = commands.indexOf('ATE0');
      assert.deepEqual(commands.slice(setup, setup + 6), [
        'ATE0', 'AT+CMEE=1', 'AT+CEREG=1', 'AT+QSCLK=0', 'AT+QICFG="dataformat",1,1', 'AT+QNBIOTEVENT=1,1',
      ]);
      assert.ok(commands.includes('AT+QIOPEN=1,0,"UDP","127.0.0.1",' + echo.port + ',0,1'));
      assert.deepEqual(commands.slice(-2), ['AT+QNBIOTRAI=2', 'AT+QISEND=0,4,"000102FE"']);
    } finally {
      rig.close();
    }
  });
  it('driver: a refused AT+QNBIOTRAI ([660] §9.7: the BC660K takes it only while RRC connected) still sends', async () => {
    const rig = createModemRig({ model: 'BC66' });
    const settle = settler(rig.clock);
    try {
      const driver = rig.driver;
      const replies = await openDriverUdp(rig, settle, echo.port);
      rig.model.cmeBurst(1);
      await settle(driver.sendDatagram(Uint8Array.from([5, 6]), { releaseAfter: 'send' }));
      await advance(rig.clock, 2000);
      assert.deepEqual(Array.from(replies[0]!), [5, 6]);
      const tail = rig.trace.slice(-8).join(' | ');
      assert.ok(tail.includes('< +CME ERROR: 3') && tail.includes('> AT+QISEND=0,2,"0506"'), tail);
      // Not recorded as set: the next send with release assistance asks again.
      await settle(driver.sendDatagram(Uint8Array.from([7]), { releaseAfter: 'send' }));
      const commands = rig.trace.filter((line) => line.startsWith('> ')).map((line) => line.substring(2));
      assert.deepEqual(commands.slice(-2), ['AT+QNBIOTRAI=1', 'AT+QISEND=0,1,"07"']);
    } finally {
      rig.close();
    }
  });
});
