import { Queue, type ConnectionOptions } from 'bullmq';
import { BuildFailedError, NoWorkersError } from '@rag/core';
import { jobIds } from './build-flow.js';

export interface WaitOptions {
  connection: ConnectionOptions;
  prefix: string;
  snapshotId: string;
  pollMs?: number;
  onTick?: () => Promise<void> | void;
  /**
   * Called once with the stage queues that have no worker listening, 10 s into the wait (distributed mode).
   * Absent: nothing is checked (embedded workers are watched by their session).
   */
  onNoWorkers?: (queues: string[]) => void;
  /** Stop waiting (NoWorkersError) once no stage queue has had a worker for this long; 0 or absent: wait on. */
  noWorkerGiveUpMs?: number;
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
  let lastChecked = 0;
  let lastWorkerSeen = started;
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
      if (o.onNoWorkers && Date.now() - lastChecked >= 2000 && Date.now() - started > 10000) {
        lastChecked = Date.now();
        const stages = ['ingest', 'encode', 'index', 'publish'];
        const counts = await Promise.all(stages.map((n) => q(n).getWorkersCount().catch(() => 1)));
        const idle = stages.filter((_, i) => counts[i] === 0);
        if (!warned && idle.length) { warned = true; o.onNoWorkers(idle); }
        if (idle.length < stages.length) lastWorkerSeen = Date.now();
        else if (o.noWorkerGiveUpMs && Date.now() - lastWorkerSeen >= o.noWorkerGiveUpMs) {
          throw new NoWorkersError(`no worker has listened on queues ${stages.join(', ')} (prefix ${o.prefix}) for ${Math.round(o.noWorkerGiveUpMs / 1000)} s; stopped waiting`, {
            hint: `the build of ${o.snapshotId} stays queued: start workers (./rag worker --roles ingest,encode,index with the same REDIS_URL and RAG_STORAGE) and run the same command again to follow it, or pass --wait-for-workers (RAG_NO_WORKER_WAIT_S=0) to wait without end`,
          });
        }
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
