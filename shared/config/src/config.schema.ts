import { z } from 'zod';

/**
 * Configuration fragments. Each service composes the fragments it needs into one schema,
 * parsed once at start-up (see load-config.ts); everything downstream receives typed objects.
 */

/** Redis for BullMQ. Absent url = embedded mode: the CLI starts a private redis-server. */
export const redisSchema = z.object({
  /** REDIS_URL, e.g. redis://host:6379/0. @defaultValue undefined (embedded) */
  url: z.string().url().optional(),
  /** RAG_QUEUE_PREFIX: key prefix for all queues, so several deployments share one Redis. @defaultValue "rag" */
  prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rag'),
  /** RAG_REDIS_SERVER: redis-server binary for embedded mode. @defaultValue "redis-server" */
  serverBin: z.string().default('redis-server'),
});

/** Object storage: a local directory (default) or s3://bucket/prefix. */
export const storageSchema = z.object({
  /** RAG_STORAGE: a directory path or s3://bucket/prefix. @defaultValue "<cwd>/.rag/storage" */
  url: z.string().min(1),
  /** AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: any S3-compatible endpoint. @defaultValue AWS */
  endpoint: z.string().url().optional(),
  /** AWS_REGION or AWS_DEFAULT_REGION. @defaultValue "us-east-1" */
  region: z.string().default('us-east-1'),
  /** RAG_S3_FORCE_PATH_STYLE: path-style addressing (MinIO, s3rver). @defaultValue true when an endpoint is set */
  forcePathStyle: z.boolean().optional(),
  /** RAG_S3_MULTIPART_MB: part size for multipart uploads. @defaultValue 8 */
  multipartMb: z.number().int().min(5).max(5120).default(8),
});

/** ONNX Runtime sessions. */
export const onnxSchema = z.object({
  /** RAG_ONNX_EP: execution provider. @defaultValue "cpu" */
  executionProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** RAG_ONNX_THREADS: intra-op threads per session; 0 lets ONNX Runtime decide. @defaultValue 0 */
  intraOpThreads: z.number().int().min(0).max(256).default(0),
});

/** FAISS. */
export const faissSchema = z.object({
  /** RAG_FAISS_THREADS: OpenMP/BLAS threads for index build and search; 0 keeps the library default (all cores). Worker processes sharing a machine with ONNX sessions do best with 1. @defaultValue 0 */
  threads: z.number().int().min(0).max(256).default(0),
});

/**
 * The local disk cache of a serving process with remote storage (S3): the objects questions read
 * (re-rank vectors, passages) are copied there, verified, when a snapshot loads.
 */
export const objectCacheSchema = z.object({
  /** RAG_CACHE_DIR: where the copies live. @defaultValue "<RAG_HOME>/object-cache" */
  dir: z.string().min(1),
  /** RAG_CACHE_GB: least recently used copies are evicted above this size. @defaultValue 64 */
  maxGb: z.number().min(0.001).max(1 << 20).default(64),
});

/** The passage/question encoder. */
export const encoderSchema = z.object({
  /** RAG_ENCODER: directory in the Optimum layout (model.onnx, tokenizer.json, config.json). @defaultValue "<repo>/models/all-MiniLM-L6-v2" */
  dir: z.string().min(1),
  /** RAG_ENCODE_BATCH: passages per forward pass. @defaultValue 32 */
  batchSize: z.number().int().min(1).max(4096).default(32),
});

/** Question answering: the models generation workers load once per process. */
export const generationSchema = z.object({
  /** RAG_QUESTION_ENCODER: question encoder (Optimum layout). @defaultValue "<repo>/models/world-question-encoder" when present, else the passage encoder */
  questionEncoderDir: z.string().min(1),
  /** RAG_GENERATOR: seq2seq generator (Optimum layout, onnx/encoder_model.onnx + decoder). @defaultValue "<repo>/models/world-generator" */
  generatorDir: z.string().min(1),
  /** RAG_QA_CHUNK: questions per queue job; smaller chunks spread better and switch snapshots sooner. @defaultValue 16 */
  chunkSize: z.number().int().min(1).max(10000).default(16),
  /** RAG_SNAPSHOT_POLL_MS: how often generation workers re-read aliases from storage, in case a notification was missed. @defaultValue 5000 */
  aliasPollMs: z.number().int().min(100).default(5000),
});

