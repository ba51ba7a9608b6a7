import type { Job, ConnectionOptions, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@rag/core';
import type { QueueConfig } from '@rag/config';
import type { ObjectStore } from '@rag/storage';
import { createQueueWorker, queuesForRoles, type Role, type Stage } from '@rag/queue';
import { buildRequestSchema, shardJobSchema } from './job-payloads.schema.js';
import { runIngest } from './ingest-stage.js';
import { runEncode, runEncodePart } from './encode-stage.js';
import { runIndex } from './index-stage.js';
import { runPublish } from './publish-stage.js';
import { fanOutShards } from './build-flow.js';
import { progressKey } from './build-progress.js';
import type { EncoderPool } from './encoder-pool.js';

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
}

/** The build pipeline's workers for the given roles, in this process. */
export function createStageWorkers(o: StageWorkersOptions): Worker[] {
  const ctx = { connection: o.connection, prefix: o.prefix, queue: o.queue };
  const processors: Record<Stage, (job: Job) => Promise<unknown>> = {
    ingest: async (job) => {
      const req = buildRequestSchema.parse(job.data);
      const key = progressKey(o.prefix, req.snapshotId);
      const log = o.logger.child({ queue: 'ingest', jobId: job.id, snapshotId: req.snapshotId });
      const marker = await runIngest(req, {
        store: o.store,
        logger: log,
        onProgress: async (passages, shards) => {
          await o.redis.hset(key, { passages, shards });
          await job.updateProgress({ passages, shards });
        },
      });
      // Shards reused from a base snapshot need no encode or index job.
      const toBuild = marker.shards.filter((s) => !s.kept).map((s) => ({ shard: s.shard, passages: s.passages }));
      await fanOutShards(ctx, req, toBuild);
      await o.redis.hset(key, { totalShards: toBuild.length, ingestDone: 1, passages: marker.passages });
      return { passages: marker.passages, shards: marker.shards.length };
    },
    encode: async (job) => {
      const sj = shardJobSchema.parse(job.data);
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
