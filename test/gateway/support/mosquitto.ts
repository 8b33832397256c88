/** A real Mosquitto broker for tests, when one is installed (CI installs it from Debian). */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import path from 'node:path';
import { killWithParent } from '../../support/child-reaper';

/** Looks on PATH, then in /usr/sbin (where Debian puts it, often not on a user's PATH). */
export function findExecutable(name: string, extraDirectories: string[] = ['/usr/sbin', '/usr/local/sbin']): string | null {
  const directories = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirectories];
  for (const directory of directories) {
    if (!directory) continue;
    const candidate = path.join(directory, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface MosquittoOptions {
  port: number;
  directory: string;
  /** user -> password; without it anonymous clients are allowed. */
  users?: Record<string, string>;
  tls?: { caFile: string; certFile: string; keyFile: string };
  /** Keep sessions and queued messages across a restart (saved on SIGTERM). */
  persistent?: boolean;
  /** More lines for mosquitto.conf, e.g. `max_inflight_messages 5`. */
  settings?: string[];
  /** Contents of an ACL file (acl_file); change it with `replaceAcl`. */
  acl?: string;
}

export class Mosquitto {
  private constructor(private readonly child: ChildProcess, readonly options: MosquittoOptions, readonly log: string[]) {}

  static start(binary: string, options: MosquittoOptions): Mosquitto {
    const lines = [`listener ${options.port} 127.0.0.1`, 'log_dest stderr'];
    // Started as root, Mosquitto drops to the "mosquitto" user, which cannot read our temp directory.
    if (process.getuid?.() === 0) lines.push('user root');
    if (options.persistent) lines.push('persistence true', `persistence_location ${options.directory}/`, `persistence_file mosquitto-${options.port}.db`);
    else lines.push('persistence false');
    if (options.users) {
      const passwordFile = path.join(options.directory, 'passwords');
      writeFileSync(passwordFile, '');
      const passwd = findExecutable('mosquitto_passwd', ['/usr/bin']);
      if (!passwd) throw new Error('mosquitto_passwd not found');
      for (const [user, password] of Object.entries(options.users)) execFileSync(passwd, ['-b', passwordFile, user, password]);
      lines.push('allow_anonymous false', `password_file ${passwordFile}`);
    } else {
      lines.push('allow_anonymous true');
    }
    if (options.tls) lines.push(`cafile ${options.tls.caFile}`, `certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`);
    lines.push(...(options.settings ?? []));
    if (options.acl !== undefined) {
      writeFileSync(aclFile(options), options.acl);
      lines.push(`acl_file ${aclFile(options)}`);
    }
    const configFile = path.join(options.directory, `mosquitto-${options.port}.conf`);
    writeFileSync(configFile, lines.join('\n') + '\n');
    const child = killWithParent(spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] }));
    const log: string[] = [];
    child.stderr!.on('data', (data: Buffer) => log.push(data.toString()));
    return new Mosquitto(child, options, log);
  }

  /** Writes a new ACL file and makes Mosquitto read it again (SIGHUP reloads acl_file). */
  replaceAcl(acl: string): void {
    writeFileSync(aclFile(this.options), acl);
    this.child.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }
}

function aclFile(options: MosquittoOptions): string {
  return path.join(options.directory, `mosquitto-${options.port}.acl`);
}

/** A throw-away CA and a server certificate for localhost/127.0.0.1, made with the openssl command. */
export function makeTestCertificates(directory: string): { caFile: string; certFile: string; keyFile: string } | null {
  const openssl = findExecutable('openssl', ['/usr/bin']);
  if (!openssl) return null;
  const file = (name: string): string => path.join(directory, name);
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { stdio: 'ignore' });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=udt test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext')]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}
