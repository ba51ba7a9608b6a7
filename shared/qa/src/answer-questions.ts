import { RagError, type Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import type { Generator } from '@rag/generator';
import { ragGenerate, type RagAnswer, type RagDoc } from '@rag/rag';
import type { SnapshotRetriever } from '@rag/retrieval';
import { QA_RECORD_VERSION, RETRIEVE_ONLY, exactMatch, f1 as f1Score, goldRank, taskRecordScores, type QaRecord } from '@rag/eval';
import type { QaMode, QaQuestion, QaSettings } from './qa-job.schema.js';

/** The `snapshot` of a no-retrieval answer: the generator alone, no index. */
export const NO_SNAPSHOT = 'none';

export interface QaModels {
  questionEncoder: Encoder;
  generator: Generator;
}

export interface AnswerContext {
  /** The generator may be absent in retrieve-only mode. */
  models: Pick<QaModels, 'questionEncoder'> & Partial<Pick<QaModels, 'generator'>>;
  /** Absent only in no-retrieval mode. */
  retriever?: SnapshotRetriever;
  settings: QaSettings;
  logger?: Logger;
  /**
   * Questions decoded together (questions × K documents × beams decoder rows in one batch). Answers are
   * the same as one at a time; memory grows with it. @defaultValue 16
   */
  generationBatch?: number;
}

/** Default questions per decoder batch: a default chunk (16) in one batch. */
export const GENERATION_BATCH = 16;

/**
 * Whether a question's error is its final answer: only deterministic input errors (the question
 * itself cannot be answered). Anything else (out of memory, an ONNX Runtime session error, a
 * storage hiccup reading passages) may pass on the next try, so it must not be stored.
 */
export function isFinalQuestionError(err: unknown): boolean {
  return err instanceof RagError && !err.retryable && (err.code === 'USAGE' || err.code === 'CORRUPT_INPUT');
}

/**
 * Answers one chunk against ONE loaded snapshot (the caller pins it for the whole chunk, so a
 * chunk never mixes snapshots). Questions are retrieved as a batch and generated in batches of
 * `generationBatch` (batched beam search gives each question the answer it gets alone; the decoder
 * runs once per step for the whole batch). A question's latency is its share of the batch it was
 * decoded in and of retrieval; the batch's wall time is recorded beside it. If a batch fails, its questions are retried
 * one at a time. A question that fails with a deterministic input error is recorded with its error
 * and the others still run; any other error is thrown, so the chunk is retried instead of keeping a
 * transient failure as that question's answer.
 */
export async function answerQuestions(questions: QaQuestion[], ctx: AnswerContext): Promise<QaRecord[]> {
  const { settings, models } = ctx;
  const retrieval = settings.mode === 'no-retrieval' ? undefined : ctx.retriever;
  if (settings.mode !== 'no-retrieval' && !retrieval) throw new Error('answerQuestions: a retriever is required unless mode is no-retrieval');
  const batchSize = ctx.generationBatch ?? GENERATION_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`answerQuestions: generationBatch must be an integer >= 1, got ${batchSize}`);

  const t0 = performance.now();
  let hits: RagDoc[][] = questions.map(() => []);
  if (retrieval) {
    retrieval.assertCompatible(models.questionEncoder);
    const vectors = await models.questionEncoder.encodeQueries(questions.map((q) => q.question));
    hits = (await retrieval.searchVectors(vectors, questions.length, settings.k)).map((list) => list.map((h) => ({ id: h.id, title: h.title, text: h.text, score: h.score })));
  }
  // Retrieval ran as one batch: charge each question an equal share.
  const retrievalMs = (performance.now() - t0) / Math.max(1, questions.length);

  if (settings.mode === RETRIEVE_ONLY) {
    // The output is the passages themselves: no generator runs.
    const timing = { latency_ms: round(retrievalMs, 1), batch_ms: round(retrievalMs * questions.length, 1), batch_questions: Math.max(1, questions.length) };
    return questions.map((q, i) => ({ ...recordBase(q, hits[i]!, ctx), answer: '', tokens: [], doc_posteriors: [], ...timing }) as QaRecord);
  }
  const generator = models.generator;
  if (!generator) throw new Error(`answerQuestions: mode ${settings.mode} needs a generator`);
  const generate = (idx: number[]) =>
    ragGenerate(
      generator,
      idx.map((i) => ({ question: questions[i]!.question, docs: hits[i]! })),
      {
        mode: settings.mode as Exclude<QaMode, typeof RETRIEVE_ONLY>,
        beams: settings.beams,
        // HF's max_combined_length (300), but never past what the generator's positions allow.
        maxCombinedLength: Math.min(300, generator.tokenizer.modelMaxLength),
        ...(settings.maxLength ? { maxLength: settings.maxLength } : {}),
      },
    );

  const out: QaRecord[] = [];
  for (let from = 0; from < questions.length; from += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, questions.length - from) }, (_, j) => from + j);
    const started = performance.now();
    let answers: RagAnswer[] | undefined;
    try {
      answers = await generate(idx);
    } catch (err) {
      if (idx.length === 1) {
        const ms = performance.now() - started + retrievalMs;
        out.push(failed(questions[idx[0]!]!, hits[idx[0]!]!, ctx, err as Error, { latencyMs: ms, batchMs: ms, batchQuestions: 1 }));
        continue;
      }
      ctx.logger?.warn({ event: 'qa.batch.failed', questions: idx.length, err: (err as Error).message }, 'batch failed; answering its questions one at a time');
    }
    if (answers) {
      // One decoder batch: each question is charged its share of it (see qaRecordSchema.latency_ms).
      const batchMs = performance.now() - started + retrievalMs * idx.length;
      const timing = { latencyMs: batchMs / idx.length, batchMs, batchQuestions: idx.length };
      idx.forEach((i, j) => out.push(answered(questions[i]!, hits[i]!, ctx, answers![j]!, timing)));
      continue;
    }
    for (const i of idx) {
      const one = performance.now();
      try {
        const [ans] = await generate([i]);
        const ms = performance.now() - one + retrievalMs;
        out.push(answered(questions[i]!, hits[i]!, ctx, ans!, { latencyMs: ms, batchMs: ms, batchQuestions: 1 }));
      } catch (err) {
        const ms = performance.now() - one + retrievalMs;
        out.push(failed(questions[i]!, hits[i]!, ctx, err as Error, { latencyMs: ms, batchMs: ms, batchQuestions: 1 }));
      }
    }
  }
  return out;
}

