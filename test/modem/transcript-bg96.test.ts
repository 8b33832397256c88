/**
 * BG96 dialect (NB-IoT mode), byte for byte. Shapes follow the Quectel BG96 AT Commands Manual (AT+GSN,
 * AT+QCCID, AT+QCSQ, AT+QCFG, AT+QPOWD, AT+CCLK with the quoted time) and the BG96 TCP/IP Application Note:
 * §2.2.4 AT+QIOPEN (OK, then +QIOPEN: <connectID>,<err>), §2.2.7 AT+QISEND for "UDP SERVICE"
 * (<connectID>,<send_length>,<remoteIP>,<remote_port>, '>' prompt, SEND OK), §2.2.8 AT+QIRD
 * (+QIRD: <len>,<remoteIP>,<remote_port><CR><LF><data>), §2.3.2 +QIURC: "recv",<connectID> (buffer access
 * mode, no new URC until the buffer is read empty). The socket numbers, local port 3030 and the remote
 * 10.7.89.10:6969 are the application note's UDP SERVICE example values.
 */
import { strict as assert } from 'node:assert';
import { advance, createModemRig, createTerminal, settler, startEchoServer } from '../support/modem-rig';

const crlf = (line: string): string => '\r\n' + line + '\r\n';

describe('BG96 transcripts (BG96 AT Commands Manual, BG96 TCP/IP Application Note)', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(async () => {
    await echo.close();
  });

  async function poweredTerminal(options = {}) {
    const terminal = createTerminal('BG96', options);
    terminal.model.setPowerKey(true);
    await advance(terminal.clock, 200);
    terminal.model.setPowerKey(false);
    return terminal;
  }

  it('boots on a PWRKEY pulse with RDY ... APP RDY and answers identity and NB-IoT signal', async () => {
    const terminal = await poweredTerminal();
    try {
      assert.equal(await terminal.listen(7000), crlf('RDY') + crlf('+CFUN: 1') + crlf('+CPIN: READY') + crlf('+QUSIM: 1') + crlf('APP RDY'));
      assert.equal(await terminal.exchange('AT+GSN\r', 100), 'AT+GSN\r' + crlf('866834041234567') + crlf('OK'));
      await terminal.exchange('ATE0\r', 100);
      await terminal.listen(9000);
      // +QCSQ: "NBIoT",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq>
      assert.equal(await terminal.exchange('AT+QCSQ\r', 100), crlf('+QCSQ: "NBIoT",-73,-85,160,-10') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+QCFG="celevel"\r', 100), crlf('+QCFG: "celevel",0') + crlf('OK'));
      assert.match(await terminal.exchange('AT+CCLK?\r', 100), /^\r\n\+CCLK: "26\/08\/01,14:00:\d\d\+08"\r\n\r\nOK\r\n$/);
      assert.equal(await terminal.exchange('AT+QCFG="nonsense",1\r', 100), crlf('ERROR'));
    } finally {
      terminal.close();
    }
  });

  it('UDP SERVICE: QIOPEN, QISEND with the > prompt and raw bytes, +QIURC "recv", QIRD with the data', async () => {
    const terminal = await poweredTerminal({ udp: { route: { host: '127.0.0.1', port: echo.port } } });
    try {
      await terminal.listen(16000);
      await terminal.exchange('ATE0\r', 100);
      // Without an active context the socket cannot open.
      assert.equal(await terminal.exchange('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0\r', 400), crlf('OK') + crlf('+QIOPEN: 2,561'));
      assert.equal(await terminal.exchange('AT+QICSGP=1,1,"","","",1\r', 100), crlf('OK'));
      assert.equal(await terminal.exchange('AT+QIACT=1\r', 2000), crlf('OK'));
      assert.equal(await terminal.exchange('AT+QIACT?\r', 100), crlf('+QIACT: 1,1,1,"10.76.12.9"') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0\r', 400), crlf('OK') + crlf('+QIOPEN: 2,0'));
      assert.equal(await terminal.exchange('AT+QISEND=2,10,"10.7.89.10",6969\r', 100), '> ');
      // Raw bytes, CR and LF included, exactly <send_length> of them.
      const exchange = await terminal.exchange('test\r\n1234', 3000);
      assert.equal(exchange, crlf('SEND OK') + crlf('+QIURC: "recv",2'));
      assert.equal(echo.received.at(-1)!.toString('latin1'), 'test\r\n1234');
      assert.equal(await terminal.exchange('AT+QIRD=2,0\r', 100), crlf('+QIRD: 10,0,10') + crlf('OK'));
      assert.equal(
        await terminal.exchange('AT+QIRD=2\r', 200),
        crlf('+QIRD: 10,"127.0.0.1",' + echo.port) + 'test\r\n1234' + '\r\n' + crlf('OK'),
      );
      assert.equal(await terminal.exchange('AT+QIRD=2\r', 100), crlf('+QIRD: 0') + crlf('OK'));
      assert.equal(await terminal.exchange('AT+QISEND=5,1,"10.7.89.10",6969\r', 100), crlf('ERROR'));
      assert.equal(await terminal.exchange('AT+QICLOSE=2\r', 100), crlf('OK'));
      assert.equal(await terminal.exchange('AT+QPOWD=1\r', 800), crlf('OK') + crlf('POWERED DOWN'));
      assert.equal(terminal.model.power, 'off');
    } finally {
      terminal.close();
    }
  });

  it('prints PSM POWER DOWN (psm/urc on), ignores UART in PSM and restarts its application on the wake line', async () => {
    const terminal = await poweredTerminal({ radio: { inactivityMs: 3000 } });
    try {
      await terminal.listen(16000);
      await terminal.exchange('ATE0\r', 100);
      assert.equal(await terminal.exchange('AT+QCFG="psm/urc",1\r', 100), crlf('OK'));
      assert.equal(await terminal.exchange('AT+CPSMS=1,,,"01000011","00000101"\r', 100), crlf('OK'));
      assert.equal(await terminal.listen(20000), crlf('PSM POWER DOWN'));
      assert.equal(await terminal.exchange('AT\r', 500), '');
      assert.equal(terminal.model.power, 'psm');
      terminal.model.setPsmWake(true);
      await advance(terminal.clock, 100);
      terminal.model.setPsmWake(false);
      assert.equal(await terminal.listen(4000), crlf('RDY') + crlf('+CFUN: 1') + crlf('+CPIN: READY') + crlf('+QUSIM: 1') + crlf('APP RDY'));
      assert.equal(await terminal.exchange('AT\r', 100), 'AT\r' + crlf('OK'), 'echo is back on after the restart');
    } finally {
      terminal.close();
    }
  });

  it('driver: context activation, UDP SERVICE socket, prompt send, buffered read', async () => {
    const rig = createModemRig({ model: 'BG96' });
    const settle = settler(rig.clock);
    try {
      const driver = rig.driver;
      await settle(driver.powerOn());
      await settle(driver.attach(120000));
      await settle(driver.openUdp('127.0.0.1', echo.port));
      const replies: Uint8Array[] = [];
      driver.onDatagram((data) => replies.push(data));
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
        'AT+CNMPSD',
        'AT+QIRD=0',
      ]) {
        assert.ok(commands.includes(expected), expected + ' in ' + commands.join(' | '));
      }
    } finally {
      rig.close();
    }
  });
});
