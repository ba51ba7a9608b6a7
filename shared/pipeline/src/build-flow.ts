import { FlowProducer, Queue, type ConnectionOptions, type FlowJob, type JobsOptions } from 'bullmq';
import { SnapshotLayout } from '@rag/snapshot';
import type { QueueConfig } from '@rag/config';
import { trainedForSnapshot } from '@rag/index';
import type { BuildRequest, IngestRangeJob, ShardJob, TrainedIndex } from './job-payloads.schema.js';
import { PAYLOAD_VERSION, buildRequestSchema } from './job-payloads.schema.js';

/**
 * The build as a BullMQ flow:
 *
 *   publish (build.<id>)                      parent, runs last: writes manifest.json
 *   ├── ingest (ingest.<id>)                  streams the source into passage shards, then fans out:
 *   │   └── ingest-range (ingest.<id>.r00000) multistream dumps only: one per byte range, added by
 *   │                                         the ingest job, which then waits and merges them
 *   ├── index (index.<id>.s00000)             one per shard, child of publish
 *   │   └── encode (encode.<id>.s00000)       child of its index job
 *   │       └── encode (encode.<id>.s00000.p0000)  with --encode-part: the shard's part jobs, merged
 *   └── …                                          in order by the shard's encode job
 *
 * Kinds decided for the whole snapshot (`auto`, `ivfpq`) put the train stage between encoding and
 * indexing, since it needs every shard's vectors (a sample of them) before any shard is indexed:
 *
 *   publish
 *   ├── ingest
 *   ├── train (train.<id>, on the index queue) decides the index; for IVF-PQ trains the quantizer
 *   │   ├── encode (encode.<id>.s00000)      every shard's encode job is a child of train
 *   │   └── …
 *   ├── index (index.<id>.s00000)             added by train when it is done, children of publish
 *   └── …
 *
 * Job ids are derived from the snapshot id and shard, so re-adding is a no-op (idempotent
 * fan-out after a retried ingest) and every job maps to fixed storage keys. Every child
 * fails its parent, so one failure fails the build instead of leaving it waiting.
 */
export const jobIds = {
  publish: (id: string) => `build.${id}`,
  ingest: (id: string) => `ingest.${id}`,
  ingestRange: (id: string, k: number) => `ingest.${id}.r${SnapshotLayout.shardName(k)}`,
  encode: (id: string, shard: number) => `encode.${id}.s${SnapshotLayout.shardName(shard)}`,
  index: (id: string, shard: number) => `index.${id}.s${SnapshotLayout.shardName(shard)}`,
  train: (id: string) => `train.${id}`,
  encodePart: (id: string, shard: number, part: number) => `encode.${id}.s${SnapshotLayout.shardName(shard)}.p${String(part).padStart(4, '0')}`,
};

