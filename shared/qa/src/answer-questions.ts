import type { Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import type { Generator } from '@rag/generator';
import { ragGenerate, type RagDoc } from '@rag/rag';
import type { SnapshotRetriever } from '@rag/retrieval';
import { QA_RECORD_VERSION, RETRIEVE_ONLY, exactMatch, f1 as f1Score, goldRank, type QaRecord } from '@rag/eval';
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
}

/**
 * Answers one chunk against ONE loaded snapshot (the caller pins it for the whole chunk, so a
 * chunk never mixes snapshots). Questions are retrieved as a batch, then generated one at a
 * time so each answer's latency is its own. A question that fails is recorded with its error;
 * the others still run.
 */
export async function answerQuestions(questions: QaQuestion[], ctx: AnswerContext): Promise<QaRecord[]> {
  const { settings, models } = ctx;
  const retrieval = settings.mode === 'no-retrieval' ? undefined : ctx.retriever;
  if (settings.mode !== 'no-retrieval' && !retrieval) throw new Error('answerQuestions: a retriever is required unless mode is no-retrieval');

  const t0 = performance.now();
  let hits: RagDoc[][] = questions.map(() => []);
  if (retrieval) {
    retrieval.assertCompatible(models.questionEncoder);
    const vectors = await models.questionEncoder.encodeQueries(questions.map((q) => q.question));
    hits = (await retrieval.searchVectors(vectors, questions.length, settings.k)).map((list) => list.map((h) => ({ id: h.id, title: h.title, text: h.text, score: h.score })));
  }
  // Retrieval ran as one batch: charge each question an equal share.
  const retrievalMs = (performance.now() - t0) / Math.max(1, questions.length);

  const retrieveOnly = settings.mode === RETRIEVE_ONLY;
  const out: QaRecord[] = [];
  for (let i = 0; i < questions.length; i++) {
    const q = questions[i]!;
    const docs = hits[i]!;
    const started = performance.now();
    const base = {
      v: QA_RECORD_VERSION,
      id: q.id,
      index: q.index,
      question: q.question,
      snapshot: retrieval ? retrieval.snapshotId : NO_SNAPSHOT,
      mode: settings.mode,
      k: retrieval ? settings.k : 0,
      // Retrieve-only output is the passages, so they carry their text; RAG records name them (the snapshot has them).
      docs: docs.map((d) => ({ id: d.id, title: d.title, score: round(d.score), ...(retrieveOnly ? { text: d.text } : {}) })),
      ...(settings.year ? { year: settings.year } : {}),
      ...(q.answers ? { gold: q.answers } : {}),
      ...(q.answersByYear ? { gold_by_year: q.answersByYear } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(retrieval && q.answers?.length ? { gold_rank: goldRank(docs.map((d) => d.text), q.answers) } : {}),
    };
    if (retrieveOnly) {
      out.push({ ...base, answer: '', tokens: [], doc_posteriors: [], latency_ms: round(retrievalMs, 1) } as QaRecord);
      continue;
    }
    try {
      if (!models.generator) throw new Error(`mode ${settings.mode} needs a generator`);
      const [ans] = await ragGenerate(models.generator, [{ question: q.question, docs }], {
        mode: settings.mode as Exclude<QaMode, typeof RETRIEVE_ONLY>,
        beams: settings.beams,
        // HF's max_combined_length (300), but never past what the generator's positions allow.
        maxCombinedLength: Math.min(300, models.generator.tokenizer.modelMaxLength),
        ...(settings.maxLength ? { maxLength: settings.maxLength } : {}),
      });
      const answer = ans!.answer.trim();
      out.push({
        ...base,
        answer,
        tokens: ans!.tokens,
        // No retrieval: one empty row per token (there are no documents to be posterior over).
        doc_posteriors: retrieval ? ans!.docPosteriors.map((row) => row.map((p) => round(p))) : ans!.tokens.map(() => []),
        latency_ms: round(performance.now() - started + retrievalMs, 1),
        ...(q.answers ? { em: exactMatch(answer, q.answers), f1: round(f1Score(answer, q.answers)) } : {}),
      } as QaRecord);
    } catch (err) {
      ctx.logger?.warn({ event: 'qa.question.failed', id: q.id, err: (err as Error).message }, 'question failed');
      out.push({ ...base, answer: '', tokens: [], doc_posteriors: [], latency_ms: round(performance.now() - started, 1), error: (err as Error).message } as QaRecord);
    }
  }
  return out;
}

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
