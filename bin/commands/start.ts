/**
 * `udt start` (`npm start`): the whole system on one machine with nothing else installed: an embedded MQTT broker
 * (127.0.0.1:1883), the gateway, and a small simulated fleet (simulator/fleet/scenarios/demo.json: four terminals
 * of two boards) running at accelerated virtual time. Prints where to subscribe and one line per reading that
 * reaches MQTT. Data lives in .udt/start (started afresh each time). Ctrl-C stops everything cleanly.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { projectRoot } from '../../hal/board-loader';
import type { Delivery, Fleet as FleetType } from '../../simulator/fleet/fleet';
import { ToolInputError } from '../tooling/device-files';
import { runTool } from './flash';

export interface StartCommandOptions {
  scenario: string;
  speed: string;
  brokerPort: string;
  coapPort: string;
  dataDir: string;
}

function describeValues(payload: Record<string, unknown>): string {
  const values = payload.values as Record<string, { value: unknown; unit?: string }> | undefined;
  if (!values) return JSON.stringify(payload).slice(0, 120);
  return Object.entries(values)
    .slice(0, 6)
    .map(([name, entry]) => `${name}=${typeof entry === 'object' && entry !== null ? `${String(entry.value)}${entry.unit ? ' ' + entry.unit : ''}` : String(entry)}`)
    .join('  ');
}

export function readingLine(delivery: Delivery): string {
  const time = typeof delivery.payload.time === 'string' ? delivery.payload.time.slice(11, 19) : '--:--:--';
  return `${time}  ${delivery.topic}  #${delivery.readingId}  ${describeValues(delivery.payload)}`;
}

export async function runStart(options: StartCommandOptions, print: (line: string) => void): Promise<void> {
  const { Fleet } = require('../../simulator/fleet/fleet') as typeof import('../../simulator/fleet/fleet');
  const { resolveScenario } = require('../../simulator/fleet/command') as typeof import('../../simulator/fleet/command');
  const speed = Number(options.speed);
  if (!(speed > 0)) throw new ToolInputError('usage', `--speed must be a positive number, got "${options.speed}"`);
  const brokerPort = Number(options.brokerPort);
  const coapPort = Number(options.coapPort);
  if (!(Number.isInteger(brokerPort) && brokerPort >= 0 && brokerPort < 65536)) throw new ToolInputError('usage', `--broker-port must be a port number, got "${options.brokerPort}"`);
  if (!(Number.isInteger(coapPort) && coapPort >= 0 && coapPort < 65536)) throw new ToolInputError('usage', `--coap-port must be a port number, got "${options.coapPort}"`);
  const scenario = resolveScenario(options.scenario);
  print(`udt start: scenario "${scenario.name}" - ${scenario.description ?? ''}`);

  // Virtual network time starts now, so the readings carry today's date; it then runs `speed` times faster.
  const create = (ports: { brokerPort: number; coapPort: number }): Promise<FleetType> =>
    Fleet.create(scenario, { dataDirectory: path.resolve(options.dataDir), ...ports, epochMs: Date.now(), log: (line) => print(line) });
  let fleet: FleetType;
  try {
    fleet = await create({ brokerPort, coapPort });
  } catch (error) {
    if (!/EADDRINUSE|address already in use/i.test((error as Error).message)) throw error;
    print(`port ${brokerPort} (MQTT) or ${coapPort} (CoAP) is in use; taking free ports instead`);
    fleet = await create({ brokerPort: 0, coapPort: 0 });
  }
  const url = new URL(fleet.mqttUrl);
  print('');
  print(`MQTT broker: ${fleet.mqttUrl}   (gateway CoAP/OSCORE on udp 127.0.0.1:${fleet.coapPort})`);
  print('Watch the readings with any MQTT client, e.g.:');
  print(`  mosquitto_sub -h ${url.hostname} -p ${url.port} -t 'udt/#' -v`);
  print(`  npx mqtt sub -h ${url.hostname} -p ${url.port} -t 'udt/#' -v`);
  print(`${fleet.terminals.length} terminals at ${speed}x virtual time; Ctrl-C stops.`);
  print('');
  fleet.onDelivery = (delivery) => print(readingLine(delivery));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    print('\nstopping...');
    fleet.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await fleet.run(Number.POSITIVE_INFINITY, { speed, progressEveryMs: 60_000 });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await fleet.close();
  }
  print(`stopped after ${(fleet.clock.now() / 60_000).toFixed(1)} virtual minutes; ${fleet.deliveredCount} readings delivered.`);
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run everything on this machine: embedded MQTT broker, gateway and a small simulated fleet (npm start)')
    .option('--scenario <name|file>', 'fleet scenario', 'demo')
    .option('--speed <factor>', 'virtual seconds per wall second', '30')
    .option('--broker-port <port>', 'embedded MQTT broker port (0: any free port)', '1883')
    .option('--coap-port <port>', 'gateway UDP port (0: any free port)', '5683')
    .option('--data-dir <dir>', 'gateway data directory (emptied at start)', path.join(projectRoot, '.udt', 'start'))
    .action((options: StartCommandOptions) => runTool('start', () => runStart(options, (line) => process.stdout.write(line + '\n')))());
}
