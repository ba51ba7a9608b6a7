import { relative } from 'node:path';
import { isWorldOnlyGenerator } from '@rag/generator';
import type { QaMode } from './qa-job.schema.js';

/** The one line that points at real answers; also in `qa run --help`. */
export const REAL_ANSWERS_HINT =
  'score retrieval alone with --mode retrieve-only (is a gold answer in the top-K passages, as DPR reports), ' +
  'or set RAG_GENERATOR to a BART/T5 export (one command from a Hugging Face checkpoint: docs/models.md)';

export interface NoticeInput {
  generatorDir: string;
  /** The question set's format as read ('nq-jsonl', 'world-jsonl', 'world-jsonl+type:changing', ...). */
  questionFormat: string;
  mode: QaMode;
  /** Shown paths are relative to this (the current directory). */
  cwd?: string;
}

/**
 * The notice a run gets when a generator that knows only the synthetic world (its model card says so) is asked
 * questions from anywhere else: its answers there are made-up world names, and nothing else would say so. Decided
 * from the card, not the path, so a user's own RAG_GENERATOR never gets it and a copied world generator does.
 */
export function worldGeneratorNotice(o: NoticeInput): string | undefined {
  if (o.mode === 'retrieve-only') return undefined;
  if (o.questionFormat.startsWith('world-jsonl')) return undefined;
  if (!isWorldOnlyGenerator(o.generatorDir)) return undefined;
  const dir = relative(o.cwd ?? process.cwd(), o.generatorDir) || '.';
  return `note: the generator (${dir}) was trained only on the synthetic world, so its answers to these ` +
    `${o.questionFormat} questions are not real answers; ${REAL_ANSWERS_HINT}`;
}
