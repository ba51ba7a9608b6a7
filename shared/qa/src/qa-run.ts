import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { NoWorkersError, QaRunFailedError, RagError, UsageError, sha256, type Logger } from '@rag/core';
import type { QueueConfig } from '@rag/config';
import type { ObjectStore } from '@rag/storage';
import { QA_QUEUE } from '@rag/queue';
import { qaRecordSchema, type QaRecord } from '@rag/eval';
import { QA_PAYLOAD_VERSION, qaRunManifestSchema, type QaChunkJob, type QaQuestion, type QaRunManifest, type QaSettings } from './qa-job.schema.js';
import { QaRunLayout } from './qa-run-layout.js';
import { qaProgressKey } from './qa-progress.js';

export interface QuestionSet {
  questions: QaQuestion[];
  source: { path: string; sha256: string; format: string };
}

/**
 * The run id is a hash of what was asked (questions, settings, chunking) and of the models that
 * answer it (modelFingerprint), so running the same command again continues the same run and
 * skips finished chunks. `fresh` starts over.
 */
export function qaRunId(set: QuestionSet, settings: QaSettings, chunkSize: number, nonce?: string, models?: string): string {
  // The questions themselves, not just the file: two subsets of one file (--changed-only, --type,
  // --limit) can have the same size, and must not resume each other's answers.
  const questions = sha256(JSON.stringify(set.questions));
  const what = JSON.stringify({ v: QA_PAYLOAD_VERSION, source: set.source.sha256, n: set.questions.length, questions, settings, chunkSize, nonce: nonce ?? null, ...(models ? { models } : {}) });
  return sha256(what).slice(0, 16);
}

/** Writes the chunk objects, then the run manifest; an existing run is verified and reused. */
export async function prepareQaRun(store: ObjectStore, set: QuestionSet, settings: QaSettings, chunkSize: number, opts: { fresh?: boolean; models: string }): Promise<{ manifest: QaRunManifest; resumed: boolean }> {
  const runId = qaRunId(set, settings, chunkSize, opts.fresh ? `${Date.now()}-${Math.random()}` : undefined, opts.models);
  const layout = new QaRunLayout(runId);
  if (await store.exists(layout.manifest)) {
    const manifest = qaRunManifestSchema.parse(JSON.parse((await store.get(layout.manifest)).toString('utf8')));
    if (manifest.models !== undefined && manifest.models !== opts.models) {
      throw new UsageError(`run ${runId} was prepared for models ${manifest.models}, not ${opts.models}`, { hint: 'run with --fresh to start the run over' });
    }
    // The run id hashes the fingerprint, so a manifest written before it was recorded had these models.
    return { manifest: { ...manifest, models: opts.models }, resumed: true };
  }
  const chunks = Math.ceil(set.questions.length / chunkSize);
  for (let c = 0; c < chunks; c++) {
    const rows = set.questions.slice(c * chunkSize, (c + 1) * chunkSize);
    await store.put(layout.questions(c), rows.map((q) => JSON.stringify(q)).join('\n') + '\n');
  }
  const manifest: QaRunManifest = {
    v: QA_PAYLOAD_VERSION,
    runId,
    settings,
    questions: set.questions.length,
    chunks,
    chunkSize,
    source: set.source,
    models: opts.models,
    createdAt: new Date().toISOString(),
  };
  // Written last: a run without it is incomplete and is prepared again.
  await store.putIfAbsent(layout.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, resumed: false };
}

export interface QaRunContext {
  connection: ConnectionOptions;
  redis: Redis;
  prefix: string;
  queue: QueueConfig;
  store: ObjectStore;
  logger: Logger;
}

/** The chunks whose results object exists: storage, not Redis, says what is done. */
export async function finishedQaChunks(store: ObjectStore, manifest: QaRunManifest): Promise<Set<number>> {
  const layout = new QaRunLayout(manifest.runId);
  const done = new Set<number>();
  for (const key of await store.list(layout.resultsPrefix)) {
    const c = layout.chunkOfResults(key);
    if (c !== undefined && c < manifest.chunks) done.add(c);
  }
  return done;
}

