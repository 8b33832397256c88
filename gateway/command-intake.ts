/**
 * Commands arriving on MQTT, and their expiry. A command is acknowledged to the broker (PUBACK) only after it
 * is in the queue on disk together with its `queued` ack, so neither is lost if the gateway dies.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from './config';
import { checkCommand } from './command-catalogue';
import { ackFor, commandAckMessage, parseCommandRequest, PendingCommandChanges } from './commands';
import type { GatewayMetrics } from './metrics';
import type { TopicScheme } from './mqtt/topics';
import type { GroupCommitter } from './store/committer';
import type { DownlinkQueue } from './store/downlinks';
import type { Journal, JournalMessage, JournalRow } from './store/journal';
import type { DeviceRegistry } from './store/registry';

export interface CommandIntakeDependencies {
  config: GatewayConfig;
  registry: DeviceRegistry;
  downlinks: DownlinkQueue;
  journal: Journal;
  committer: GroupCommitter;
  pendingCommands: PendingCommandChanges;
  topics: TopicScheme;
  metrics: GatewayMetrics;
  logger: Logger;
  offerRows(rows: JournalRow[]): void;
  now(): number;
}

export class CommandIntake {
  constructor(private readonly dependencies: CommandIntakeDependencies) {}

  /** An MQTT message on a command topic; `done` (which sends the PUBACK) runs after the commit. */
  receive(topic: string, payload: Buffer, retained: boolean, done: (error?: Error) => void): void {
    const { topics, registry, downlinks, journal, config, logger } = this.dependencies;
    const parsed = topics.parseCommand(topic);
    if (!parsed) return done();
    if (retained) {
      // A retained command would be queued again on every reconnect.
      logger.warn({ topic }, 'ignoring a retained command; publish commands without the retain flag');
      return done();
    }
    const now = this.dependencies.now();
    const device = registry.get(parsed.device);
    const request = parseCommandRequest(payload);
    let error: string | null = null;
    let refusalCode: number | undefined;
    if (!device) error = 'unknown device';
    else if (device.status !== 'active') error = 'device revoked';
    else if (!request.ok) error = request.error;
    else {
      const check = checkCommand(parsed.name, request.request.arguments);
      if (!check.ok) {
        error = check.error;
        refusalCode = check.code;
      }
    }
    const correlation = request.ok ? (request.request.correlation ?? null) : null;
    let rows: JournalRow[] = [];
    let queuedId: number | null = null;
    const staged = this.dependencies.committer.stage({
      write: () => {
        let message: JournalMessage;
        if (error !== null || !device || !request.ok) {
          const refusal = { device: parsed.device, command: parsed.name, id: null, status: 'failed' as const, correlation, error: error ?? 'invalid' };
          message = commandAckMessage(topics, refusalCode === undefined ? refusal : { ...refusal, code: refusalCode }, now);
        } else {
          const ttlSeconds = request.request.ttl ?? config.commandTimeToLiveSeconds;
          const argumentsJson = JSON.stringify(request.request.arguments ?? null);
          const downlink = downlinks.enqueue(device.id, parsed.name, argumentsJson, correlation, now, now + ttlSeconds * 1000);
          queuedId = downlink.id;
          message = commandAckMessage(topics, ackFor(downlink, device.imei, 'queued'), now);
        }
        rows = journal.append([message]);
      },
      settle: (failure) => {
        if (failure) return done(failure);
        if (queuedId !== null) this.dependencies.metrics.downlinks.inc({ status: 'queued' });
        else this.dependencies.metrics.downlinks.inc({ status: 'failed' });
        logger.info({ device: parsed.device, command: parsed.name, id: queuedId, error }, queuedId !== null ? 'command queued' : 'command refused');
        this.dependencies.offerRows(rows);
        done();
      },
    });
    if (!staged) done(new Error('gateway busy'));
  }

  /** Marks commands past their expiry as expired and publishes their acks. */
  expire(): number {
    const { downlinks, topics, registry, journal, pendingCommands } = this.dependencies;
    const now = this.dependencies.now();
    const due = downlinks.dueToExpire(now, 200).filter((downlink) => {
      const status = pendingCommands.effectiveStatus(downlink);
      return status === 'queued' || status === 'sent';
    });
    if (due.length === 0) return 0;
    for (const downlink of due) pendingCommands.set(downlink.id, 'expired');
    let rows: JournalRow[] = [];
    this.dependencies.committer.stage({
      write: () => {
        const messages: JournalMessage[] = [];
        for (const downlink of due) {
          if (downlinks.finish(downlink.id, 'expired', now, null)) {
            messages.push(commandAckMessage(topics, ackFor(downlink, registry.imeiById(downlink.deviceId) ?? String(downlink.deviceId), 'expired'), now));
          }
        }
        rows = journal.append(messages);
      },
      settle: (failure) => {
        pendingCommands.clear(due.map((downlink) => downlink.id));
        if (failure) return;
        downlinks.refreshOpenDevices();
        this.dependencies.metrics.downlinks.inc({ status: 'expired' }, rows.length);
        this.dependencies.offerRows(rows);
      },
    });
    return due.length;
  }
}