/** The fields of a record that do not depend on the answer. */
function recordBase(q: QaQuestion, docs: RagDoc[], ctx: AnswerContext) {
  const { settings } = ctx;
  const retrieval = settings.mode === 'no-retrieval' ? undefined : ctx.retriever;
  return {
    v: QA_RECORD_VERSION,
    id: q.id,
    index: q.index,
    question: q.question,
    snapshot: retrieval ? retrieval.snapshotId : NO_SNAPSHOT,
    mode: settings.mode,
    k: retrieval ? settings.k : 0,
    ...(retrieval ? { question_encoder: { name: ctx.models.questionEncoder.name, sha256: ctx.models.questionEncoder.sha256 } } : {}),
    ...(settings.mode !== RETRIEVE_ONLY && ctx.models.generator ? { generator: { name: ctx.models.generator.name, sha256: ctx.models.generator.sha256 } } : {}),
    // Retrieve-only output is the passages, so they carry their text; RAG records name them (the snapshot has them).
    docs: docs.map((d) => ({ id: d.id, title: d.title, score: round(d.score), ...(settings.mode === RETRIEVE_ONLY ? { text: d.text } : {}) })),
    ...(settings.year ? { year: settings.year } : {}),
    ...(q.answers ? { gold: q.answers } : {}),
    ...(q.answersByYear ? { gold_by_year: q.answersByYear } : {}),
    ...(q.type ? { type: q.type } : {}),
    ...(q.task ? { task: q.task } : {}),
    ...(q.references ? { references: q.references } : {}),
    ...(retrieval && q.answers?.length ? { gold_rank: goldRank(docs.map((d) => d.text), q.answers) } : {}),
  };
}

interface Timing {
  latencyMs: number;
  batchMs: number;
  batchQuestions: number;
}

const timingFields = (t: Timing) => ({ latency_ms: round(t.latencyMs, 1), batch_ms: round(t.batchMs, 1), batch_questions: t.batchQuestions });

function answered(q: QaQuestion, docs: RagDoc[], ctx: AnswerContext, ans: RagAnswer, timing: Timing): QaRecord {
  const answer = ans.answer.trim();
  const retrieval = ctx.settings.mode !== 'no-retrieval';
  return {
    ...recordBase(q, docs, ctx),
    answer,
    tokens: ans.tokens,
    // No retrieval: one empty row per token (there are no documents to be posterior over).
    doc_posteriors: retrieval ? ans.docPosteriors.map((row) => row.map((p) => round(p))) : ans.tokens.map(() => []),
    ...timingFields(timing),
    ...(q.answers ? { em: exactMatch(answer, q.answers), f1: round(f1Score(answer, q.answers)) } : {}),
    ...taskScoresField(q, answer),
  } as QaRecord;
}

/** A question's error as its answer, if final; a transient error is thrown (the chunk is retried). */
function failed(q: QaQuestion, docs: RagDoc[], ctx: AnswerContext, err: Error, timing: Timing): QaRecord {
  if (!isFinalQuestionError(err)) {
    ctx.logger?.warn({ event: 'qa.question.transient', id: q.id, err: err.message }, 'question failed with a transient error; the chunk will be retried');
    throw err;
  }
  ctx.logger?.warn({ event: 'qa.question.failed', id: q.id, err: err.message }, 'question failed');
  return { ...recordBase(q, docs, ctx), answer: '', tokens: [], doc_posteriors: [], ...timingFields(timing), error: err.message } as QaRecord;
}

/** The paper's other tasks: the record's own sentence-level scores (the run's corpus scores are in its summary). */
function taskScoresField(q: QaQuestion, answer: string): { task_scores?: Record<string, number> } {
  const scores = taskRecordScores(q.task, answer, q.references);
  return scores ? { task_scores: Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, round(v)])) } : {};
}

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
