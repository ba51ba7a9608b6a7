/**
 * Conformance, batched generation: a batch of questions whose generator inputs have very different
 * lengths (22 to 64 tokens, padded to max_combined_length as HF's RagRetriever pads them), decoded in one
 * batch and one question at a time, against RagTokenForGeneration / RagSequenceForGeneration.generate
 * on the same batch (test/fixtures/hf-rag-batch, `python -m modelkit rag-batch-fixtures`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGenerator, type Generator } from '@rag/generator';
import { ragGenerate, ragGenerateFromBatch, type RagAnswer, type RagBatch, type RagItem, type RagMode } from '@rag/rag';
import { assertClose, GENERATOR_DIR, REPO } from './fixture.js';

const FILE = join(REPO, 'test', 'fixtures', 'hf-rag-batch', 'fixtures.json');
interface BatchFixtures {
  n_docs: number;
  max_combined_length: number;
  max_length: number;
  context_lengths: number[];
  items: RagItem[];
  batch: { context_input_ids: number[][]; context_attention_mask: number[][]; doc_scores: number[][] };
  rag_token: { num_beams: number; beam_sequences: number[][]; beam_sequences_scores: number[]; beam_sequences_alone: number[][]; greedy_sequences: number[][] };
  rag_sequence: { num_beams: number; thorough_sequences: number[][]; thorough_sequences_alone: number[][] };
}
const skip = existsSync(FILE) && existsSync(join(GENERATOR_DIR, 'config.json')) ? false : 'fixtures absent; build them with `python -m modelkit rag-batch-fixtures`';
const fx: BatchFixtures | undefined = skip ? undefined : (JSON.parse(readFileSync(FILE, 'utf8')) as BatchFixtures);

describe('batched generation matches HF batched generate, and each question alone', { skip }, () => {
  let gen: Generator;
  let batch: RagBatch;
  const opts = (mode: RagMode, beams: number) => ({ mode, beams, maxLength: fx!.max_length, maxCombinedLength: fx!.max_combined_length });
  const alone = async (mode: RagMode, beams: number): Promise<RagAnswer[]> => {
    const out: RagAnswer[] = [];
    for (const it of fx!.items) out.push(...(await ragGenerate(gen, [it], opts(mode, beams))));
    return out;
  };

  before(async () => {
    gen = await loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 });
    batch = {
      nDocs: fx!.n_docs,
      contextInputIds: fx!.batch.context_input_ids,
      contextAttentionMask: fx!.batch.context_attention_mask,
      docScores: fx!.batch.doc_scores,
      contextStrings: [],
    };
  });
  after(async () => {
    await gen?.release();
  });

  it('the fixture batch mixes input lengths', () => {
    const lens = fx!.context_lengths;
    assert.ok(Math.min(...lens) < fx!.max_combined_length / 2 && Math.max(...lens) === fx!.max_combined_length, `lengths ${lens.join(',')}`);
  });

  it('RAG-Token beam search: HF tensors in one batch give HF batched rows and sequences_scores', async () => {
    const r = fx!.rag_token;
    const got = await ragGenerateFromBatch(gen, batch, opts('rag-token', r.num_beams));
    assert.deepEqual(got.map((a) => a.sequence), r.beam_sequences);
    got.forEach((a, i) => assertClose(a.beamScore!, r.beam_sequences_scores[i]!, `question ${i} sequences_scores`));
    assert.deepEqual(r.beam_sequences_alone, r.beam_sequences, 'HF: batched = alone');
  });

  it('RAG-Token beam search from raw questions and passages: batched and one at a time both give HF rows', async () => {
    const r = fx!.rag_token;
    const batched = await ragGenerate(gen, fx!.items, opts('rag-token', r.num_beams));
    assert.deepEqual(batched.map((a) => a.sequence), r.beam_sequences);
    const single = await alone('rag-token', r.num_beams);
    assert.deepEqual(single.map((a) => a.sequence), r.beam_sequences);
    single.forEach((a, i) => {
      assertClose(a.score, batched[i]!.score, `question ${i} score`, 1e-5);
      a.docPosteriors.forEach((row, t) => row.forEach((p, z) => assertClose(p, batched[i]!.docPosteriors[t]![z]!, `question ${i} posterior`, 1e-5)));
    });
  });

  it('RAG-Token greedy: batched gives HF batched rows', async () => {
    const got = await ragGenerate(gen, fx!.items, opts('rag-token', 1));
    assert.deepEqual(got.map((a) => a.sequence), fx!.rag_token.greedy_sequences);
  });

  it('RAG-Sequence thorough: batched and one at a time give HF rows', async () => {
    const r = fx!.rag_sequence;
    const batched = await ragGenerateFromBatch(gen, batch, opts('rag-sequence', r.num_beams));
    assert.deepEqual(batched.map((a) => a.sequence), r.thorough_sequences);
    const single = await alone('rag-sequence', r.num_beams);
    assert.deepEqual(single.map((a) => a.sequence), r.thorough_sequences_alone);
    single.forEach((a, i) => assertClose(a.score, batched[i]!.score, `question ${i} score`, 1e-5));
  });

  it('RAG-Sequence fast: batched equals one at a time', async () => {
    const beams = fx!.rag_sequence.num_beams;
    const batched = await ragGenerate(gen, fx!.items, opts('rag-sequence-fast', beams));
    const single = await alone('rag-sequence-fast', beams);
    assert.deepEqual(batched.map((a) => a.sequence), single.map((a) => a.sequence));
    single.forEach((a, i) => assertClose(a.score, batched[i]!.score, `question ${i} score`, 1e-5));
  });
});
