/**
 * An external MQTT broker for tests (Aedes on a fixed or ephemeral port) that can be taken down and brought
 * back on the same port, and can hold the gateway's connection back until observers have subscribed.
 */
import { createServer, Server, AddressInfo, Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface TestBrokerOptions {
  port?: number;
  /** Require this user name and password from every client. */
  credentials?: { username: string; password: string };
  /** Refuse clients whose id starts with this, until `admit()`. */
  holdBackPrefix?: string;
}

export class TestBroker {
  private admitted: boolean;

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
    private readonly options: TestBrokerOptions,
  ) {
    this.admitted = !options.holdBackPrefix;
  }

  static async start(options: TestBrokerOptions = {}): Promise<TestBroker> {
    let self: TestBroker | null = null;
    const broker = await Aedes.createBroker({
      preConnect: (client, _packet, callback) => {
        const held = self !== null && !self.admitted && options.holdBackPrefix !== undefined && String(client.id ?? '').startsWith(options.holdBackPrefix);
        callback(null, !held);
      },
      authenticate: (_client, username, password, done) => {
        if (!options.credentials) return done(null, true);
        const ok = username === options.credentials.username && password?.toString() === options.credentials.password;
        if (ok) return done(null, true);
        const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 as const });
        done(error, null);
      },
    });
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    self = new TestBroker(broker, server, sockets, (server.address() as AddressInfo).port, options);
    return self;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Lets held-back clients connect on their next attempt. */
  admit(): void {
    this.admitted = true;
  }

  /** Takes the broker down: connections are cut and the port closes (an outage; in-memory state is lost). */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Brings up a fresh broker on the same port. */
  static restart(previous: TestBroker, options: Omit<TestBrokerOptions, 'port'> = {}): Promise<TestBroker> {
    return TestBroker.start({ ...previous.options, ...options, port: previous.port });
  }
}