function chunkJob(ctx: QaRunContext, manifest: QaRunManifest, c: number) {
  if (!manifest.models) throw new UsageError(`run ${manifest.runId} has no model fingerprint`, { hint: 'prepare it with prepareQaRun' });
  return {
    name: 'chunk',
    data: { v: QA_PAYLOAD_VERSION, runId: manifest.runId, chunk: c, settings: manifest.settings, models: manifest.models } satisfies QaChunkJob,
    opts: {
      jobId: new QaRunLayout(manifest.runId).jobId(c),
      attempts: ctx.queue.attempts,
      backoff: { type: 'exponential', delay: ctx.queue.backoffMs },
      removeOnComplete: true,
      // Kept a day for `./rag` and the dashboard to show why; the run itself removes the ones it reported.
      removeOnFail: { age: FAILED_JOB_TTL_S },
    },
  };
}

/** How long a failed chunk job stays in Redis when no run removes it. */
const FAILED_JOB_TTL_S = 24 * 3600;

/** Enqueues the chunks that have no results yet; failed leftovers from an earlier try are replaced. */
export async function enqueueQaRun(ctx: QaRunContext, manifest: QaRunManifest): Promise<{ pending: number; done: number; pendingChunks: number[] }> {
  const layout = new QaRunLayout(manifest.runId);
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const finished = await finishedQaChunks(ctx.store, manifest);
    const jobs = [];
    const pendingChunks: number[] = [];
    for (let c = 0; c < manifest.chunks; c++) {
      if (finished.has(c)) {
        await ctx.redis.hset(qaProgressKey(ctx.prefix, manifest.runId), `c${c}`, 1);
        continue;
      }
      const old = await queue.getJob(layout.jobId(c));
      if (old && ((await old.isFailed()) || (await old.isCompleted()))) await old.remove();
      jobs.push(chunkJob(ctx, manifest, c));
      pendingChunks.push(c);
    }
    if (jobs.length) await queue.addBulk(jobs);
    return { pending: jobs.length, done: finished.size, pendingChunks };
  } finally {
    await queue.close();
  }
}

