/**
 * A fleet shard in a worker thread (shard.ts): it builds its terminals, then runs on its own while the fleet
 * moves the shared limit, and answers the fleet's requests for snapshots.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FleetShard, type ShardSetup, type TerminalSnapshot } from './shard';

export type FromShard =
  | { type: 'ready' }
  | { type: 'snapshot'; id: number; terminals: TerminalSnapshot[] }
  | { type: 'closed' }
  | { type: 'failed'; message: string };

export type ToShard = { type: 'snapshot'; id: number } | { type: 'close' };

function main(): void {
  const port = parentPort!;
  const shard = new FleetShard(workerData as ShardSetup);
  const failed = (error: Error): void => port.postMessage({ type: 'failed', message: `shard ${(workerData as ShardSetup).shard}: ${error.stack ?? error.message}` } satisfies FromShard);
  port.on('message', (message: ToShard) => {
    try {
      if (message.type === 'snapshot') {
        port.postMessage({ type: 'snapshot', id: message.id, terminals: shard.snapshot() } satisfies FromShard);
      } else if (message.type === 'close') {
        void shard.stopped().then(() => {
          shard.close();
          port.postMessage({ type: 'closed' } satisfies FromShard);
          port.close();
        });
      }
    } catch (error) {
      failed(error as Error);
    }
  });
  shard.start(failed);
  port.postMessage({ type: 'ready' } satisfies FromShard);
}

try {
  main();
} catch (error) {
  parentPort?.postMessage({ type: 'failed', message: `shard ${(workerData as ShardSetup).shard}: ${(error as Error).stack ?? String(error)}` } satisfies FromShard);
}
