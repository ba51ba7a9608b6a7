import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { REPO, runRag } from './run-rag.js';

/** The trained demo models (npm run models); the tiny HF-fixture BART stands in where answer quality does not matter. */
export const WORLD_GENERATOR = join(REPO, 'models', 'world-generator');
export const TINY_GENERATOR = join(REPO, 'test', 'fixtures', 'hf-rag', 'generator');
export const hasWorldModels = existsSync(join(WORLD_GENERATOR, 'config.json')) && existsSync(join(REPO, 'models', 'world-question-encoder', 'model.onnx'));

/** A small synthetic world and its 2016 and 2018 snapshots, built through the real CLI. */
export async function buildWorld(dir: string, env: Record<string, string>, o: { seed: number; countries: number; questions: number }): Promise<{ questions: string; rows: any[] }> {
  const out = join(dir, 'world');
  const g = await runRag(['world', 'generate', '--seed', String(o.seed), '--out', out, '--countries', String(o.countries), '--questions', String(o.questions)], env);
  assert.equal(g.code, 0, g.stderr);
  for (const year of ['2016', '2018']) {
    const r = await runRag(['snapshot', 'build', '--source', join(out, year, 'world.xml.bz2'), '--snapshot', `world-${year}`, '--workers', '1', '--shard-size', '100', '--no-progress'], env);
    assert.equal(r.code, 0, r.stderr);
  }
  const questions = join(out, 'questions.jsonl');
  return { questions, rows: readFileSync(questions, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) };
}

export function jsonl(text: string): any[] {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
