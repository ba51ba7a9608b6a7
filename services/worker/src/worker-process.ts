import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import { ConfigError, redactUrl, type Logger } from '@rag/core';
import type { AppConfig } from '@rag/config';
import { createObjectStore, ObjectCache } from '@rag/storage';
import { assertRedisReachable, createRedisConnection, ROLES, type Role } from '@rag/queue';
import { createSourceOpener, createStageWorkers, EncoderPool } from '@rag/pipeline';
import { createQaWorker, lazyQaModels, ModelPresence, QA_MODES, SnapshotPool, workerModelFingerprints } from '@rag/qa';
import { AliasRegistry } from '@rag/registry';
import { createMetricsRegistry, createQaMetrics, startMetricsServer, trackLiveSnapshot, type MetricsServer, type QaMetrics } from '@rag/metrics';
import { setFaissThreads } from '@rag/index';

export interface WorkerProcessOptions {
  roles: Role[];
  concurrency: number;
  /** Generation metrics hooks. */
  onChunk?: Parameters<typeof createQaWorker>[0]['onChunk'];
  onSwitch?: ConstructorParameters<typeof SnapshotPool>[0]['onSwitch'];
  /** Serve Prometheus metrics on this port (0 = any free port). */
  metricsPort?: number;
  /** Directories build sources named by jobs must lie under. */
  sourceRoots: readonly string[];
  /** Directories encoder directories named by jobs must lie under. */
  modelRoots: readonly string[];
}

export interface RunningWorker {
  workers: Worker[];
  metricsUrl?: string;
  close(): Promise<void>;
}

export function parseRoles(value: string): Role[] {
  const roles = value.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length || roles.length === 0) {
    throw new ConfigError(`unknown worker role(s): ${bad.join(', ') || '(none)'}`, { hint: `choose from ${ROLES.join(',')}` });
  }
  return roles as Role[];
}

/** Starts the build-pipeline workers of this process; the caller owns signals. */
export async function startWorkerProcess(config: AppConfig, opts: WorkerProcessOptions, logger: Logger): Promise<RunningWorker> {
  const url = config.redis.url;
  if (!url) {
    throw new ConfigError('a worker needs REDIS_URL (the queue it takes jobs from)', {
      hint: 'set REDIS_URL=redis://host:6379 and RAG_STORAGE to the same values as the coordinator/CLI',
    });
  }
  await assertRedisReachable(url);
  if (config.faiss.threads > 0) setFaissThreads(config.faiss.threads);
  const connection = createRedisConnection(url);
  const redis = createRedisConnection(url);
  connection.on('error', (err) => logger.error({ event: 'redis.error', err: err.message }, 'redis connection error'));
  redis.on('error', () => {});
  const store = createObjectStore(config.storage);
  const encoders = new EncoderPool(config.onnx, config.encoder.batchSize);
  if (opts.roles.includes('encode')) {
    // Load the configured encoder now, while ingest runs, not when the first encode job arrives
    // (seconds that dominate a small incremental build). A failure here is the job's to report.
    encoders.get(config.encoder.dir).catch((err) => logger.debug({ event: 'encoder.preload_failed', err: (err as Error).message }, 'encoder preload failed'));
  }
  // Build sources may be s3:// objects: read with the storage settings and the AWS chain.
  const sources = createSourceOpener(config.storage);
  const workers = createStageWorkers({
    connection,
    redis,
    prefix: config.redis.prefix,
    queue: config.queue,
    roles: opts.roles,
    concurrency: opts.concurrency,
    store,
    encoders,
    logger,
    openSource: (path) => sources.open(path),
    roots: { sources: opts.sourceRoots, models: opts.modelRoots },
  });
  // Generation: models load once per process (on the first job), snapshots per reference served.
  const qaModels = lazyQaModels(config.generation, config.onnx);
  let metricsServer: MetricsServer | undefined;
  let qaMetrics: QaMetrics | undefined;
  if (opts.metricsPort !== undefined) {
    const registry = createMetricsRegistry({ labels: { service: 'worker' } });
    qaMetrics = createQaMetrics(registry);
    metricsServer = await startMetricsServer({ port: opts.metricsPort, host: config.monitoring.host, registry, logger });
  }
  const onChunk: WorkerProcessOptions['onChunk'] = (info) => {
    opts.onChunk?.(info);
    if (!qaMetrics) return;
    if (info.answered) qaMetrics.questionsAnswered.inc({ snapshot: info.snapshot }, info.answered);
    if (info.failed) qaMetrics.questionsFailed.inc({ code: 'QUESTION_FAILED' }, info.failed);
    for (const ms of info.latencyMs) qaMetrics.questionDuration.observe({ stage: 'total' }, ms / 1000);
  };
  let pool: SnapshotPool | undefined;
  let aliases: AliasRegistry | undefined;
  let presence: ModelPresence | undefined;
  if (opts.roles.includes('generate')) {
    aliases = new AliasRegistry({ store, redis, prefix: config.redis.prefix, logger });
    // A remote store is read through a local disk cache: no object-store request per question.
    const objectCache = store.localPath ? undefined : new ObjectCache(store, { dir: config.objectCache.dir, maxBytes: config.objectCache.maxGb * 2 ** 30, logger });
    pool = new SnapshotPool({
      store, aliases, logger, pollMs: config.generation.aliasPollMs, onSwitch: opts.onSwitch, ...(objectCache ? { objectCache } : {}),
      onFollow: (live) => { if (qaMetrics) trackLiveSnapshot(live, qaMetrics); },
    });
    const fingerprint = workerModelFingerprints(config.generation);
    workers.push(createQaWorker({
      connection, redis, prefix: config.redis.prefix, queue: config.queue, concurrency: opts.concurrency,
      store, models: () => qaModels.get(), questionEncoder: () => qaModels.questionEncoder(), fingerprint, snapshots: pool, logger, onChunk,
    }));
    // Say which models this worker answers with, so that a worker with other models leaves their
    // chunks to it for as long as it lives instead of failing them after a fixed wait.
    const announcing = new ModelPresence({ redis, prefix: config.redis.prefix, logger });
    presence = announcing;
    Promise.all(QA_MODES.map((m) => fingerprint(m)))
      .then((fps) => announcing.start(fps))
      .catch((err) => logger.warn({ event: 'qa.models.announce_failed', err: (err as Error).message }, 'could not announce the models this worker answers with'));
  }
  logger.info({ event: 'worker.started', roles: opts.roles, concurrency: opts.concurrency, redis: redactUrl(url), storage: store.description }, 'worker started');
  return {
    workers,
    metricsUrl: metricsServer?.url,
    async close() {
      await presence?.stop();
      await Promise.all(workers.map((w) => w.close()));
      await pool?.close();
      await aliases?.close();
      await encoders.releaseAll();
      await sources.close();
      await qaModels.release();
      await metricsServer?.close();
      connection.disconnect();
      redis.disconnect();
    },
  };
}
