import { Queue, type ConnectionOptions } from 'bullmq';
import { BuildFailedError } from '@rag/core';
import { jobIds } from './build-flow.js';

export interface WaitOptions {
  connection: ConnectionOptions;
  prefix: string;
  snapshotId: string;
  pollMs?: number;
  onTick?: () => Promise<void> | void;
  /** Called once if no worker is seen on the queues for a while (distributed mode without workers). */
  onNoWorkers?: () => void;
  signal?: AbortSignal;
}

/** Waits until the build's publish job completes; on failure throws with the failing stage's reason. */
export async function waitForBuild(o: WaitOptions): Promise<unknown> {
  const queues = new Map<string, Queue>();
  const q = (name: string) => {
    let x = queues.get(name);
    if (!x) queues.set(name, (x = new Queue(name, { connection: o.connection, prefix: o.prefix })));
    return x;
  };
  const started = Date.now();
  let warned = false;
  try {
    for (;;) {
      if (o.signal?.aborted) throw new BuildFailedError('interrupted');
      const job = await q('publish').getJob(jobIds.publish(o.snapshotId));
      if (!job) {
        throw new BuildFailedError(`build job for ${o.snapshotId} disappeared from the queue`, {
          hint: 'Redis lost its jobs (restarted without its data?); run the same command again: finished stages are kept in storage and skipped',
        });
      }
      const state = await job.getState();
      if (state === 'completed') return job.returnvalue;
      if (state === 'failed') {
        // Read again: `job` was fetched before getState(), possibly before it failed (no failedReason yet).
        const failed = await q('publish').getJob(jobIds.publish(o.snapshotId));
        const reason = await rootReason(q, o.prefix, failed?.failedReason ?? job.failedReason ?? 'unknown');
        throw new BuildFailedError(`build of ${o.snapshotId} failed: ${reason}`, {
          hint: 'fix the cause and run the same command again; finished shards are kept and skipped',
        });
      }
      await o.onTick?.();
      if (!warned && Date.now() - started > 10000 && o.onNoWorkers) {
        const counts = await Promise.all(['ingest', 'encode', 'index'].map((n) => q(n).getWorkersCount().catch(() => 1)));
        if (counts.every((c) => c === 0)) { warned = true; o.onNoWorkers(); }
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
    }
  } finally {
    for (const x of queues.values()) await x.close();
  }
}

/** Follows "child <key> failed" (BullMQ's parent-failure text) down to the job that really failed. */
async function rootReason(q: (name: string) => Queue, prefix: string, reason: string, depth = 0): Promise<string> {
  const m = /child (\S+) failed/.exec(reason);
  if (!m || depth > 5) return reason;
  const rest = m[1]!.slice(prefix.length + 1);
  const sep = rest.indexOf(':');
  const queueName = rest.slice(0, sep);
  const child = await q(queueName).getJob(rest.slice(sep + 1));
  if (!child) return reason;
  return `${queueName} job ${child.id}: ${await rootReason(q, prefix, child.failedReason ?? reason, depth + 1)}`;
}
