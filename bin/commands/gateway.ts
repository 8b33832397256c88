import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { GatewayConfig } from '../../gateway/config';
import type { Channel } from '../../gateway/store/registry';

// The gateway modules load native SQLite, MQTT and the broker: required only when a gateway command runs, so
// the other commands start fast.
const loadConfigModule = (): typeof import('../../gateway/config') => require('../../gateway/config');
const loadRegistryModule = (): typeof import('../../gateway/store/registry') => require('../../gateway/store/registry');
const loadDatabaseModule = (): typeof import('../../gateway/store/database') => require('../../gateway/store/database');

export class GatewayUsageError extends Error {
  readonly exitCode = 2;
}

interface CommonOptions {
  config?: string;
  dataDir?: string;
}

interface RunOptions extends CommonOptions {
  gatewayId?: string;
  coapHost?: string;
  coapPort?: string;
  mqtt?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  mqttCa?: string;
  mqttCert?: string;
  mqttKey?: string;
  mqttQos?: string;
  mqttProtocolVersion?: string;
  brokerHost?: string;
  brokerPort?: string;
  httpHost?: string;
  httpPort?: string;
  topicPrefix?: string;
  payloadFormat?: string;
  insecurePlainCoap?: boolean;
  logLevel?: string;
}

function resolveConfig(options: RunOptions): GatewayConfig {
  const overrides: Partial<Record<keyof GatewayConfig, unknown>> = {
    dataDirectory: options.dataDir,
    gatewayId: options.gatewayId,
    coapHost: options.coapHost,
    coapPort: options.coapPort,
    mqttUrl: options.mqtt,
    mqttUsername: options.mqttUsername,
    mqttPassword: options.mqttPassword,
    mqttCaFile: options.mqttCa,
    mqttCertFile: options.mqttCert,
    mqttKeyFile: options.mqttKey,
    mqttQos: options.mqttQos,
    mqttProtocolVersion: options.mqttProtocolVersion,
    brokerHost: options.brokerHost,
    brokerPort: options.brokerPort,
    httpHost: options.httpHost,
    httpPort: options.httpPort,
    topicPrefix: options.topicPrefix,
    payloadFormat: options.payloadFormat,
    insecurePlainCoap: options.insecurePlainCoap,
    logLevel: options.logLevel,
  };
  return loadConfigModule().loadConfig({ file: options.config, environment: process.env, overrides });
}

function withCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'gateway config file (JSON; see docs/gateway.md)')
    .option('-d, --data-dir <dir>', 'directory of the gateway database (default .udt/gateway, env UDT_GATEWAY_DATA_DIRECTORY)');
}

function openRegistry(options: CommonOptions): { registry: import('../../gateway/store/registry').DeviceRegistry; close(): void } {
  const config = resolveConfig(options);
  const { openDatabase, databaseFile } = loadDatabaseModule();
  const database = openDatabase(databaseFile(config.dataDirectory));
  const { DeviceRegistry } = loadRegistryModule();
  return { registry: new DeviceRegistry(database), close: () => database.close() };
}

/** `name:unit,name,...` -> channels. */
export function parseChannels(text: string): Channel[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const [name, unit] = part.split(':');
      return unit ? { name: name!, unit } : { name: name! };
    });
}

