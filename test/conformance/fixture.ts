/**
 * Shared by the conformance tests: the Hugging Face RAG reference fixtures (test/fixtures/hf-rag,
 * README.md there explains every field) and comparison helpers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RagBatch, RagItem } from '@rag/rag';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_DIR = join(REPO, 'test', 'fixtures', 'hf-rag');
export const GENERATOR_DIR = join(FIXTURE_DIR, 'generator');
export const QUESTION_ENCODER_DIR = join(FIXTURE_DIR, 'question_encoder');
export const CTX_ENCODER_DIR = join(FIXTURE_DIR, 'ctx_encoder');
/** Floats in fixtures.json are rounded to 7 decimals; ONNX Runtime vs PyTorch differ by ~1e-6. */
export const TOL = 1e-4;

export interface FixturePassage {
  id: string;
  title: string;
  text: string;
  input_ids: number[];
  token_type_ids: number[];
  vector: number[];
}

export interface FixtureQuestion {
  id: string;
  question: string;
  answer: string;
  input_ids: number[];
  decoded_for_generator: string;
  vector: number[];
  scores_all_passages: number[];
  retrieved_passage_ids: string[];
  retrieved_indices: number[];
  doc_scores: number[];
  context_strings: string[];
  /** trimmed rows of batch.context_input_ids */
  context_input_ids: number[][];
  labels: number[];
}

export interface PerQuestionSequence {
  candidates: number[][];
  candidates_padded: number[][];
  per_doc_beams: number[][][];
  per_doc_beam_scores: number[][];
  generated_by: boolean[][];
  doc_loglik: number[][];
  thorough_scores: number[];
  fast_scores: number[];
  thorough_top: number[];
  fast_top: number[];
  thorough_sequences: number[][];
  fast_sequences: number[][];
  thorough_text: string[];
  fast_text: string[];
}

export interface Fixtures {
  format: string;
  n_docs: number;
  rag_config: { title_sep: string; doc_sep: string; max_combined_length: number; prefix: string | null; label_smoothing: number };
  special_tokens: { generator: { bos: number; pad: number; eos: number; decoder_start: number } };
  passages: FixturePassage[];
  questions: FixtureQuestion[];
  batch: { context_input_ids: number[][]; context_attention_mask: number[][]; doc_scores: number[][]; labels: number[][] };
  generation_kwargs: { max_length: number; min_length: number; no_repeat_ngram_size: number; repetition_penalty: number; length_penalty: number; early_stopping: boolean };
  rag_token: {
    forward: {
      loss_per_example: number[];
      loss_sum: number;
      loss_mean: number;
      'loss_label_smoothing_0.1': number[];
      step_marginal_logprobs: number[][];
      step_doc_logprobs: number[][][];
      label_doc_posteriors: number[][][];
    };
    beam: {
      num_beams: number;
      num_return_sequences: number;
      sequences: number[][];
      sequences_scores: number[];
      text: string[];
      step_marginal_logprobs: number[][];
      doc_posteriors: number[][][];
    };
    greedy: { sequences: number[][]; text: string[]; step_marginal_logprobs: number[][]; min_top2_logprob_gap: number };
  };
  rag_sequence: {
    forward: {
      loss_per_example: number[];
      loss_per_example_exclude_bos: number[];
      loss_sum: number;
      'loss_label_smoothing_0.1': number[];
      doc_loglik: number[][];
      doc_loglik_exclude_bos: number[][];
      sequence_scores: number[];
    };
    generate: {
      num_beams: number;
      num_return_sequences: number;
      thorough_sequences: number[][];
      thorough_sequences_no_dedup: number[][];
      per_question: PerQuestionSequence[];
    };
  };
  k1: {
    n_docs: number;
    num_beams: number;
    context_rows: number[];
    rag_token_sequences: number[][];
    rag_sequence_sequences: number[][];
    generator_sequences: number[][];
    sequences: number[][];
  };
  generator_only: {
    input_strings: string[];
    input_ids: number[][];
    greedy: { sequences: number[][]; text: string[]; step_logprobs: number[][] };
    beam: { num_beams: number; num_return_sequences: number; sequences: number[][]; sequences_scores: number[]; text: string[]; step_logprobs: number[][] };
  };
}

/** Read on every call: another process may regenerate the fixtures between test files. */
export function loadFixtures(): Fixtures {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, 'fixtures.json'), 'utf8')) as Fixtures;
}

export const fixturesPresent = existsSync(join(FIXTURE_DIR, 'fixtures.json')) && existsSync(join(GENERATOR_DIR, 'config.json'));
export const skipNoFixtures = fixturesPresent ? false : `fixtures absent; build them with \`python -m modelkit rag-fixtures --out test/fixtures/hf-rag\``;

/** HF's tensors for the RAG calls, straight from the fixture. */
export function fixtureBatch(fx: Fixtures): RagBatch {
  return {
    nDocs: fx.n_docs,
    contextInputIds: fx.batch.context_input_ids,
    contextAttentionMask: fx.batch.context_attention_mask,
    docScores: fx.batch.doc_scores,
    contextStrings: fx.questions.flatMap((q) => q.context_strings),
  };
}

/** Questions with their retrieved passages and scores, as a retriever would hand them to ragGenerate. */
export function fixtureItems(fx: Fixtures): RagItem[] {
  return fx.questions.map((q) => ({
    question: q.question,
    docs: q.retrieved_indices.map((i, j) => ({ id: fx.passages[i]!.id, title: fx.passages[i]!.title, text: fx.passages[i]!.text, score: q.doc_scores[j]! })),
  }));
}

/** Right-pads to `width`, the way HF returns generated rows. */
export function padTo(ids: readonly number[], width: number, pad: number): number[] {
  return [...ids, ...new Array<number>(Math.max(0, width - ids.length)).fill(pad)];
}

export function assertClose(actual: number, expected: number, what: string, tol = TOL): void {
  assert.ok(Number.isFinite(actual) || actual === expected, `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, HF ${expected} (|diff| ${Math.abs(actual - expected)} > ${tol})`);
}

export function assertAllClose(actual: readonly number[], expected: readonly number[], what: string, tol = TOL): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs HF ${expected.length}`);
  actual.forEach((v, i) => assertClose(v, expected[i]!, `${what}[${i}]`, tol));
}

export const PYTHON = join(REPO, 'services', 'modelkit', '.venv', 'bin', 'python');

/**
 * A copy of the fixture generator with decoder_model_merged.onnx (Optimum's merged layout, built by
 * merge_decoders.py from the two fixture decoders) instead of the split pair. Needs the modelkit venv.
 */
export function mergedGeneratorDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-rag-merged-'));
  mkdirSync(join(dir, 'onnx'));
  for (const f of readdirSync(GENERATOR_DIR)) {
    const p = join(GENERATOR_DIR, f);
    if (statSync(p).isFile()) copyFileSync(p, join(dir, f));
  }
  copyFileSync(join(GENERATOR_DIR, 'onnx', 'encoder_model.onnx'), join(dir, 'onnx', 'encoder_model.onnx'));
  execFileSync(PYTHON, [join(REPO, 'test', 'conformance', 'merge_decoders.py'), join(GENERATOR_DIR, 'onnx'), join(dir, 'onnx', 'decoder_model_merged.onnx')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  return dir;
}

export const skipNoPython = existsSync(PYTHON) ? false : `no modelkit venv at ${PYTHON} (needed to merge the decoders); run infra/setup.sh`;
