/**
 * The gateway under attack as its own process (the bundled `udt gateway` CLI the SIGKILL test uses): start,
 * SIGKILL, restart on the same ports and database, RSS from /proc, and counters from its /metrics, summed over
 * its lives (a restarted process starts its counters at zero; `kill` is only called right after `scrape`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gatewayBundle, GatewayChild, spawnGateway } from '../../gateway/support/gateway-process';

export interface GatewayCounters {
  accepted: number;
  retransmissions: number;
  readingsStored: number;
  readingsDuplicate: number;
  rejected: Record<string, number>;
}

export function emptyCounters(): GatewayCounters {
  return { accepted: 0, retransmissions: 0, readingsStored: 0, readingsDuplicate: 0, rejected: {} };
}

export function addCounters(left: GatewayCounters, right: GatewayCounters, sign = 1): GatewayCounters {
  const rejected: Record<string, number> = { ...left.rejected };
  for (const [reason, value] of Object.entries(right.rejected)) rejected[reason] = (rejected[reason] ?? 0) + sign * value;
  return {
    accepted: left.accepted + sign * right.accepted,
    retransmissions: left.retransmissions + sign * right.retransmissions,
    readingsStored: left.readingsStored + sign * right.readingsStored,
    readingsDuplicate: left.readingsDuplicate + sign * right.readingsDuplicate,
    rejected,
  };
}

export function parseMetrics(text: string): GatewayCounters {
  const counters = emptyCounters();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line.trim());
    if (!match) continue;
    const [, name, labels, valueText] = match;
    const value = Number(valueText);
    if (name === 'udt_gateway_uplinks_accepted_total') counters.accepted = value;
    else if (name === 'udt_gateway_retransmissions_total') counters.retransmissions = value;
    else if (name === 'udt_gateway_readings_stored_total') counters.readingsStored = value;
    else if (name === 'udt_gateway_readings_duplicate_total') counters.readingsDuplicate = value;
    else if (name === 'udt_gateway_uplinks_rejected_total') {
      const reason = /reason="([^"]*)"/.exec(labels ?? '')?.[1] ?? 'unknown';
      counters.rejected[reason] = value;
    }
  }
  return counters;
}

export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function freeUdpPort(): Promise<number> {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

let bundleDirectory: string | null = null;

/**
 * gatewayBundle caches the bundle's path for the whole process, and other tests (the SIGKILL test) may get that
 * cached path after this run is over: so the bundle lives in its own directory, removed when the process exits.
 */
function sharedBundleDirectory(): string {
  if (!bundleDirectory) {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'udt-gateway-bundle-'));
    bundleDirectory = directory;
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  }
  return bundleDirectory;
}

export class GatewayUnderTest {
  private child: GatewayChild | null = null;
  /** Counters of earlier lives. */
  private earlier = emptyCounters();
  private lastScrape = emptyCounters();
  restarts = 0;

  private constructor(private readonly bundle: string, private readonly gatewayArguments: string[], private readonly environment: NodeJS.ProcessEnv, readonly coapPort: number, readonly httpPort: number) {}

  /** `ports`: fixed CoAP and HTTP ports (the soak keeps them out of the ephemeral range, which its many sockets use). */
  static async create(dataDirectory: string, brokerUrl: string, environment: NodeJS.ProcessEnv = {}, ports: { coap?: number; http?: number } = {}): Promise<GatewayUnderTest> {
    const bundle = await gatewayBundle(sharedBundleDirectory());
    const coapPort = ports.coap ?? (await freeUdpPort());
    const httpPort = ports.http ?? (await freeTcpPort());
    const gatewayArguments = ['--data-dir', dataDirectory, '--coap-host', '127.0.0.1', '--coap-port', String(coapPort), '--mqtt', brokerUrl, '--http-port', String(httpPort)];
    return new GatewayUnderTest(bundle, gatewayArguments, { UDT_GATEWAY_MQTT_RECONNECT_MILLISECONDS: '100', ...environment }, coapPort, httpPort);
  }

  async start(): Promise<void> {
    this.child = spawnGateway(this.bundle, this.gatewayArguments, this.environment);
    await this.child.ready;
    this.lastScrape = emptyCounters();
  }

  get pid(): number {
    return this.child?.process.pid ?? -1;
  }

  /** Resident set size in bytes (Linux /proc). */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match ? Number(match[1]) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  /** Counters summed over every life of the gateway so far. */
  async scrape(): Promise<GatewayCounters> {
    const response = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`);
    this.lastScrape = parseMetrics(await response.text());
    return addCounters(this.earlier, this.lastScrape);
  }

  /** SIGKILL, then start again on the same ports and database. Call right after `scrape` with traffic paused. */
  async killAndRestart(): Promise<void> {
    this.earlier = addCounters(this.earlier, this.lastScrape);
    this.lastScrape = emptyCounters();
    const child = this.child!;
    child.process.kill('SIGKILL');
    await child.exited;
    this.restarts++;
    await this.start();
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.process.exitCode !== null) return child?.process.exitCode ?? null;
    child.process.kill('SIGTERM');
    return child.exited;
  }

  get output(): string[] {
    return this.child?.output ?? [];
  }
}
