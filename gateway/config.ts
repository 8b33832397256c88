/**
 * Gateway configuration: defaults, then a JSON config file, then environment variables (UDT_GATEWAY_*), then
 * command-line options. Every setting has one name used in all four places (camelCase in the file and on the
 * command line as --kebab-case, SCREAMING_SNAKE after the UDT_GATEWAY_ prefix in the environment).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from './errors';

export type PayloadFormat = 'json' | 'senml';
export type RateLimitKey = 'address' | 'address-port';

export interface GatewayConfig {
  /** Identifies this gateway in `udt/gateway/{id}/status`. */
  gatewayId: string;
  /** Directory for the SQLite database (gateway.db). */
  dataDirectory: string;
  /** UDP listen address and port for CoAP. */
  coapHost: string;
  coapPort: number;
  /** Accept plain (unprotected) CoAP. Development only; devices are still looked up in the registry by IMEI. */
  insecurePlainCoap: boolean;
  /** External broker URL (mqtt://, mqtts://). Empty: run the embedded Aedes broker. */
  mqttUrl: string;
  mqttUsername: string;
  mqttPassword: string;
  /** PEM files for mqtts:// (CA to trust, and an optional client certificate and key). */
  mqttCaFile: string;
  mqttCertFile: string;
  mqttKeyFile: string;
  /** Wait between attempts to reach the broker. */
  mqttReconnectMilliseconds: number;
  /** QoS of the journal's messages: 2 reaches subscribers exactly once, across gateway crashes too; 1 at least once. */
  mqttQos: number;
  /**
   * QoS 2 messages an external broker takes in flight from one client (Mosquitto: max_inflight_messages, default
   * 20; 0 there means no limit). Mosquitto drops, without telling an MQTT 3.1.1 client, a QoS 2 message beyond it,
   * so the gateway keeps at most this many (and at most publishWindow) awaiting PUBCOMP. Not used with the
   * embedded broker, which has no such limit.
   */
  mqttBrokerInflightMaximum: number;
  /**
   * MQTT version toward an external broker: 4 (MQTT 3.1.1) or 5. With 5 the broker's CONNACK says how many QoS 1
   * and 2 messages it takes in flight (Receive Maximum; Mosquitto sends its max_inflight_messages) and the gateway
   * keeps to that, so mqttBrokerInflightMaximum is not needed. The embedded broker always speaks 3.1.1.
   */
  mqttProtocolVersion: number;
  /** Embedded broker listen address and port (only without mqttUrl). */
  brokerHost: string;
  brokerPort: number;
  /** Topic prefix: `{prefix}/{device}/up` etc. */
  topicPrefix: string;
  payloadFormat: PayloadFormat;
  /** HTTP listen address and port for /metrics and /health; port 0 picks a free port, -1 disables HTTP. */
  httpHost: string;
  httpPort: number;
  /** MQTT messages published but not yet acknowledged (PUBACK) at any time. */
  publishWindow: number;
  /** Journal rows held in memory ahead of publishing; the rest waits in SQLite. */
  publishBufferRows: number;
  /** Uplinks staged for one commit at most; more waits for the next commit. */
  commitBatchLimit: number;
  /** Uplinks waiting for a commit at most; beyond that uplinks are answered 5.03 and the device retries. */
  maximumPendingUplinks: number;
  /** Datagrams larger than this are dropped unread. */
  maximumDatagramBytes: number;
  /** Per-source token bucket: sustained datagrams per second and burst size; 0 disables the limit. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  rateLimitKey: RateLimitKey;
  /** Sources tracked by the rate limiter at most (least recently seen are forgotten). */
  rateLimitSources: number;
  /** Responses kept to answer CoAP retransmissions (RFC 7252 EXCHANGE_LIFETIME is 247 s). */
  responseCacheEntries: number;
  responseCacheSeconds: number;
  /** Downlink commands expire after this unless the command says otherwise. */
  commandTimeToLiveSeconds: number;
  /** Response payload budget for commands (an NB-IoT datagram should stay well under 1280 bytes). */
  commandBytesPerResponse: number;
  /** The retained state is republished when only "last seen" changed at most this often. */
  stateRefreshSeconds: number;
  /** SQLite synchronous mode: FULL fsyncs every commit (what the journal promises); NORMAL is for benchmarks of the difference. */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  logLevel: string;
  /** Graceful shutdown: time allowed to finish commits and publishes. */
  shutdownGraceSeconds: number;
  /** MQTT client and embedded broker in a worker thread (false: everything in one thread). */
  mqttThread: boolean;
}

export const DEFAULT_CONFIG: GatewayConfig = {
  gatewayId: 'gw1',
  dataDirectory: '.udt/gateway',
  coapHost: '0.0.0.0',
  coapPort: 5683,
  insecurePlainCoap: false,
  mqttUrl: '',
  mqttUsername: '',
  mqttPassword: '',
  mqttCaFile: '',
  mqttCertFile: '',
  mqttKeyFile: '',
  mqttReconnectMilliseconds: 1000,
  mqttQos: 2,
  mqttBrokerInflightMaximum: 20,
  mqttProtocolVersion: 4,
  brokerHost: '127.0.0.1',
  brokerPort: 1883,
  topicPrefix: 'udt',
  payloadFormat: 'json',
  httpHost: '127.0.0.1',
  httpPort: 9464,
  publishWindow: 4096,
  publishBufferRows: 16384,
  commitBatchLimit: 512,
  maximumPendingUplinks: 4096,
  maximumDatagramBytes: 1280,
  rateLimitPerSecond: 20,
  rateLimitBurst: 40,
  rateLimitKey: 'address-port',
  rateLimitSources: 100000,
  responseCacheEntries: 100000,
  responseCacheSeconds: 247,
  commandTimeToLiveSeconds: 7 * 24 * 3600,
  commandBytesPerResponse: 512,
  stateRefreshSeconds: 60,
  sqliteSynchronous: 'FULL',
  logLevel: 'info',
  shutdownGraceSeconds: 10,
  mqttThread: true,
};

