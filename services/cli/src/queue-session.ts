import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { QueueUnavailableError, WorkersExitedError, redactUrl, type Logger } from '@rag/core';
import type { AppConfig } from '@rag/config';
import { assertRedisReachable, createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { onInterrupt } from './interrupt.js';
import { watchRedis } from './redis-watch.js';

const WORKER_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../worker/src/main.ts');

export interface QueueSession {
  url: string;
  embedded: boolean;
  /** For BullMQ (blocking commands allowed). */
  connection: Redis;
  /** For plain reads (progress). */
  redis: Redis;
  workers: ChildProcess[];
  logDir: string;
  /**
   * Rejects when every local worker process has exited while the session is open (a crash at
   * start-up, an OOM kill), or when the private redis-server has: waiting on the queue would
   * otherwise hang forever. Never settles in distributed mode without local workers.
   */
  failed: Promise<never>;
  close(): Promise<void>;
}

/**
 * Where the CLI's jobs go. With REDIS_URL: that Redis (distributed mode; local workers only
 * if asked for). Without: a private redis-server on a free loopback port plus local worker
 * processes — one ONNX session per process, never per job.
 */
export async function openQueueSession(config: AppConfig, logger: Logger, opts: {
  workers: number;
  roles?: string;
  /** Directories local workers may read sources from besides the configured RAG_SOURCE_ROOTS (the command's own --source). */
  sourceRoots?: string[];
}): Promise<QueueSession> {
  let embedded: EmbeddedRedis | undefined;
  let url = config.redis.url;
  if (url) {
    await assertRedisReachable(url);
  } else {
    embedded = await startEmbeddedRedis({ bin: config.redis.serverBin, dir: join(config.home, 'redis') });
    url = embedded.url;
    logger.debug({ event: 'redis.embedded', port: embedded.port }, 'private redis-server started');
  }
  const logDir = join(config.home, 'logs');
  mkdirSync(logDir, { recursive: true });
  const workers: ChildProcess[] = [];
  // Local workers share this machine's cores: unless told otherwise, split them evenly
  // (N processes each using every core would oversubscribe the CPU).
  const share = String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, opts.workers))));
  const threads = {
    onnx: config.onnx.intraOpThreads > 0 ? String(config.onnx.intraOpThreads) : share,
    faiss: config.faiss.threads > 0 ? String(config.faiss.threads) : share,
  };
  const roots = {
    sources: [...new Set([...config.paths.sourceRoots, ...(opts.sourceRoots ?? [])])].join(delimiter),
    // The encoder this command resolved (--encoder) is the user's choice, so its workers may load it.
    models: [...new Set([...config.paths.modelRoots, config.encoder.dir])].join(delimiter),
  };
  for (let i = 0; i < opts.workers; i++) workers.push(spawnWorker(config, url, i, logDir, opts.roles ?? 'ingest,encode,index', threads, roots));
  let closing = false;
  const failed = new Promise<never>((_, reject) => {
    let alive = workers.length;
    for (const w of workers) {
      w.once('exit', (code, signal) => {
        alive--;
        if (alive === 0 && !closing) {
          reject(new WorkersExitedError(`all ${workers.length} local worker process(es) exited (last: ${signal ?? `code ${code}`})`, {
            hint: `see the worker logs in ${logDir}; finished work is kept, run the same command again to continue`,
          }));
        }
      });
    }
    void embedded?.exited.then((code) => {
      if (closing) return;
      reject(new QueueUnavailableError(`the private redis-server this command started exited (code ${code}); its queue state is gone`, {
        retryable: false,
        hint: 'finished work is kept in storage: run the same command again to resume',
      }));
    });
  });
  failed.catch(() => {}); // observed by callers that race it; never an unhandled rejection
  const connection = createRedisConnection(url);
  const redis = createRedisConnection(url);
  connection.on('error', (err) => logger.debug({ err: err.message }, 'redis error'));
  redis.on('error', () => {});
  const unwatch = embedded ? () => {} : watchRedis(redis, { url });
  logger.debug({ event: 'queue.session', redis: redactUrl(url), workers: workers.length }, 'queue session open');
  let closed: Promise<void> | undefined;
  // Order matters: this process's connections first (nothing here then trips over a vanishing
  // Redis), then the workers (they may still release their jobs), then the private Redis.
  const close = () => (closed ??= (async () => {
    closing = true;
    unwatch();
    connection.disconnect();
    redis.disconnect();
    await Promise.all(workers.map((w) => stopChild(w, config.queue.shutdownMs)));
    await embedded?.stop();
  })());
  const unregister = onInterrupt(close, () => {
    for (const w of workers) killGroup(w, 'SIGKILL');
    embedded?.kill();
  });
  return {
    url,
    embedded: !!embedded,
    connection,
    redis,
    workers,
    logDir,
    failed,
    async close() {
      unregister();
      await close();
    },
  };
}

function spawnWorker(config: AppConfig, url: string, i: number, logDir: string, roles: string, threads: { onnx: string; faiss: string }, roots: { sources: string; models: string }): ChildProcess {
  const fd = openSync(join(logDir, `worker-${i}.log`), 'a');
  const child = spawn(process.execPath, [...process.execArgv, WORKER_MAIN, '--roles', roles, '--concurrency', '1'], {
    // The parent's environment carries AWS credentials through the standard chain; the rest is explicit.
    env: {
      ...process.env,
      REDIS_URL: url,
      RAG_STORAGE: config.storage.url,
      RAG_QUEUE_PREFIX: config.redis.prefix,
      RAG_HOME: config.home,
      RAG_LOG_LEVEL: config.log.level,
      RAG_LOCK_MS: String(config.queue.lockMs),
      RAG_STALLED_MS: String(config.queue.stalledMs),
      RAG_JOB_ATTEMPTS: String(config.queue.attempts),
      RAG_JOB_BACKOFF_MS: String(config.queue.backoffMs),
      // The build's encoder, so workers can load it while ingest runs; the question encoder as this
      // process resolved it (it defaults differently when RAG_ENCODER is set).
      RAG_ENCODER: config.encoder.dir,
      RAG_QUESTION_ENCODER: config.generation.questionEncoderDir,
      RAG_ONNX_EP: config.onnx.executionProvider,
      RAG_ONNX_THREADS: threads.onnx,
      RAG_FAISS_THREADS: threads.faiss,
      RAG_SOURCE_ROOTS: roots.sources,
      RAG_MODEL_ROOTS: roots.models,
      RAG_SHUTDOWN_MS: String(config.queue.shutdownMs),
    },
    // The IPC channel is the worker's lifeline: it closes when this process dies, even by kill -9,
    // and the worker then exits. Its own process group keeps a terminal's Ctrl-C away from it: this
    // process stops the workers itself, in order.
    stdio: ['ignore', fd, fd, 'ipc'],
    detached: true,
  });
  closeSync(fd);
  return child;
}

/** A local worker gets its own shutdown deadline (RAG_SHUTDOWN_MS) plus this, between SIGTERM and SIGKILL. */
const KILL_SLACK_MS = 1500;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs + KILL_SLACK_MS);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    killGroup(child, 'SIGTERM');
  });
}

/** Waits for `work` unless every local worker dies first (then fails with the logs' location). */
export function raceWorkers<T>(session: QueueSession, work: Promise<T>): Promise<T> {
  if (!session.workers.length && !session.embedded) return work;
  work.catch(() => {}); // if the workers lost the race, the abandoned wait may fail later, unobserved
  return Promise.race([work, session.failed]);
}
