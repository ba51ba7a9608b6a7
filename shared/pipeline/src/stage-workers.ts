import { WaitingChildrenError, type Job, type ConnectionOptions, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@rag/core';
import type { QueueConfig } from '@rag/config';
import type { ByteSource } from '@rag/corpus';
import type { ObjectStore } from '@rag/storage';
import { createQueueWorker, queuesForRoles, type Role, type Stage } from '@rag/queue';
import { getFaissThreads } from '@rag/index';
import { SnapshotLayout } from '@rag/snapshot';
import { buildRequestSchema, ingestMarkerSchema, ingestRangeJobSchema, shardJobSchema, type IngestMarker } from './job-payloads.schema.js';
import { runIngest } from './ingest-stage.js';
import { runIngestRange } from './ingest-range-stage.js';
import { planIngest, runIngestMerge } from './ingest-merge.js';
import { runEncode, runEncodePart } from './encode-stage.js';
import { runIndex } from './index-stage.js';
import { runPublish } from './publish-stage.js';
import { addIngestRanges, fanOutIndexJobs, fanOutShards } from './build-flow.js';
import { runTrain, shardsToIndex, trainedIndexOf } from './train-stage.js';
import { requireMarker } from './build-markers.js';
import { progressKey } from './build-progress.js';
import type { EncoderPool } from './encoder-pool.js';
import { assertAllowedPath, type AllowedRoots } from './allowed-paths.js';

export interface StageWorkersOptions {
  connection: ConnectionOptions;
  /** A plain connection for progress writes (not the blocking BullMQ one). */
  redis: Redis;
  prefix: string;
  queue: QueueConfig;
  roles: readonly Role[];
  /** Jobs processed at once per queue in this process. */
  concurrency: number;
  store: ObjectStore;
  encoders: EncoderPool;
  logger: Logger;
  /** Opens build sources (local paths, s3:// URLs); default: local paths only. */
  openSource?: (path: string) => Promise<ByteSource>;
  /** Files and model directories named by jobs must lie under these (checked before anything is read). */
  roots: AllowedRoots;
}

/** The build pipeline's workers for the given roles, in this process. */
export function createStageWorkers(o: StageWorkersOptions): Worker[] {
  const ctx = { connection: o.connection, prefix: o.prefix, queue: o.queue };
  const processors: Record<Stage, (job: Job, token?: string) => Promise<unknown>> = {
    ingest: async (job, token) => {
      if (job.name === 'ingest-range') {
        const rj = ingestRangeJobSchema.parse(job.data);
        assertAllowedPath(rj.source.path, o.roots.sources, 'source');
        const log = o.logger.child({ queue: 'ingest', jobId: job.id, snapshotId: rj.snapshotId, range: rj.k });
        const m = await runIngestRange(rj, {
          store: o.store,
          logger: log,
          openSource: o.openSource,
          onProgress: async (passages) => {
            await o.redis.hset(progressKey(o.prefix, rj.snapshotId), `ingested:${rj.k}`, passages);
          },
        });
        return { range: rj.k, pages: m.pages, passages: m.passages };
      }
      const req = buildRequestSchema.parse(job.data);
      assertAllowedPath(req.source.path, o.roots.sources, 'source');
      if (req.ingest?.multistreamIndex) assertAllowedPath(req.ingest.multistreamIndex, o.roots.sources, 'source');
      assertAllowedPath(req.encoderDir, o.roots.models, 'model directory');
      const key = progressKey(o.prefix, req.snapshotId);
      const log = o.logger.child({ queue: 'ingest', jobId: job.id, snapshotId: req.snapshotId });
      const deps = {
        store: o.store,
        logger: log,
        openSource: o.openSource,
        onProgress: async (passages: number, shards: number) => {
          await o.redis.hset(key, { passages, shards });
          await job.updateProgress({ passages, shards });
        },
      };
      // A multistream dump runs in two steps: plan and queue range jobs, wait for them (the job
      // goes to waiting-children and comes back), then merge. A job that already has range
      // children (a retry, or the second step) goes straight to waiting or merging.
      const c = await job.getDependenciesCount();
      const children = (c.processed ?? 0) + (c.unprocessed ?? 0) + (c.failed ?? 0) + (c.ignored ?? 0);
      let marker: IngestMarker | undefined;
      if (children === 0) {
        const step = await planIngest(req, deps);
        if (step.kind === 'single') marker = await runIngest(req, deps);
        else if (step.kind === 'done') marker = step.marker;
        else await addIngestRanges(ctx, { id: job.id!, queueQualifiedName: job.queueQualifiedName }, step.jobs);
      }
      if (!marker) {
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
        marker = await runIngestMerge(req, deps);
      }
      // Shards reused from a base snapshot need no encode or index job.
      const toBuild = marker.shards.filter((s) => !s.kept).map((s) => ({ shard: s.shard, passages: s.passages }));
      await fanOutShards(ctx, req, toBuild);
      await o.redis.hset(key, { totalShards: toBuild.length, ingestDone: 1, passages: marker.passages });
      return { passages: marker.passages, shards: marker.shards.length };
    },
    encode: async (job) => {
      const sj = shardJobSchema.parse(job.data);
      assertAllowedPath(sj.encoderDir, o.roots.models, 'model directory');
      const log = o.logger.child({ queue: 'encode', jobId: job.id, snapshotId: sj.snapshotId, shardId: sj.shard, ...(sj.part !== undefined ? { part: sj.part } : {}) });
      const encoder = await o.encoders.get(sj.encoderDir);
      const key = progressKey(o.prefix, sj.snapshotId);
      if (sj.part !== undefined) {
        // Progress per part; the shard's merge job replaces these fields with the shard's total.
        const m = await runEncodePart(sj, {
          store: o.store,
          encoder,
          logger: log,
          onProgress: async (done, total) => {
            await o.redis.hset(key, `encoded:${sj.shard}.p${sj.part}`, done);
            await job.updateProgress({ vectors: done, total });
          },
        });
        return { shard: sj.shard, part: sj.part, vectors: m.rows };
      }
      const parts = sj.encodeParts ?? 1;
      const m = await runEncode(sj, {
        store: o.store,
        encoder,
        logger: log,
        onProgress: async (done, total) => {
          const tx = o.redis.multi().hset(key, `encoded:${sj.shard}`, done);
          if (parts > 1) tx.hdel(key, ...Array.from({ length: parts }, (_, p) => `encoded:${sj.shard}.p${p}`));
          await tx.exec();
          await job.updateProgress({ vectors: done, total });
        },
      });
      return { shard: sj.shard, vectors: m.vectors };
    },
    index: async (job) => {
      if (job.name === 'train') {
        const req = buildRequestSchema.parse(job.data);
        const log = o.logger.child({ queue: 'index', jobId: job.id, snapshotId: req.snapshotId });
        const marker = await runTrain(req, { store: o.store, logger: log, threads: getFaissThreads() });
        const ingest = await requireMarker(o.store, new SnapshotLayout(req.snapshotId).ingestMarker(), ingestMarkerSchema, 'ingest marker');
        const trained = trainedIndexOf(marker);
        const shards = shardsToIndex(ingest, trained, marker.dim);
        await fanOutIndexJobs(ctx, req, trained, shards);
        await o.redis.hset(progressKey(o.prefix, req.snapshotId), { totalShards: shards.length });
        return { kind: marker.kind, shards: shards.length, ...(marker.quantizer ? { quantizer: marker.quantizer.key, fit: marker.quantizer.fit.recall10 } : {}) };
      }
      const sj = shardJobSchema.parse(job.data);
      const log = o.logger.child({ queue: 'index', jobId: job.id, snapshotId: sj.snapshotId, shardId: sj.shard });
      const m = await runIndex(sj, { store: o.store, logger: log });
      await o.redis.hset(progressKey(o.prefix, sj.snapshotId), `indexed:${sj.shard}`, 1);
      return { shard: sj.shard, vectors: m.vectors };
    },
    publish: async (job) => {
      const req = buildRequestSchema.parse(job.data);
      const log = o.logger.child({ queue: 'publish', jobId: job.id, snapshotId: req.snapshotId });
      const manifest = await runPublish(req, { store: o.store, logger: log, startedAt: job.timestamp });
      return { snapshotId: manifest.id, passages: manifest.passages, vectors: manifest.vectors, shards: manifest.shards.length };
    },
  };

  return queuesForRoles(o.roles).map((stage) => createQueueWorker(stage, processors[stage], o));
}
