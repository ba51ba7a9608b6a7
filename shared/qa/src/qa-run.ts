import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QaRunFailedError, UsageError, sha256, type Logger } from '@rag/core';
import type { QueueConfig } from '@rag/config';
import type { ObjectStore } from '@rag/storage';
import { QA_QUEUE } from '@rag/queue';
import { qaRecordSchema, type QaRecord } from '@rag/eval';
import { QA_PAYLOAD_VERSION, qaRunManifestSchema, type QaChunkJob, type QaQuestion, type QaRunManifest, type QaSettings } from './qa-job.schema.js';
import { QaRunLayout } from './qa-run-layout.js';
import { qaProgressKey, readQaProgress } from './qa-progress.js';

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
export async function prepareQaRun(store: ObjectStore, set: QuestionSet, settings: QaSettings, chunkSize: number, opts: { fresh?: boolean; models?: string } = {}): Promise<{ manifest: QaRunManifest; resumed: boolean }> {
  const runId = qaRunId(set, settings, chunkSize, opts.fresh ? `${Date.now()}-${Math.random()}` : undefined, opts.models);
  const layout = new QaRunLayout(runId);
  if (await store.exists(layout.manifest)) {
    const manifest = qaRunManifestSchema.parse(JSON.parse((await store.get(layout.manifest)).toString('utf8')));
    return { manifest, resumed: true };
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

/** Enqueues the chunks that have no results yet; failed leftovers from an earlier try are replaced. */
export async function enqueueQaRun(ctx: QaRunContext, manifest: QaRunManifest): Promise<{ pending: number; done: number }> {
  const layout = new QaRunLayout(manifest.runId);
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const jobs: { name: string; data: QaChunkJob; opts: object }[] = [];
    let done = 0;
    for (let c = 0; c < manifest.chunks; c++) {
      if (await ctx.store.exists(layout.results(c))) {
        await ctx.redis.hset(qaProgressKey(ctx.prefix, manifest.runId), `c${c}`, 1);
        done++;
        continue;
      }
      const id = layout.jobId(c);
      const old = await queue.getJob(id);
      if (old && ((await old.isFailed()) || (await old.isCompleted()))) await old.remove();
      jobs.push({
        name: 'chunk',
        data: { v: QA_PAYLOAD_VERSION, runId: manifest.runId, chunk: c, settings: manifest.settings },
        opts: {
          jobId: id,
          attempts: ctx.queue.attempts,
          backoff: { type: 'exponential', delay: ctx.queue.backoffMs },
          removeOnComplete: true,
          removeOnFail: false,
        },
      });
    }
    if (jobs.length) await queue.addBulk(jobs);
    return { pending: jobs.length, done };
  } finally {
    await queue.close();
  }
}

export interface WaitQaOptions {
  pollMs?: number;
  onTick?: (chunksDone: number) => void;
  onNoWorkers?: () => void;
  signal?: AbortSignal;
}

/** Waits until every chunk has results; a chunk that failed all its attempts fails the run with its reason. */
export async function waitForQaRun(ctx: QaRunContext, manifest: QaRunManifest, o: WaitQaOptions = {}): Promise<void> {
  const layout = new QaRunLayout(manifest.runId);
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  const started = Date.now();
  let warned = false;
  let lastFailCheck = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) throw new QaRunFailedError('interrupted', { hint: 'run the same command again to continue' });
      const done = await readQaProgress(ctx.redis, ctx.prefix, manifest.runId);
      o.onTick?.(done);
      if (done >= manifest.chunks) return;
      if (Date.now() - lastFailCheck > 2000) {
        lastFailCheck = Date.now();
        const failed = await queue.getJobs(['failed'], 0, 1000);
        const mine = failed.find((j) => j.id?.startsWith(`qa.${manifest.runId}.`));
        if (mine) {
          throw new QaRunFailedError(`question chunk ${mine.id} failed after ${mine.attemptsMade} attempt(s): ${mine.failedReason}`, {
            hint: `finished chunks are kept under ${layout.root}; fix the cause and run the same command again to continue`,
          });
        }
        if (!warned && o.onNoWorkers && Date.now() - started > 10000 && (await queue.getWorkersCount()) === 0) {
          warned = true;
          o.onNoWorkers();
        }
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
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