type Kind = 'string' | 'number' | 'boolean';

function kindOf(key: keyof GatewayConfig): Kind {
  return typeof DEFAULT_CONFIG[key] as Kind;
}

export function environmentName(key: string): string {
  return 'UDT_GATEWAY_' + key.replace(/[A-Z]/g, (letter) => '_' + letter).toUpperCase();
}

function coerce(key: keyof GatewayConfig, value: unknown, source: string): unknown {
  const kind = kindOf(key);
  if (kind === 'number') {
    const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(number)) throw new GatewayError('config', `${source}: ${key} must be a number, got ${JSON.stringify(value)}`);
    return number;
  }
  if (kind === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1' || value === 'yes') return true;
    if (value === 'false' || value === '0' || value === 'no' || value === '') return false;
    throw new GatewayError('config', `${source}: ${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'string') throw new GatewayError('config', `${source}: ${key} must be a string`);
  return value;
}

function assign(target: GatewayConfig, values: Record<string, unknown>, source: string): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_CONFIG)) throw new GatewayError('config', `${source}: unknown setting ${key}`);
    (target as unknown as Record<string, unknown>)[key] = coerce(key as keyof GatewayConfig, value, source);
  }
}

function validate(config: GatewayConfig): GatewayConfig {
  const problems: string[] = [];
  const port = (name: keyof GatewayConfig, allowDisabled = false): void => {
    const value = config[name] as number;
    if (!Number.isInteger(value) || value < (allowDisabled ? -1 : 0) || value > 65535) problems.push(`${name} must be a port number`);
  };
  port('coapPort');
  port('brokerPort');
  port('httpPort', true);
  const positive: Array<keyof GatewayConfig> = [
    'publishWindow', 'publishBufferRows', 'commitBatchLimit', 'maximumPendingUplinks', 'maximumDatagramBytes',
    'rateLimitSources', 'responseCacheEntries', 'commandBytesPerResponse', 'mqttReconnectMilliseconds',
    'mqttBrokerInflightMaximum',
  ];
  for (const name of positive) if (!((config[name] as number) >= 1)) problems.push(`${name} must be at least 1`);
  if (config.rateLimitPerSecond < 0 || config.rateLimitBurst < 0) problems.push('rate limits must not be negative');
  if (config.mqttQos !== 1 && config.mqttQos !== 2) problems.push('mqttQos must be 1 or 2');
  if (config.mqttProtocolVersion !== 4 && config.mqttProtocolVersion !== 5) problems.push('mqttProtocolVersion must be 4 (MQTT 3.1.1) or 5');
  if (!['json', 'senml'].includes(config.payloadFormat)) problems.push('payloadFormat must be json or senml');
  if (!['address', 'address-port'].includes(config.rateLimitKey)) problems.push('rateLimitKey must be address or address-port');
  if (!['FULL', 'NORMAL'].includes(config.sqliteSynchronous)) problems.push('sqliteSynchronous must be FULL or NORMAL');
  if (!/^[A-Za-z0-9_-]+$/.test(config.gatewayId)) problems.push('gatewayId may hold letters, digits, _ and - only');
  if (!/^[^#+]+$/.test(config.topicPrefix) || config.topicPrefix.endsWith('/')) problems.push('topicPrefix must not contain # or + or end with /');
  if (config.mqttUrl && !/^(mqtts?|tcp|tls|wss?):\/\//.test(config.mqttUrl)) problems.push('mqttUrl must start with mqtt://, mqtts://, ws:// or wss://');
  if (problems.length > 0) throw new GatewayError('config', 'invalid gateway configuration: ' + problems.join('; '));
  return config;
}

export interface ConfigSources {
  file?: string;
  environment?: NodeJS.ProcessEnv;
  overrides?: Partial<Record<keyof GatewayConfig, unknown>>;
}

export function loadConfig(sources: ConfigSources = {}): GatewayConfig {
  const config: GatewayConfig = { ...DEFAULT_CONFIG };
  if (sources.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (error) {
      throw new GatewayError('config', `cannot read config file ${sources.file}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new GatewayError('config', `${sources.file}: must hold a JSON object`);
    const values = { ...(parsed as Record<string, unknown>) };
    delete values.$schema;
    assign(config, values, sources.file);
    if (values.dataDirectory !== undefined) config.dataDirectory = path.resolve(path.dirname(sources.file), config.dataDirectory);
  }
  const environment = sources.environment ?? {};
  const fromEnvironment: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULT_CONFIG)) {
    const value = environment[environmentName(key)];
    if (value !== undefined) fromEnvironment[key] = value;
  }
  assign(config, fromEnvironment, 'environment');
  assign(config, sources.overrides ?? {}, 'command line');
  return validate(config);
}

/** The config with secrets masked, for logs and `/health`. */
export function describeConfig(config: GatewayConfig): Record<string, unknown> {
  return { ...config, mqttPassword: config.mqttPassword ? '***' : '', mqttUrl: config.mqttUrl.replace(/\/\/[^@/]*@/, '//***@') };
}