export interface WaitQaOptions {
  /** How often storage is listed for finished chunks. @defaultValue 500 */
  pollMs?: number;
  /** How often the queue is checked for failed and lost chunks. @defaultValue 2000 */
  checkMs?: number;
  /** Called with the error when storage cannot be listed (the wait goes on; again every 30 s), and with undefined once it can again. */
  onStorage?: (error: string | undefined) => void;
  /** Called with the number of chunks queued again because Redis no longer knew them. */
  onRequeue?: (chunks: number) => void;
  onTick?: (chunksDone: number) => void;
  onNoWorkers?: () => void;
  /** Stop waiting (NoWorkersError) once the queue has had no worker for this long; 0 or absent: wait on. */
  noWorkerGiveUpMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until every chunk has results in storage. Redis is not trusted to be durable: a chunk
 * that is neither finished nor known to the queue (a Redis restart lost it) is queued again, so
 * the wait always ends. A chunk that failed all its attempts fails the run with its reason; every
 * failed job of the run is looked up by id (no scan of the failed list) and removed once reported.
 */
export async function waitForQaRun(ctx: QaRunContext, manifest: QaRunManifest, o: WaitQaOptions = {}): Promise<void> {
  const layout = new QaRunLayout(manifest.runId);
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  const started = Date.now();
  const checkMs = o.checkMs ?? 2000;
  let warned = false;
  let lastWorkerSeen = Date.now();
  let lastCheck = Date.now();
  let storageError: string | undefined;
  let storageReported = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) throw new QaRunFailedError('interrupted', { hint: 'run the same command again to continue' });
      let done: Set<number>;
      try {
        done = await finishedQaChunks(ctx.store, manifest);
        if (storageError) o.onStorage?.(undefined);
        storageError = undefined;
      } catch (err) {
        // Storage down (an S3 outage): the workers' retries ride it out; keep waiting and say so.
        const msg = RagError.from(err).oneLine();
        // Once per distinct problem, and again every 30 s: a waiting command is never silent for long.
        if (msg !== storageError || Date.now() - storageReported > 30_000) {
          storageReported = Date.now();
          ctx.logger.warn({ event: 'qa.storage-unreadable', runId: manifest.runId, err: msg }, 'cannot list finished chunks; waiting');
          o.onStorage?.(msg);
        }
        storageError = msg;
        await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
        continue;
      }
      o.onTick?.(done.size);
      if (done.size >= manifest.chunks) return;
      if (Date.now() - lastCheck > checkMs) {
        lastCheck = Date.now();
        const failed: Job[] = [];
        const lost: number[] = [];
        for (let c = 0; c < manifest.chunks; c++) {
          if (done.has(c)) continue;
          const job = await queue.getJob(layout.jobId(c));
          if (!job) lost.push(c);
          else if (await job.isFailed()) failed.push(job);
        }
        if (failed.length) {
          const first = failed[0]!;
          const reason = `question chunk ${first.id} failed after ${first.attemptsMade} attempt(s): ${first.failedReason}`;
          for (const job of failed) await job.remove().catch(() => undefined);
          throw new QaRunFailedError(failed.length > 1 ? `${reason} (and ${failed.length - 1} more chunk(s))` : reason, {
            hint: `finished chunks are kept under ${layout.root}; fix the cause and run the same command again to continue`,
          });
        }
        if (lost.length) {
          // Results may have landed between the listing and the lookups: those jobs are skipped by the worker.
          ctx.logger.warn({ event: 'qa.chunks.requeued', runId: manifest.runId, chunks: lost.length }, 'chunks missing from Redis (restarted without its data?); queued again');
          await queue.addBulk(lost.map((c) => chunkJob(ctx, manifest, c)));
          o.onRequeue?.(lost.length);
        }
        if (o.onNoWorkers && Date.now() - started > 10000) {
          if ((await queue.getWorkersCount().catch(() => 1)) > 0) lastWorkerSeen = Date.now();
          else {
            if (!warned) { warned = true; o.onNoWorkers(); }
            if (o.noWorkerGiveUpMs && Date.now() - lastWorkerSeen >= o.noWorkerGiveUpMs) {
              throw new NoWorkersError(`no worker has listened on queue ${QA_QUEUE} (prefix ${ctx.prefix}) for ${Math.round(o.noWorkerGiveUpMs / 1000)} s; stopped waiting`, {
                hint: `run ${manifest.runId} stays queued: start workers (./rag worker --roles generate with the same REDIS_URL and RAG_STORAGE) and run the same command again to follow it, or pass --wait-for-workers (RAG_NO_WORKER_WAIT_S=0) to wait without end`,
              });
            }
          }
        }
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    await queue.close();
  }
}

/** Every answer of the run, in question order. */
export async function collectQaResults(store: ObjectStore, manifest: QaRunManifest): Promise<QaRecord[]> {
  const layout = new QaRunLayout(manifest.runId);
  const out: QaRecord[] = [];
  for (let c = 0; c < manifest.chunks; c++) {
    const key = layout.results(c);
    const text = (await store.get(key)).toString('utf8');
    for (const line of text.split('\n')) if (line) out.push(qaRecordSchema.parse(JSON.parse(line)));
  }
  if (out.length !== manifest.questions) {
    throw new UsageError(`run ${manifest.runId} has ${out.length} answers for ${manifest.questions} questions`, { hint: 'run with --fresh to start the run over' });
  }
  return out.sort((a, b) => a.index - b.index);
}
