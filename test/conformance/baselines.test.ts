/**
 * Conformance, the degenerate and baseline cases: K=1 (RAG-Token, RAG-Sequence and the generator alone
 * must all decode the same), and the generator alone on the raw question (greedy and beam search) —
 * against fixtures.json `k1` and `generator_only`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generate, loadGenerator, type Generator } from '@rag/generator';
import { ragGenerate, ragGenerateFromBatch, type RagBatch } from '@rag/rag';
import { assertAllClose, assertClose, GENERATOR_DIR, loadFixtures, padTo, skipNoFixtures, type Fixtures } from './fixture.js';

const fx: Fixtures | undefined = skipNoFixtures ? undefined : loadFixtures();
const B = fx?.questions.length ?? 0;

describe('K=1 and generator-only baselines match HF', { skip: skipNoFixtures }, () => {
  let gen: Generator;
  before(async () => {
    gen = await loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 });
  });
  after(async () => {
    await gen?.release();
  });

  describe('K = 1 (top document only, greedy)', () => {
    let k1Batch: RagBatch;
    before(() => {
      const rows = fx!.k1.context_rows;
      k1Batch = {
        nDocs: 1,
        contextInputIds: rows.map((r) => fx!.batch.context_input_ids[r]!),
        contextAttentionMask: rows.map((r) => fx!.batch.context_attention_mask[r]!),
        docScores: fx!.batch.doc_scores.map((s) => s.slice(0, 1)),
        contextStrings: [],
      };
    });
    for (let b = 0; b < B; b++) {
      it(`question ${b}: RAG-Token, RAG-Sequence and the generator alone give HF's sequence`, async () => {
        const k = fx!.k1;
        const maxLength = fx!.generation_kwargs.max_length;
        const token = await ragGenerateFromBatch(gen, k1Batch, { mode: 'rag-token', beams: 1, maxLength });
        const seq = await ragGenerateFromBatch(gen, k1Batch, { mode: 'rag-sequence', beams: 1, maxLength });
        const plain = await generate(gen, { inputIds: k1Batch.contextInputIds, attentionMask: k1Batch.contextAttentionMask }, { numBeams: 1, maxLength });
        const pad = gen.config.padTokenId;
        assert.deepEqual(padTo(token[b]!.sequence, k.rag_token_sequences[b]!.length, pad), k.rag_token_sequences[b], 'rag-token');
        assert.deepEqual(padTo(seq[b]!.sequence, k.rag_sequence_sequences[b]!.length, pad), k.rag_sequence_sequences[b], 'rag-sequence');
        assert.deepEqual(padTo(plain.results[b]![0]!.tokenIds, k.generator_sequences[b]!.length, pad), k.generator_sequences[b], 'generator');
        assert.deepEqual(token[b]!.sequence, k.sequences[b], 'trimmed');
        assert.ok(token[b]!.docPosteriors.every((row) => row[0] === 1), 'one document takes all the posterior mass');
      });
    }
  });

  describe('generator alone on the raw question (no retrieval)', () => {
    it('input ids are generator_tokenizer(question)', () => {
      fx!.generator_only.input_strings.forEach((q, b) => assert.deepEqual(gen.tokenizer.encode(q), fx!.generator_only.input_ids[b]));
    });
    for (let b = 0; b < B; b++) {
      it(`question ${b}: greedy ids and per-step log-probs`, async () => {
        const ref = fx!.generator_only.greedy;
        const answers = await ragGenerate(gen, fx!.generator_only.input_strings.map((question) => ({ question, docs: [] })), { mode: 'no-retrieval', beams: 1, maxLength: fx!.generation_kwargs.max_length });
        const a = answers[b]!;
        assert.deepEqual(padTo(a.sequence, ref.sequences[b]!.length, gen.config.padTokenId), ref.sequences[b]);
        assert.equal(a.answer, ref.text[b]!.trim());
        assertClose(a.score, ref.step_logprobs[b]!.reduce((x, y) => x + y, 0), 'Σ step log-probs');
        const plain = await generate(gen, fx!.generator_only.input_strings, { numBeams: 1, maxLength: fx!.generation_kwargs.max_length });
        assertAllClose(padTo(plain.results[b]![0]!.transitionScores, ref.step_logprobs[b]!.length, 0), ref.step_logprobs[b]!, 'step log-probs');
      });
    }
    const rows = fx?.generator_only.beam.sequences.length ?? 0;
    for (let i = 0; i < rows; i++) {
      it(`beam row ${i}: ids, sequences_scores, per-step log-probs`, async () => {
        const ref = fx!.generator_only.beam;
        const res = await generate(gen, fx!.generator_only.input_strings, { numBeams: ref.num_beams, numReturnSequences: ref.num_return_sequences, maxLength: fx!.generation_kwargs.max_length });
        assert.deepEqual(res.sequences[i], ref.sequences[i], 'ids (HF-padded rows)');
        const h = res.results.flat()[i]!;
        assert.equal(h.text.trim(), ref.text[i]!.trim());
        assertClose(h.score, ref.sequences_scores[i]!, 'sequences_scores');
        assertAllClose(padTo(h.transitionScores, ref.step_logprobs[i]!.length, 0), ref.step_logprobs[i]!, 'step log-probs');
      });
    }
  });
});
