/**
 * The soak's MQTT broker, in its own process so it can be restarted: Mosquitto when it is installed (`.ci/run`
 * installs it), otherwise Aedes in a child process (aedes-process.ts).
 *
 * Mosquitto runs as a production broker for revenue data would: persistence on (a restart keeps sessions and the
 * messages queued for them; it saves them on SIGTERM) and no cap on queued messages (Mosquitto's default of 1000
 * per client drops the rest when a consumer falls behind, e.g. while the gateway drains a day of backlog).
 *
 * Aedes keeps sessions in memory, so a restarted Aedes has forgotten every subscription: it holds the gateway's
 * connection back (client ids `udt-gateway-*`) until `admitGateway()`, which the soak calls once the oracle has
 * subscribed again. On SIGTERM it cuts the gateway first and lets what it already accepted reach the subscribers.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { killWithParent } from '../../test/support/child-reaper';
import { findExecutable } from '../../test/gateway/support/mosquitto';

export type BrokerKind = 'mosquitto' | 'aedes';

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`the broker did not open port ${port} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export class SoakBroker {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly log: string[] = [];
  restarts = 0;

  private constructor(
    readonly kind: BrokerKind,
    readonly port: number,
    private readonly directory: string,
    private readonly binary: string | null,
    private readonly mosquittoSettings: string[],
  ) {}

  /** `preferred`: 'aedes' forces Aedes; otherwise Mosquitto when found, with `mosquittoSettings` added to its configuration. */
  static async start(directory: string, port: number, preferred: BrokerKind | null = null, mosquittoSettings: string[] = []): Promise<SoakBroker> {
    const binary = preferred === 'aedes' ? null : findExecutable('mosquitto');
    if (preferred === 'mosquitto' && !binary) throw new Error('mosquitto is not installed');
    const broker = new SoakBroker(binary ? 'mosquitto' : 'aedes', port, directory, binary, mosquittoSettings);
    await broker.launch();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Whether sessions (and the QoS 2 state in them) survive a restart. */
  get keepsSessions(): boolean {
    return this.kind === 'mosquitto';
  }

  get description(): string {
    return this.kind === 'mosquitto' ? `Mosquitto (${this.binary}, persistence on) on ${this.url}` : `Aedes in its own process (sessions in memory) on ${this.url}`;
  }

  private async launch(): Promise<void> {
    let child: ChildProcess;
    if (this.kind === 'mosquitto') {
      const lines = [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'persistence true',
        `persistence_location ${this.directory}/`,
        'persistence_file soak-broker.db',
        'autosave_interval 0',
        'max_queued_messages 0',
        'set_tcp_nodelay true',
        ...this.mosquittoSettings,
      ];
      // Started as root, Mosquitto drops to the "mosquitto" user, which cannot write our directory.
      if (process.getuid?.() === 0) lines.push('user root');
      const configFile = path.join(this.directory, 'soak-broker.conf');
      writeFileSync(configFile, lines.join('\n') + '\n');
      child = killWithParent(spawn(this.binary!, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] }));
      child.stderr!.on('data', (data: Buffer) => this.note(data.toString()));
    } else {
      const entry = path.join(__dirname, 'aedes-process.ts');
      child = killWithParent(spawn(process.execPath, ['--require', 'tsx/cjs', entry, String(this.port)], { stdio: ['pipe', 'pipe', 'pipe'], cwd: path.resolve(__dirname, '..', '..') }));
      child.stderr!.on('data', (data: Buffer) => this.note(data.toString()));
      createInterface({ input: child.stdout! }).on('line', (line) => this.note(line));
    }
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitForPort(this.port, 15000);
  }

  private note(text: string): void {
    if (this.log.length < 200) this.log.push(text.trimEnd());
  }

  /** Let the gateway in (Aedes only; Mosquitto never holds it back). */
  admitGateway(): void {
    if (this.kind === 'aedes') this.child?.stdin?.write('admit\n');
  }

  /** Graceful stop (SIGTERM): Mosquitto saves its sessions and queues. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await this.exited;
  }

  /** Stop, then start again on the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.launch();
    this.restarts++;
  }
}
