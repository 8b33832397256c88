/**
 * Acceptance (issue 9): `udt start` (what `npm start` runs) brings up the broker, the gateway and the demo fleet;
 * a plain MQTT client sees readings in under 30 s from the start of the process; Ctrl-C (SIGINT) stops it cleanly.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import mqtt from 'mqtt';
import { temporaryDirectory } from '../gateway/support/harness';
import { projectRoot } from './support';

describe('udt start (npm start)', function () {
  this.timeout(90000);

  it('shows readings from the simulated fleet on MQTT in under 30 s and stops cleanly on Ctrl-C', async () => {
    const directory = temporaryDirectory('udt-start-');
    const started = Date.now();
    // Free ports instead of 1883/5683, so the test runs beside anything else on the machine.
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'udt.js'), 'start', '--broker-port', '0', '--coap-port', '0', '--data-dir', directory.path], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no broker address printed:\n' + output)), 30000);
        const check = (): void => {
          const match = /MQTT broker: (mqtt:\/\/[\d.]+:\d+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          } else setTimeout(check, 50);
        };
        check();
      });
      assert.match(output, /mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t 'udt\/#' -v/);
      const client = await mqtt.connectAsync(url, { protocolVersion: 4 });
      const reading = await new Promise<{ topic: string; payload: Record<string, unknown> }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reading on MQTT within 30 s of the start:\n' + output)), Math.max(1000, 30000 - (Date.now() - started)));
        client.on('message', (topic, payload) => {
          if (!/^udt\/\d{15}\/up$/.test(topic)) return;
          clearTimeout(timer);
          resolve({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
        });
        void client.subscribeAsync('udt/#', { qos: 1 });
      });
      const elapsed = Date.now() - started;
      console.log(`      first reading on MQTT ${(elapsed / 1000).toFixed(1)} s after the start: ${reading.topic}`);
      assert.ok(elapsed < 30000);
      assert.equal(typeof reading.payload.readingId, 'number');
      assert.ok(reading.payload.values && typeof reading.payload.values === 'object');
      await client.endAsync();
      child.kill('SIGINT');
      assert.equal(await exited, 0, output);
      assert.match(output, /stopped after [\d.]+ virtual minutes; \d+ readings delivered\./);
    } finally {
      child.kill('SIGKILL');
      directory.remove();
    }
  });
});
