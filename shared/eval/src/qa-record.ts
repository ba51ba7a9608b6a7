import { access, constants } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { readTextChunks } from '@rag/core';
import { QuestionFileError } from './eval-errors.js';

/**
 * What `qa run` writes, one JSON line per question, and what the reports read back. Field names are snake_case
 * because the lines are meant for jq and pandas as much as for us. `v` changes when a field changes meaning.
 */
export const QA_RECORD_VERSION = 1;

/** The mode that retrieves and stops: passages with provenance, scored by hits@K, no generated answer. */
export const RETRIEVE_ONLY = 'retrieve-only';

// Posteriors come out of a softmax in float32; allow the rounding that leaves a row summing a hair above 1.
const probability = z.number().min(0).max(1 + 1e-4);

export const qaDocSchema = z.object({
  id: z.string(),
  title: z.string(),
  /** Retriever inner product (higher is closer). */
  score: z.number(),
  /** The passage itself: in retrieve-only records, whose output is the passages. */
  text: z.string().optional(),
});
export type QaDoc = z.infer<typeof qaDocSchema>;

/** A model as a record names it: its name and the sha256 over its weights (Encoder.sha256, Generator.sha256). */
export const modelIdSchema = z.object({ name: z.string(), sha256: z.string() });
export type ModelId = z.infer<typeof modelIdSchema>;

/** The question file a record or summary came from. */
export const questionSourceSchema = z.object({ path: z.string(), sha256: z.string(), format: z.string().optional() });

export const qaRecordSchema = z
  .object({
    v: z.literal(QA_RECORD_VERSION),
    /** Stable question id from the question file (see readQuestions). */
    id: z.string().min(1),
    /** 0-based ordinal among the file's valid questions. */
    index: z.number().int().min(0),
    question: z.string(),
    /** '' when the question failed. */
    answer: z.string(),
    snapshot: z.string(),
    /** Decoding mode, e.g. 'rag-token', 'rag-sequence'. */
    mode: z.string().min(1),
    k: z.number().int().min(0),
    /** The gold year `gold` was taken from (world questions). */
    year: z.string().optional(),
    /** Retrieved passages, best first; columns of doc_posteriors. */
    docs: z.array(qaDocSchema),
    /** [answer token][doc]: p(doc | question, answer prefix) for each generated token. */
    doc_posteriors: z.array(z.array(probability)),
    /** Generated answer tokens as text pieces; rows of doc_posteriors. */
    tokens: z.array(z.string()),
    /**
     * This question's own cost: its share of the batched retrieval plus its share of the generation batch it was
     * decoded in (batch wall time / questions in the batch); a question answered alone is timed alone. Their sum
     * over a chunk is the chunk's compute time, so mean latency and q/s agree.
     */
    latency_ms: z.number().min(0),
    /** Wall time of the batch this question was decoded in (retrieval shares included), and how many questions it held. */
    batch_ms: z.number().min(0).optional(),
    batch_questions: z.number().int().min(1).optional(),
    /** What produced the record: the question encoder (absent without retrieval) and the generator (absent in retrieve-only). */
    question_encoder: modelIdSchema.optional(),
    generator: modelIdSchema.optional(),
    /** The question file (path as given, sha256). */
    questions: questionSourceSchema.optional(),
    /**
     * The generator's model card `knowledge` when it limits what its answers mean ('synthetic-world-only': answers
     * to questions about anything but the synthetic worlds are not real answers).
     */
    knowledge: z.string().optional(),
    gold: z.array(z.string()).optional(),
    /** Every year's golds for world questions, so one run can be scored matched and crossed. */
    gold_by_year: z.record(z.string(), z.array(z.string())).optional(),
    /** Question type from the source file (world: changing | invariant | multi-fact). */
    type: z.string().optional(),
    /**
     * 1-based rank of the first retrieved passage whose text contains a gold answer (DPR's has_answer), null when
     * none of the k does; absent without gold or retrieval. hits@K is the share of questions with gold_rank <= K.
     */
    gold_rank: z.number().int().min(1).nullable().optional(),
    em: z.union([z.literal(0), z.literal(1)]).optional(),
    f1: z.number().min(0).max(1).optional(),
    /**
     * The paper's other tasks (task-metrics.ts): 'msmarco', 'jeopardy' or 'fever'; absent for open QA (scored by
     * em/f1 against `gold`). Added within v1: readers that do not know these fields ignore them.
     */
    task: z.string().optional(),
    /** The task's references: MS MARCO's answers, the Jeopardy clue, the FEVER label. */
    references: z.array(z.string()).optional(),
    /** This record's own task scores, sentence-level (msmarco: bleu1, rougeL; jeopardy: qBleu1, bleu1; fever: correct). */
    task_scores: z.record(z.string(), z.number().min(0).max(1)).optional(),
    error: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.doc_posteriors.length !== r.tokens.length) {
      ctx.addIssue({ code: 'custom', path: ['doc_posteriors'], message: `has ${r.doc_posteriors.length} rows for ${r.tokens.length} tokens` });
    }
    r.doc_posteriors.forEach((row, i) => {
      if (row.length !== r.docs.length) {
        ctx.addIssue({ code: 'custom', path: ['doc_posteriors', i], message: `has ${row.length} columns for ${r.docs.length} docs` });
      }
    });
  });