export function childJobOptions(q: QueueConfig): JobsOptions {
  return {
    attempts: q.attempts,
    backoff: { type: 'exponential', delay: q.backoffMs },
    failParentOnFailure: true,
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export interface FlowContext {
  connection: ConnectionOptions;
  prefix: string;
  queue: QueueConfig;
}

/** Adds the build flow (publish ← ingest). Returns the publish job id. */
export async function enqueueBuild(ctx: FlowContext, req: BuildRequest): Promise<string> {
  const flow = new FlowProducer({ connection: ctx.connection, prefix: ctx.prefix });
  try {
    const opts = childJobOptions(ctx.queue);
    await flow.add({
      name: 'publish',
      queueName: 'publish',
      data: req,
      opts: { ...opts, jobId: jobIds.publish(req.snapshotId), failParentOnFailure: false },
      children: [{ name: 'ingest', queueName: 'ingest', data: req, opts: { ...opts, jobId: jobIds.ingest(req.snapshotId) } }],
    });
    return jobIds.publish(req.snapshotId);
  } finally {
    await flow.close();
  }
}

/** Encode jobs for a shard of `passages` rows: one, or one per `encodePart` passages. */
export function encodePartsFor(passages: number, encodePart: number | undefined): number {
  return encodePart ? Math.max(1, Math.ceil(passages / encodePart)) : 1;
}

/**
 * Called by the ingest job once shards exist: one index←encode pair per shard under the build job,
 * and under a shard's encode job its part jobs when the request splits encoding.
 */
export async function fanOutShards(ctx: FlowContext, req: BuildRequest, shards: { shard: number; passages: number }[]): Promise<void> {
  const flow = new FlowProducer({ connection: ctx.connection, prefix: ctx.prefix });
  try {
    const opts = childJobOptions(ctx.queue);
    const parent = { id: jobIds.publish(req.snapshotId), queue: `${ctx.prefix}:publish` };
    const encodeJob = (shard: number, passages: number): FlowJob => {
      const parts = encodePartsFor(passages, req.encodePart);
      const data: ShardJob = { v: PAYLOAD_VERSION, snapshotId: req.snapshotId, shard, encoderDir: req.encoderDir, index: req.index, ...(req.fence ? { fence: req.fence } : {}), ...(parts > 1 ? { encodeParts: parts } : {}) };
      const partJobs: FlowJob[] = [];
      for (let part = 0; part < parts && parts > 1; part++) {
        partJobs.push({ name: 'encode-part', queueName: 'encode', data: { ...data, part } satisfies ShardJob, opts: { ...opts, jobId: jobIds.encodePart(req.snapshotId, shard, part) } });
      }
      return { name: 'encode', queueName: 'encode', data, opts: { ...opts, jobId: jobIds.encode(req.snapshotId, shard) }, ...(partJobs.length ? { children: partJobs } : {}) };
    };
    if (trainedForSnapshot(req.index.kind)) {
      // One train job over every shard's encode job; it queues the index jobs when it is done.
      await flow.add({
        name: 'train',
        queueName: 'index',
        data: req,
        opts: { ...opts, jobId: jobIds.train(req.snapshotId), parent },
        children: shards.map(({ shard, passages }) => encodeJob(shard, passages)),
      });
      return;
    }
    const flows: FlowJob[] = shards.map(({ shard, passages }) => {
      const encode = encodeJob(shard, passages);
      return { name: 'index', queueName: 'index', data: encode.data, opts: { ...opts, jobId: jobIds.index(req.snapshotId, shard), parent }, children: [encode] };
    });
    // Bounded batches keep each Redis MULTI small for builds with thousands of shards.
    for (let i = 0; i < flows.length; i += 200) await flow.addBulk(flows.slice(i, i + 200));
  } finally {
    await flow.close();
  }
}

/**
 * Called by the train job once it has decided: one index job per shard to build, children of the
 * build job, each carrying the decision (and, kept shards re-indexed under a new quantizer, their
 * embeddings).
 */
export async function fanOutIndexJobs(ctx: FlowContext, req: BuildRequest, trained: TrainedIndex, shards: { shard: number; embeddings?: ShardJob['embeddings'] }[]): Promise<void> {
  const flow = new FlowProducer({ connection: ctx.connection, prefix: ctx.prefix });
  try {
    const opts = childJobOptions(ctx.queue);
    const parent = { id: jobIds.publish(req.snapshotId), queue: `${ctx.prefix}:publish` };
    const flows: FlowJob[] = shards.map(({ shard, embeddings }) => ({
      name: 'index',
      queueName: 'index',
      data: { v: PAYLOAD_VERSION, snapshotId: req.snapshotId, shard, encoderDir: req.encoderDir, index: req.index, ...(req.fence ? { fence: req.fence } : {}), trained, ...(embeddings ? { embeddings } : {}) } satisfies ShardJob,
      opts: { ...opts, jobId: jobIds.index(req.snapshotId, shard), parent },
    }));
    for (let i = 0; i < flows.length; i += 200) await flow.addBulk(flows.slice(i, i + 200));
  } finally {
    await flow.close();
  }
}

/**
 * Called by the ingest job of a multistream dump: one `ingest-range` job per byte range, children
 * of that ingest job (which waits for them, then merges). Ids per range make re-adding a no-op.
 */
export async function addIngestRanges(ctx: FlowContext, parent: { id: string; queueQualifiedName: string }, jobs: IngestRangeJob[]): Promise<void> {
  const flow = new FlowProducer({ connection: ctx.connection, prefix: ctx.prefix });
  try {
    const opts = childJobOptions(ctx.queue);
    await flow.addBulk(jobs.map((data) => ({
      name: 'ingest-range',
      queueName: 'ingest',
      data,
      opts: { ...opts, jobId: jobIds.ingestRange(data.snapshotId, data.k), parent: { id: parent.id, queue: parent.queueQualifiedName } },
    })));
  } finally {
    await flow.close();
  }
}

/**
 * Before re-running a build of the same id on a persistent Redis: a finished (failed or
 * completed-without-manifest) flow is removed so it can be added again; storage markers make
 * the new run skip finished shards. Returns the state found, or null if there was none.
 */
export async function clearFinishedBuild(ctx: FlowContext, snapshotId: string): Promise<string | null> {
  const q = new Queue('publish', { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const job = await q.getJob(jobIds.publish(snapshotId));
    if (!job) return null;
    const state = await job.getState();
    if (state === 'failed' || state === 'completed') {
      await removeTree(ctx, job.id!, 'publish');
    }
    return state;
  } finally {
    await q.close();
  }
}

/** The request of the build job of this id in the queue, if there is one (to tell attaching from a conflict). */
export async function queuedBuildRequest(ctx: FlowContext, snapshotId: string): Promise<BuildRequest | null> {
  const q = new Queue('publish', { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const job = await q.getJob(jobIds.publish(snapshotId));
    const parsed = buildRequestSchema.safeParse(job?.data);
    return parsed.success ? parsed.data : null;
  } finally {
    await q.close();
  }
}

async function removeTree(ctx: FlowContext, jobId: string, queueName: string): Promise<void> {
  const q = new Queue(queueName, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const job = await q.getJob(jobId);
    if (!job) return;
    const deps = await job.getDependencies().catch(() => ({ processed: {}, unprocessed: [] as string[], failed: [] as string[] }));
    const children = [
      ...Object.keys(deps.processed ?? {}),
      ...(deps.unprocessed ?? []),
      ...((deps as { failed?: string[] }).failed ?? []),
    ];
    for (const key of children) {
      // key = <prefix>:<queue>:<jobId>
      const rest = key.slice(ctx.prefix.length + 1);
      const sep = rest.indexOf(':');
      await removeTree(ctx, rest.slice(sep + 1), rest.slice(0, sep));
    }
    await job.remove({ removeChildren: true }).catch(async () => {
      await q.remove(jobId).catch(() => {});
    });
  } finally {
    await q.close();
  }
}
