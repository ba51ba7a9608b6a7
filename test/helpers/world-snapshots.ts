import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './run-rag.js';
import { copyFixture } from './shared-fixtures.js';

/** The trained demo models (npm run models); the tiny HF-fixture BART stands in where answer quality does not matter. */
export const WORLD_GENERATOR = join(REPO, 'models', 'world-generator');
export const TINY_GENERATOR = join(REPO, 'test', 'fixtures', 'hf-rag', 'generator');
export const hasWorldModels = existsSync(join(WORLD_GENERATOR, 'config.json')) && existsSync(join(REPO, 'models', 'world-question-encoder', 'model.onnx'));

export interface WorldQuestionRow {
  question: string;
  answers: Record<string, string[]>;
  type: string;
}

/**
 * The shared held-out world (seed 163) and its snapshots world-2016 and world-2018, copied into `dir`:
 * its storage as `dir/storage`, its dumps and questions under `dir/world`.
 */
export async function worldFixture(dir: string): Promise<{ questions: string; rows: WorldQuestionRow[]; storage: string }> {
  const { RAG_STORAGE } = await copyFixture('world-163', dir);
  const questions = join(dir, 'world', 'questions.jsonl');
  return { questions, rows: jsonl(readFileSync(questions, 'utf8')), storage: RAG_STORAGE };
}

/** The questions whose gold answer differs between the years (what `--changed-only` keeps). */
export function changedRows(rows: WorldQuestionRow[], type?: string): WorldQuestionRow[] {
  return rows.filter((q) => (!type || q.type === type) && q.answers['2016']![0] !== q.answers['2018']![0]);
}

export function jsonl(text: string): any[] {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