export type QaRecord = z.infer<typeof qaRecordSchema>;

export const taskSummarySchema = z.object({
  name: z.enum(['msmarco', 'jeopardy', 'fever']),
  scored: z.number().int().min(0),
  metrics: z.record(z.string(), z.number().min(0).max(1).nullable()),
  counts: z.record(z.string(), z.number().int().min(0)).optional(),
});

export const latencySummarySchema = z.object({ mean: z.number(), p50: z.number(), p95: z.number() });
export type LatencySummary = z.infer<typeof latencySummarySchema>;

export const qaSummarySchema = z.object({
  v: z.literal(QA_RECORD_VERSION),
  n: z.number().int().min(0),
  answered: z.number().int().min(0),
  failed: z.number().int().min(0),
  /** Records that had a gold to score against; em and f1 are means over these (failures count as 0). */
  scored: z.number().int().min(0),
  /** Fractions in [0, 1]; null when nothing was scored. */
  em: z.number().min(0).max(1).nullable(),
  f1: z.number().min(0).max(1).nullable(),
  /** How many records each snapshot answered (a run that follows an alias flip shows two). */
  snapshots: z.record(z.string(), z.number().int().min(0)),
  latency_ms: latencySummarySchema.nullable(),
  /** What produced the run and from what (written by `qa run`; absent in summaries computed from records alone). */
  question_encoder: modelIdSchema.optional(),
  generator: modelIdSchema.optional(),
  questions: questionSourceSchema.optional(),
  knowledge: z.string().optional(),
  /** The caveat the run printed (e.g. a world-only generator asked real questions), kept with the results. */
  notice: z.string().optional(),
  /** Retrieval accuracy as DPR reports it: hits[K] = share of questions with a gold answer in the top K passages. */
  retrieval: z.object({
    k: z.number().int().min(1),
    scored: z.number().int().min(0),
    hits: z.record(z.string(), z.number().min(0).max(1)),
    /**
     * hits@K's ceiling (retrieve-only runs on snapshots small enough to scan): of the `scored` questions, how
     * many have a gold answer in ANY of the snapshot's `passages`. On a sample corpus most answers occur nowhere.
     */
    ceiling: z.object({ snapshot: z.string(), answerable: z.number().int().min(0), passages: z.number().int().min(0) }).optional(),
  }).optional(),
  /** The paper's other tasks (summarizeTask): each task's metrics as fractions, e.g. { bleu1, rougeL } for msmarco. */
  task: taskSummarySchema.optional(),
});
export type QaSummary = z.infer<typeof qaSummarySchema>;

/** One validated JSONL line (no trailing newline); throws a ZodError on a record that breaks the schema. */
export function qaRecordLine(record: QaRecord): string {
  return JSON.stringify(qaRecordSchema.parse(record));
}

export interface QaRecordFile {
  records: QaRecord[];
  invalid: { line: number; reason: string }[];
}

/** Reads a `qa run` output file back; bad lines are listed, not fatal. */
export async function readQaRecords(path: string): Promise<QaRecordFile> {
  const out: QaRecordFile = { records: [], invalid: [] };
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new QuestionFileError(`cannot read QA records ${path}: ${(err as Error).message}`, {
      cause: err, hint: 'pass the JSONL file that `rag qa run` wrote',
    });
  }
  let lineNo = 0;
  const text = Readable.from(readTextChunks(path, { expected: 'the JSONL file that `rag qa run` wrote' }));
  for await (const raw of createInterface({ input: text, crlfDelay: Infinity })) {
    lineNo++;
    const text = raw.trim();
    if (!text) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      out.invalid.push({ line: lineNo, reason: `bad JSON: ${(err as Error).message}` });
      continue;
    }
    const parsed = qaRecordSchema.safeParse(json);
    if (parsed.success) out.records.push(parsed.data);
    else out.invalid.push({ line: lineNo, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ') });
  }
  return out;
}