/** BullMQ job behaviour. */
export const queueSchema = z.object({
  /** RAG_JOB_ATTEMPTS: attempts per job before it fails the build. @defaultValue 3 */
  attempts: z.number().int().min(1).max(100).default(3),
  /** RAG_JOB_BACKOFF_MS: first retry delay (exponential). @defaultValue 2000 */
  backoffMs: z.number().int().min(0).default(2000),
  /** RAG_LOCK_MS: job lock; a worker that dies (kill -9) loses its jobs after this long. @defaultValue 30000 */
  lockMs: z.number().int().min(1000).default(30000),
  /** RAG_STALLED_MS: how often workers look for stalled jobs. @defaultValue 15000 */
  stalledMs: z.number().int().min(500).default(15000),
  /** RAG_MAX_STALLED: times a job may stall (its worker died) before it fails. @defaultValue 3 */
  maxStalled: z.number().int().min(0).default(3),
  /** RAG_SHUTDOWN_MS: on SIGTERM/SIGINT a worker lets active jobs finish this long, then exits anyway (they are retried). @defaultValue 5000 */
  shutdownMs: z.number().int().min(0).max(600_000).default(5000),
  /**
   * RAG_NO_WORKER_WAIT_S: distributed mode, a build or QA run whose queues have had no worker listening for this
   * long stops waiting (its jobs stay queued; the same command attaches again). 0 waits without end, as
   * `--wait-for-workers` does. @defaultValue 120
   */
  noWorkerWaitS: z.number().int().min(0).default(120),
  /**
   * RAG_MODEL_MISMATCH_WAIT_S: a generate worker whose models are not the ones a QA chunk was queued for
   * puts the chunk back for a matching worker (with growing delays) while one is alive (announced in
   * Redis, see model-presence.ts), and fails it with MODEL_MISMATCH once none has been for this long. @defaultValue 120
   */
  modelMismatchWaitS: z.number().int().min(0).default(120),
});

/**
 * Where workers may read from. Job payloads come from Redis: whoever can write there must not be
 * able to make a worker read any file it can open (and copy it into object storage).
 */
export const pathsSchema = z.object({
  /** RAG_SOURCE_ROOTS: directories (':'-separated) under which build sources may lie. @defaultValue the working directory */
  sourceRoots: z.array(z.string().min(1)).min(1),
  /** RAG_MODEL_ROOTS: directories (':'-separated) under which encoder directories named by jobs may lie. @defaultValue "<repo>/models" plus the configured encoder, question encoder and generator directories */
  modelRoots: z.array(z.string().min(1)).min(1),
});

/** Monitoring: the coordinator's dashboard and every process's Prometheus endpoint. */
export const monitoringSchema = z.object({
  /** RAG_COORDINATOR_PORT: HTTP port of `./rag coordinator` (/metrics, /api, /queues). @defaultValue 9400 */
  coordinatorPort: z.number().int().min(0).max(65535).default(9400),
  /** RAG_HTTP_HOST: interface the coordinator and metrics servers bind; 0.0.0.0 in containers. @defaultValue "127.0.0.1" */
  host: z.string().min(1).default('127.0.0.1'),
  /** RAG_METRICS_PORT: if set, workers serve Prometheus /metrics on this port (0 = any free port). @defaultValue unset (off) */
  metricsPort: z.number().int().min(0).max(65535).optional(),
  /** RAG_ADMIN_TOKEN: enables the dashboard's mutating routes (retry, clean, add jobs) for requests that present it; unset = read-only. Never logged. @defaultValue unset */
  adminToken: z.string().min(16, 'RAG_ADMIN_TOKEN must be at least 16 characters').optional(),
});

export const logSchema = z.object({
  /** RAG_LOG_LEVEL: pino level. @defaultValue "info" */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const appConfigSchema = z.object({
  redis: redisSchema,
  queue: queueSchema,
  storage: storageSchema,
  onnx: onnxSchema,
  encoder: encoderSchema,
  faiss: faissSchema,
  objectCache: objectCacheSchema,
  generation: generationSchema,
  monitoring: monitoringSchema,
  log: logSchema,
  paths: pathsSchema,
  /** RAG_HOME: working directory for embedded Redis and scratch files. @defaultValue "<cwd>/.rag" */
  home: z.string().min(1),
});

export type RedisConfig = z.infer<typeof redisSchema>;
export type QueueConfig = z.infer<typeof queueSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type OnnxConfig = z.infer<typeof onnxSchema>;
export type EncoderConfig = z.infer<typeof encoderSchema>;
export type GenerationConfig = z.infer<typeof generationSchema>;
export type ObjectCacheConfig = z.infer<typeof objectCacheSchema>;
export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type PathsConfig = z.infer<typeof pathsSchema>;
export type AppConfig = z.infer<typeof appConfigSchema>;
