/**
 * The worker thread of threaded-publisher.ts: runs the embedded broker (when the gateway has no external one)
 * and the JournalPublisher, and talks to the gateway's thread by messages. Rows that are not in memory are read
 * from the journal through this thread's own read-only SQLite connection (WAL: readers never block the writer).
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { Logger } from 'pino';
import type { JournalRow } from '../store/journal';
import { EmbeddedBroker, startEmbeddedBroker } from './broker';
import { JournalPublisher } from './publisher';
import { FromWorker, PublisherWorkerSetup, ToWorker, unpackRows } from './threaded-publisher';

const STATUS_CHECK_MILLISECONDS = 250;

interface StoredRow {
  sequence: number;
  topic: string;
  payload: Buffer;
  retain: number;
  received_at: number;
}

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

/** A logger that hands its records to the gateway's logger (only at the levels that one writes). */
function forwardingLogger(levels: string[]): Logger {
  const logger: Record<string, unknown> = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = levels.includes(level)
      ? (fields: Record<string, unknown> | string, message?: string) =>
          typeof fields === 'string' ? post({ type: 'log', level, fields: {}, message: fields }) : post({ type: 'log', level, fields, message: message ?? '' })
      : () => undefined;
  }
  return logger as unknown as Logger;
}

async function main(): Promise<void> {
  const setup = workerData as PublisherWorkerSetup;
  const logger = forwardingLogger(setup.logLevels);
  let broker: EmbeddedBroker | null = null;
  let url = setup.options.url;
  if (setup.embeddedBroker) {
    try {
      broker = await startEmbeddedBroker(setup.embeddedBroker.host, setup.embeddedBroker.port);
    } catch (error) {
      post({ type: 'failed', message: (error as Error).message });
      return;
    }
    url = broker.url;
  }
  const reader = new BetterSqlite3(setup.databaseFile, { readonly: true, fileMustExist: true });
  reader.pragma('busy_timeout = 5000');
  const load = reader.prepare('SELECT sequence, topic, payload, retain, received_at FROM journal WHERE sequence > ? ORDER BY sequence LIMIT ?');
  const between = reader.prepare('SELECT sequence FROM journal WHERE sequence BETWEEN ? AND ?').pluck();
  const commandCallbacks = new Map<number, (error?: Error) => void>();
  let nextCommandId = 1;

  const publisher = new JournalPublisher(
    { ...setup.options, url },
    {
      loadRows: (after, limit): JournalRow[] =>
        (load.all(after, limit) as StoredRow[]).map((row) => ({ sequence: row.sequence, topic: row.topic, payload: row.payload, retain: row.retain === 1, receivedAt: row.received_at })),
      sequencesBetween: (first, last) => between.all(first, last) as number[],
      acknowledged: (sequences, receivedAts) => {
        const sequenceArray = Float64Array.from(sequences);
        const receivedArray = Float64Array.from(receivedAts);
        post({ type: 'acknowledged', sequences: sequenceArray, receivedAts: receivedArray, unacknowledged: publisher.unacknowledged }, [
          sequenceArray.buffer,
          receivedArray.buffer,
        ]);
      },
      message: (topic, payload, retained, done) => {
        const id = nextCommandId++;
        commandCallbacks.set(id, done);
        // A copy of its own: a received payload may be a view into a larger buffer, which posting would copy whole.
        post({ type: 'command', id, topic, payload: new Uint8Array(payload), retained });
      },
      connectionChanged: () => reportStatus(),
    },
    logger,
  );

  let reported = { connected: false, error: null as string | null, unacknowledged: -1, refused: -1 };
  function reportStatus(): void {
    const now = { connected: publisher.connected, error: publisher.error, unacknowledged: publisher.unacknowledged, refused: publisher.refused };
    if (now.connected === reported.connected && now.error === reported.error && now.unacknowledged === reported.unacknowledged && now.refused === reported.refused) return;
    reported = now;
    post({ type: 'status', ...now });
  }
  const statusTimer = setInterval(reportStatus, STATUS_CHECK_MILLISECONDS);

  parentPort!.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start':
        publisher.start();
        break;
      case 'offer':
        publisher.offer(unpackRows(message.rows));
        break;
      case 'command-done': {
        const done = commandCallbacks.get(message.id);
        commandCallbacks.delete(message.id);
        done?.(message.error ? new Error(message.error) : undefined);
        break;
      }
      case 'when-drained':
        // After the acknowledgements of the drained rows have been posted (they go out on setImmediate).
        void publisher.whenDrained().then(() => setImmediate(() => post({ type: 'resolved', id: message.id })));
        break;
      case 'when-subscribed':
        void publisher.whenSubscribed().then(() => post({ type: 'resolved', id: message.id }));
        break;
      case 'stop':
        clearInterval(statusTimer);
        void (async () => {
          await publisher.stop();
          await broker?.close();
          reader.close();
          post({ type: 'stopped' });
          parentPort!.close();
        })();
        break;
      default:
        break;
    }
  });
  post({ type: 'ready', url });
}

main().catch((error: Error) => post({ type: 'failed', message: error.stack ?? error.message }));