/** A meter profile's points, in order, as the device's channel list. */
export function channelsFromProfile(profile: string): Channel[] {
  const file = /[/\\]|\.json$/.test(profile) ? profile : path.join(__dirname, '..', '..', 'profiles', `${profile}.json`);
  let parsed: { points?: Array<{ name: string; unit?: string }> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new GatewayUsageError(`cannot read profile ${profile} (${file}): ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed.points)) throw new GatewayUsageError(`profile ${profile} has no points`);
  return parsed.points.map((point) => (point.unit ? { name: point.name, unit: point.unit } : { name: point.name }));
}

export function registerGatewayCommand(program: Command): void {
  const gateway = withCommonOptions(program.command('gateway'))
    .description('run the CoAP/OSCORE -> MQTT gateway (embedded broker unless --mqtt is given); subcommands manage devices')
    .option('--gateway-id <id>', 'name in udt/gateway/<id>/status')
    .option('--coap-host <address>', 'UDP listen address (default 0.0.0.0)')
    .option('--coap-port <port>', 'UDP listen port (default 5683)')
    .option('--mqtt <url>', 'external broker, e.g. mqtt://host:1883 or mqtts://host:8883 (default: run the embedded broker)')
    .option('--mqtt-username <name>', 'broker user name')
    .option('--mqtt-password <password>', 'broker password (prefer UDT_GATEWAY_MQTT_PASSWORD)')
    .option('--mqtt-ca <file>', 'CA certificate (PEM) for mqtts://')
    .option('--mqtt-cert <file>', 'client certificate (PEM) for mqtts://')
    .option('--mqtt-key <file>', 'client key (PEM) for mqtts://')
    .option('--mqtt-qos <qos>', '2 (default): each message reaches the broker exactly once, across gateway crashes too; 1: at least once')
    .option('--mqtt-protocol-version <version>', "4 (default): MQTT 3.1.1; 5: MQTT 5, the broker's Receive Maximum sets how many messages are in flight")
    .option('--broker-host <address>', 'embedded broker listen address (default 127.0.0.1)')
    .option('--broker-port <port>', 'embedded broker listen port (default 1883)')
    .option('--http-host <address>', '/metrics and /health listen address (default 127.0.0.1)')
    .option('--http-port <port>', '/metrics and /health port (default 9464; -1 disables)')
    .option('--topic-prefix <prefix>', 'MQTT topic prefix (default udt)')
    .option('--payload-format <format>', 'json (default) or senml (SenML-JSON packs on .../up)')
    .option('--insecure-plain-coap', 'DEVELOPMENT ONLY: also accept unauthenticated plain CoAP (POST /up?imei=...)')
    .option('--log-level <level>', 'pino log level (default info)')
    .addHelpText('after', '\nExamples:\n  udt gateway\n  udt gateway --mqtt mqtts://broker:8883 --mqtt-username gw --mqtt-ca ca.pem\n  udt gateway provision --imei 490154203237518 --profile eastron-sdm120 --out device-secrets.json')
    .action(async (options: RunOptions) => {
      const config = resolveConfig(options);
      const { Gateway } = require('../../gateway/gateway') as typeof import('../../gateway/gateway');
      const running = await Gateway.start(config, { processMetrics: true, version: require('../../package.json').version as string });
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string): void => {
          running.logger.info({ signal }, 'shutdown requested');
          running.stop().then(resolve, (error: Error) => {
            running.logger.error({ error: error.message }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
    });

  withCommonOptions(gateway.command('provision'))
    .description('add a device: creates its OSCORE key id and master secret and prints its secrets ONCE, for flashing')
    .requiredOption('--imei <imei>', "the modem's IMEI (15 digits)")
    .option('--profile <id>', 'meter profile (profiles/<id>.json): its points become the channel list')
    .option('--channels <list>', 'channel list instead of a profile: name:unit,name:unit,...')
    .option('-o, --out <file>', 'write the secrets to this file (mode 600) instead of standard output')
    .option('--allow-invalid-imei', 'accept an IMEI whose check digit is wrong (test equipment)')
    .action((_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<CommonOptions & { imei: string; profile?: string; channels?: string; out?: string; allowInvalidImei?: boolean }>();
      const channels = options.channels ? parseChannels(options.channels) : options.profile ? channelsFromProfile(options.profile) : [];
      const opened = openRegistry(options);
      try {
        const { secrets } = opened.registry.provision({ imei: options.imei, profile: options.profile ?? null, channels, allowInvalidImei: options.allowInvalidImei });
        const text = JSON.stringify(secrets, null, 2) + '\n';
        if (options.out) {
          writeFileSync(options.out, text, { mode: 0o600, flag: 'wx' });
          process.stderr.write(`device ${options.imei} provisioned (kid ${secrets.oscore.kid}); secrets written to ${options.out}. They are not shown again.\n`);
        } else {
          process.stdout.write(text);
          process.stderr.write(`device ${options.imei} provisioned (kid ${secrets.oscore.kid}). Keep these secrets for flashing: they are not shown again.\n`);
        }
      } finally {
        opened.close();
      }
    });

  withCommonOptions(gateway.command('revoke'))
    .description('revoke a device: its uplinks are rejected from now on (a running gateway notices within seconds)')
    .requiredOption('--imei <imei>', "the device's IMEI")
    .action((_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<CommonOptions & { imei: string }>();
      const opened = openRegistry(options);
      try {
        const device = opened.registry.revoke(options.imei);
        process.stdout.write(`device ${device.imei} revoked\n`);
      } finally {
        opened.close();
      }
    });

  withCommonOptions(gateway.command('list'))
    .description('list the registered devices')
    .option('--json', 'print JSON (without secrets)')
    .action((_options: unknown, command: Command) => {
      // --data-dir and --config may be given before or after the subcommand name: the parent takes them first.
      const options = command.optsWithGlobals<CommonOptions & { json?: boolean }>();
      const opened = openRegistry(options);
      try {
        const { hex } = loadRegistryModule();
        const devices = opened.registry.list().map((device) => ({
          imei: device.imei,
          kid: hex(device.kid),
          status: device.status,
          profile: device.profile,
          channels: device.channels.map((channel) => channel.name),
          lastReadingId: device.lastReadingId >= 0 ? device.lastReadingId : null,
          lastSeen: device.lastSeenAt ? new Date(device.lastSeenAt).toISOString() : null,
          lastAddress: device.lastAddress ? `${device.lastAddress}:${device.lastPort}` : null,
        }));
        if (options.json) {
          process.stdout.write(JSON.stringify(devices, null, 2) + '\n');
          return;
        }
        const header = ['imei', 'kid', 'status', 'profile', 'last reading', 'last seen', 'last address'];
        const rows = devices.map((device) => [
          device.imei, device.kid, device.status, device.profile ?? '-', device.lastReadingId === null ? '-' : String(device.lastReadingId),
          device.lastSeen ?? '-', device.lastAddress ?? '-',
        ]);
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
        const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
        process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
      } finally {
        opened.close();
      }
    });
}
