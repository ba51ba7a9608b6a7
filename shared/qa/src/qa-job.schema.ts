import { z } from 'zod';

/**
 * The question-answering stage boundary: a run is split into chunks of questions stored as
 * objects; a job names its chunk by key, never carries the questions themselves.
 */
export const QA_PAYLOAD_VERSION = 1;

export const RAG_MODES = ['rag-token', 'rag-sequence', 'rag-sequence-fast', 'no-retrieval'] as const;
/** Every mode a run may have: the RAG modes, and retrieve-only (passages with provenance, no generation). */
export const QA_MODES = [...RAG_MODES, 'retrieve-only'] as const;
export type QaMode = (typeof QA_MODES)[number];

export const qaSettingsSchema = z.object({
  /** A snapshot id or an alias; workers resolve aliases themselves and follow flips between chunks. */
  target: z.string().min(1),
  mode: z.enum(QA_MODES),
  k: z.number().int().min(1).max(100),
  beams: z.number().int().min(1).max(32),
  maxLength: z.number().int().min(2).max(512).optional(),
  /** Which gold to score against in the world's questions.jsonl. */
  year: z.string().optional(),
});
export type QaSettings = z.infer<typeof qaSettingsSchema>;

export const qaChunkJobSchema = z.object({
  v: z.literal(QA_PAYLOAD_VERSION),
  runId: z.string(),
  chunk: z.number().int().min(0),
  settings: qaSettingsSchema,
  /**
   * modelFingerprint() of the generator (and question encoder) the run was queued for: a worker
   * whose own models hash differently refuses the job instead of mixing models into one run.
   */
  models: z.string().min(1),
  /**
   * Set by a worker with other models that put the chunk back for a matching one: since when no live
   * worker had the run's models (epoch ms; absent while one had), and how often it was put back.
   */
  mismatch: z.object({ since: z.number().optional(), times: z.number().int().min(1) }).optional(),
});
export type QaChunkJob = z.infer<typeof qaChunkJobSchema>;

/** One question as stored in a chunk object (JSONL). */
export const qaQuestionSchema = z.object({
  id: z.string(),
  index: z.number().int().min(0),
  question: z.string().min(1),
  answers: z.array(z.string()).optional(),
  /** World questions: every year's golds, so one run can be scored matched and crossed. */
  answersByYear: z.record(z.string(), z.array(z.string())).optional(),
  type: z.string().optional(),
  /** The paper's other tasks (msmarco, jeopardy, fever) and their references; absent for open QA. */
  task: z.string().optional(),
  references: z.array(z.string()).optional(),
});
export type QaQuestion = z.infer<typeof qaQuestionSchema>;

/** runs/<runId>/run.json: what the run was asked to do, written once before any job. */
export const qaRunManifestSchema = z.object({
  v: z.literal(QA_PAYLOAD_VERSION),
  runId: z.string(),
  settings: qaSettingsSchema,
  questions: z.number().int().min(0),
  chunks: z.number().int().min(0),
  chunkSize: z.number().int().min(1),
  source: z.object({ path: z.string(), sha256: z.string(), format: z.string() }),
  /** The model fingerprint (also part of runId); absent in runs prepared before it was recorded. */
  models: z.string().optional(),
  createdAt: z.string(),
});
export type QaRunManifest = z.infer<typeof qaRunManifestSchema>;
