import { DelayedError, type ConnectionOptions, type Job, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import { RETRIEVE_ONLY } from '@rag/eval';
import type { QueueConfig } from '@rag/config';
import type { ObjectStore } from '@rag/storage';
import { QA_QUEUE, createQueueWorker } from '@rag/queue';
import { answerQuestions, NO_SNAPSHOT, type QaModels } from './answer-questions.js';
import { qaChunkJobSchema, qaQuestionSchema, type QaMode, type QaQuestion } from './qa-job.schema.js';
import { ModelMismatchError } from './qa-errors.js';
import { modelsServed } from './model-presence.js';
import { QaRunLayout } from './qa-run-layout.js';
import { qaProgressKey } from './qa-progress.js';
import type { SnapshotPool } from './snapshot-pool.js';

export interface QaWorkerOptions {
  connection: ConnectionOptions;
  redis: Redis;
  prefix: string;
  queue: QueueConfig;
  concurrency: number;
  store: ObjectStore;
  /** Loaded once per process; a job never loads a model. */
  models: () => Promise<QaModels>;
  /** modelFingerprint() of this worker's models for a mode (see workerModelFingerprints): checked against each job's. */
  fingerprint: (mode: QaMode) => Promise<string>;
  /** The question encoder alone, for retrieve-only chunks (default: from `models`, which loads the generator too). */
  questionEncoder?: () => Promise<Encoder>;
  snapshots: SnapshotPool;
  logger: Logger;
  /** Called after each chunk (metrics). */
  onChunk?: (info: { runId: string; snapshot: string; answered: number; failed: number; latencyMs: number[] }) => void;
}

/** Parses a chunk object; a corrupt one fails the job with the key in the message. */
export function parseQuestionChunk(bytes: Buffer, key: string): QaQuestion[] {
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line, i) => {
      try {
        return qaQuestionSchema.parse(JSON.parse(line));
      } catch (err) {
        throw new Error(`${key} line ${i + 1}: ${(err as Error).message}`);
      }
    });
}

/**
 * The `generate` role: answers question chunks. Idempotent and resumable: a chunk whose result
 * object exists is skipped, and results are written put-if-absent, so a retried or duplicated
 * job (a worker killed after writing) never rewrites an answer. A job queued for other models is
 * refused (ModelMismatchError), and a transient error of any question fails the whole chunk so
 * that BullMQ retries it: results hold only final answers.
 */
/** First delay before a chunk a worker cannot answer (other models) is offered again; doubles up to the max. */
const MISMATCH_DELAY_MS = 500;
const MISMATCH_MAX_DELAY_MS = 8000;

export function createQaWorker(o: QaWorkerOptions): Worker {
  const process = async (job: Job, token?: string) => {
    const req = qaChunkJobSchema.parse(job.data);
    const layout = new QaRunLayout(req.runId);
    const resultKey = layout.results(req.chunk);
    const progress = qaProgressKey(o.prefix, req.runId);
    if (await o.store.exists(resultKey)) {
      await o.redis.hset(progress, `c${req.chunk}`, 1);
      return { chunk: req.chunk, skipped: true };
    }
    const log = o.logger.child({ queue: QA_QUEUE, jobId: job.id, runId: req.runId, chunk: req.chunk });
    const mine = await o.fingerprint(req.settings.mode);
    if (mine !== req.models) {
      // Another worker may have the run's models: leave the chunk for it (no attempt used), with
      // growing delays. Only time during which no live worker announced those models counts
      // towards RAG_MODEL_MISMATCH_WAIT_S: a matching worker busy with other chunks is waited for.
      const served = await modelsServed(o.redis, o.prefix, req.models);
      const since = served ? undefined : (req.mismatch?.since ?? Date.now());
      const times = (req.mismatch?.times ?? 0) + 1;
      if (token && (since === undefined || Date.now() - since < o.queue.modelMismatchWaitS * 1000)) {
        const delay = Math.min(MISMATCH_DELAY_MS * 2 ** (times - 1), MISMATCH_MAX_DELAY_MS);
        log.warn({ event: 'qa.model-mismatch', mine, run: req.models, times, delayMs: delay, matchingWorker: served }, 'chunk queued for other models; leaving it for a matching worker');
        await job.updateData({ ...req, mismatch: { ...(since === undefined ? {} : { since }), times } });
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      throw new ModelMismatchError(`this worker's models (fingerprint ${mine}) are not the ones run ${req.runId} was queued for (${req.models})`, {
        hint: 'give every generate worker the same RAG_GENERATOR and RAG_QUESTION_ENCODER as the command that queued the run, or re-run that command with the workers\' models',
      });
    }
    const questionsKey = layout.questions(req.chunk);
    const questions = parseQuestionChunk(await o.store.get(questionsKey), questionsKey);
    const models = req.settings.mode === RETRIEVE_ONLY && o.questionEncoder ? { questionEncoder: await o.questionEncoder() } : await o.models();
    const retrieval = req.settings.mode !== 'no-retrieval';
    // Pin one snapshot for the whole chunk: an alias flip takes effect at the next chunk.
    const lease = retrieval ? await o.snapshots.acquire(req.settings.target) : undefined;
    try {
      const records = await answerQuestions(questions, { models, retriever: lease?.value, settings: req.settings, logger: log });
      const body = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const wrote = await o.store.putIfAbsent(resultKey, body);
      await o.redis.hset(progress, `c${req.chunk}`, 1);
      const failed = records.filter((r) => r.error).length;
      o.onChunk?.({ runId: req.runId, snapshot: lease?.snapshot ?? NO_SNAPSHOT, answered: records.length - failed, failed, latencyMs: records.map((r) => r.latency_ms) });
      log.debug({ event: 'qa.chunk.done', snapshot: lease?.snapshot, questions: records.length, failed, wrote }, 'chunk answered');
      return { chunk: req.chunk, snapshot: lease?.snapshot ?? null, questions: records.length, failed };
    } finally {
      lease?.release();
    }
  };
  return createQueueWorker(QA_QUEUE, process, o);
}
