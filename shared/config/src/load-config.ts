import { existsSync } from 'node:fs';
import { delimiter, resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@rag/core';
import { appConfigSchema, type AppConfig } from './config.schema.js';

/** Repository root (two levels above shared/config/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

type Env = Record<string, string | undefined>;

function int(env: Env, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : (NaN as number);
}

/** A number (fractions allowed); like int(), a non-number is NaN so that validation names it. */
const num = int;

function bool(env: Env, key: string): boolean | undefined {
  const v = env[key]?.toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return undefined;
}

/** A ':'-separated list of directories (as PATH), made absolute; undefined when unset or empty. */
function pathList(v: string | undefined): string[] | undefined {
  const dirs = (v ?? '').split(delimiter).filter(Boolean).map((d) => resolve(d));
  return dirs.length ? dirs : undefined;
}

/**
 * The trained question encoder is paired with the default passage encoder; with a user's own
 * passage encoder, questions go through that same encoder unless RAG_QUESTION_ENCODER says otherwise.
 */
function defaultQuestionEncoder(passageEncoder: string | undefined): string {
  const trained = join(REPO_ROOT, 'models', 'world-question-encoder');
  if (!passageEncoder && existsSync(join(trained, 'model.onnx'))) return trained;
  return passageEncoder ?? join(REPO_ROOT, 'models', 'all-MiniLM-L6-v2');
}

/**
 * The only place that reads the environment. Raw env → defaults → validated AppConfig.
 * Throws ConfigError listing every problem at once.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<{ storage: string; encoder: string; redisUrl: string }> = {}): AppConfig {
  const home = resolve(env.RAG_HOME || join(process.cwd(), '.rag'));
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const raw = {
    redis: {
      url: overrides.redisUrl ?? (env.REDIS_URL || undefined),
      prefix: env.RAG_QUEUE_PREFIX || undefined,
      serverBin: env.RAG_REDIS_SERVER || undefined,
    },
    queue: {
      attempts: int(env, 'RAG_JOB_ATTEMPTS'),
      backoffMs: int(env, 'RAG_JOB_BACKOFF_MS'),
      lockMs: int(env, 'RAG_LOCK_MS'),
      stalledMs: int(env, 'RAG_STALLED_MS'),
      maxStalled: int(env, 'RAG_MAX_STALLED'),
      shutdownMs: int(env, 'RAG_SHUTDOWN_MS'),
      noWorkerWaitS: int(env, 'RAG_NO_WORKER_WAIT_S'),
      modelMismatchWaitS: int(env, 'RAG_MODEL_MISMATCH_WAIT_S'),
    },
    storage: {
      url: overrides.storage ?? (env.RAG_STORAGE || join(home, 'storage')),
      endpoint,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      forcePathStyle: bool(env, 'RAG_S3_FORCE_PATH_STYLE') ?? (endpoint ? true : undefined),
      multipartMb: int(env, 'RAG_S3_MULTIPART_MB'),
    },
    onnx: {
      executionProvider: env.RAG_ONNX_EP || undefined,
      intraOpThreads: int(env, 'RAG_ONNX_THREADS'),
    },
    encoder: {
      dir: resolve(overrides.encoder ?? (env.RAG_ENCODER || join(REPO_ROOT, 'models', 'all-MiniLM-L6-v2'))),
      batchSize: int(env, 'RAG_ENCODE_BATCH'),
    },
    faiss: { threads: int(env, 'RAG_FAISS_THREADS') },
    objectCache: { dir: resolve(env.RAG_CACHE_DIR || join(home, 'object-cache')), maxGb: num(env, 'RAG_CACHE_GB') },
    generation: {
      questionEncoderDir: resolve(env.RAG_QUESTION_ENCODER || defaultQuestionEncoder(overrides.encoder ?? env.RAG_ENCODER)),
      generatorDir: resolve(env.RAG_GENERATOR || join(REPO_ROOT, 'models', 'world-generator')),
      chunkSize: int(env, 'RAG_QA_CHUNK'),
      aliasPollMs: int(env, 'RAG_SNAPSHOT_POLL_MS'),
    },
    monitoring: {
      coordinatorPort: int(env, 'RAG_COORDINATOR_PORT'),
      host: env.RAG_HTTP_HOST || undefined,
      metricsPort: int(env, 'RAG_METRICS_PORT'),
      adminToken: env.RAG_ADMIN_TOKEN || undefined,
    },
    log: { level: env.RAG_LOG_LEVEL || undefined },
    paths: {} as { sourceRoots?: string[]; modelRoots?: string[] },
    home,
  };
  raw.paths = {
    sourceRoots: pathList(env.RAG_SOURCE_ROOTS) ?? [process.cwd()],
    modelRoots: pathList(env.RAG_MODEL_ROOTS)
      ?? [...new Set([join(REPO_ROOT, 'models'), raw.encoder.dir, raw.generation.questionEncoderDir, raw.generation.generatorDir])],
  };
  const parsed = appConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      hint: 'see docs/configuration.md for every variable and its default',
    });
  }
  return parsed.data;
}
