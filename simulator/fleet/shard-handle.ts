/**
 * How the fleet holds a shard (shard.ts): in its own thread (a small fleet) or in a worker thread
 * (shard-worker.ts), behind the same two calls.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FleetShard, type ShardSetup, type TerminalSnapshot } from './shard';
import type { FromShard, ToShard } from './shard-worker';

export interface ShardHandle {
  /** Every terminal's figures now (the shard answers between two of its steps). */
  snapshot(): Promise<TerminalSnapshot[]>;
  /** After the shards were told to stop: wait for this one, then close its terminals. */
  close(): Promise<void>;
}

export function localShard(setup: ShardSetup, onFailure: (error: Error) => void): ShardHandle {
  const shard = new FleetShard(setup);
  shard.start(onFailure);
  return {
    snapshot: () => Promise.resolve(shard.snapshot()),
    close: async () => {
      await shard.stopped();
      shard.close();
    },
  };
}

/** Resolves once the worker has built its terminals; `onFailure` hears of a shard that fails later. */
export function workerShard(setup: ShardSetup, onFailure: (error: Error) => void): Promise<ShardHandle> {
  const entry = path.join(__dirname, 'shard-worker.ts');
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: setup });
  const requests = new Map<number, (terminals: TerminalSnapshot[]) => void>();
  let nextRequest = 1;
  let closed: () => void = () => {};
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  const handle: ShardHandle = {
    snapshot: () =>
      new Promise((answer) => {
        const id = nextRequest++;
        requests.set(id, answer);
        worker.postMessage({ type: 'snapshot', id } satisfies ToShard);
      }),
    close: async () => {
      worker.postMessage({ type: 'close' } satisfies ToShard);
      await Promise.race([whenClosed, new Promise((done) => setTimeout(done, 15000).unref())]);
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      onFailure(error);
      // A shard that failed while building its terminals is not handed out: end its thread here.
      reject(error);
      void worker.terminate();
    };
    worker.on('message', (message: FromShard) => {
      switch (message.type) {
        case 'ready':
          resolve(handle);
          break;
        case 'snapshot':
          requests.get(message.id)?.(message.terminals);
          requests.delete(message.id);
          break;
        case 'closed':
          closed();
          break;
        case 'failed':
          fail(new Error(`fleet ${message.message}`));
          break;
      }
    });
    worker.once('error', (error) => fail(new Error(`fleet shard ${setup.shard}: ${error.message}`)));
    worker.once('exit', () => {
      closed();
      for (const answer of requests.values()) answer([]);
      requests.clear();
    });
  });
}
