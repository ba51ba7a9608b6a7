/**
 * Conformance, RAG-Sequence: losses for given labels (both BOS settings, label smoothing), thorough
 * decoding with and without de-duplication (RagSequenceForGeneration.generate), and fast decoding
 * (fixture_rag_math.fast_sequence_scores) — against fixtures.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadGenerator, resolveDecodeOptions, type EncoderStates, type Generator } from '@rag/generator';
import {
  ragGenerateFromBatch,
  ragSequenceLabelScores,
  ragSequenceSearch,
  type RagAnswer,
  type RagGenerateOptions,
  type RagSequenceLabelScores,
  type SequenceQuestionResult,
} from '@rag/rag';
import { assertAllClose, assertClose, fixtureBatch, GENERATOR_DIR, loadFixtures, padTo, skipNoFixtures, type Fixtures } from './fixture.js';

const fx: Fixtures | undefined = skipNoFixtures ? undefined : loadFixtures();
const B = fx?.questions.length ?? 0;

describe('RAG-Sequence matches HF RagSequenceForGeneration', { skip: skipNoFixtures }, () => {
  let gen: Generator;
  let enc: EncoderStates;
  let withBos: RagSequenceLabelScores[];
  let exclBos: RagSequenceLabelScores[];
  let smoothed: RagSequenceLabelScores[];
  let thorough: SequenceQuestionResult[];
  let fast: SequenceQuestionResult[];
  const answers: Record<string, RagAnswer[]> = {};

  before(async () => {
    gen = await loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 });
    const batch = fixtureBatch(fx!);
    enc = await gen.encode(batch.contextInputIds, batch.contextAttentionMask);
    const labels = fx!.batch.labels;
    withBos = await ragSequenceLabelScores(gen, enc, batch, labels, { excludeBosScore: false });
    exclBos = await ragSequenceLabelScores(gen, enc, batch, labels, { excludeBosScore: true });
    smoothed = await ragSequenceLabelScores(gen, enc, batch, labels, { epsilon: 0.1 });
    const g = fx!.generation_kwargs;
    const ref = fx!.rag_sequence.generate;
    const o = resolveDecodeOptions(gen.config, { numBeams: ref.num_beams, numReturnSequences: ref.num_return_sequences, maxLength: g.max_length });
    thorough = await ragSequenceSearch(gen, enc, batch, o, { decoding: 'thorough' });
    fast = await ragSequenceSearch(gen, enc, batch, o, { decoding: 'fast' });
    const opts: Omit<RagGenerateOptions, 'mode'> = { beams: ref.num_beams, numReturnSequences: ref.num_return_sequences, maxLength: g.max_length };
    answers.thorough = await ragGenerateFromBatch(gen, batch, { mode: 'rag-sequence', ...opts });
    answers.noDedup = await ragGenerateFromBatch(gen, batch, { mode: 'rag-sequence', dedup: false, ...opts });
    answers.fast = await ragGenerateFromBatch(gen, batch, { mode: 'rag-sequence-fast', ...opts });
  });
  after(async () => {
    await gen?.release();
  });

  describe('loss given labels', () => {
    for (let b = 0; b < B; b++) {
      it(`question ${b}: loss and per-document terms, with and without the BOS score`, () => {
        const f = fx!.rag_sequence.forward;
        assertClose(withBos[b]!.loss, f.loss_per_example[b]!, 'loss');
        assertAllClose(withBos[b]!.docLoglik, f.doc_loglik[b]!, 'doc_loglik');
        assertClose(exclBos[b]!.loss, f.loss_per_example_exclude_bos[b]!, 'loss (exclude_bos_score)');
        assertAllClose(exclBos[b]!.docLoglik, f.doc_loglik_exclude_bos[b]!, 'doc_loglik (exclude_bos_score)');
        assertClose(-withBos[b]!.loss, f.sequence_scores[b]!, 'sequence score = -loss');
      });
      it(`question ${b}: label-smoothed loss (ε = 0.1)`, () => {
        assertClose(smoothed[b]!.loss, fx!.rag_sequence.forward['loss_label_smoothing_0.1'][b]!, 'smoothed loss');
      });
    }
    it('summed loss', () => {
      assertClose(withBos.reduce((a, s) => a + s.loss, 0), fx!.rag_sequence.forward.loss_sum, 'loss_sum');
    });
  });

  describe('per-document beams, candidates and their scores', () => {
    for (let b = 0; b < B; b++) {
      it(`question ${b}: each document's beams (ids and sequences_scores) are HF generator.generate's`, () => {
        const ref = fx!.rag_sequence.generate.per_question[b]!;
        assert.deepEqual(
          thorough[b]!.perDocBeams.map((hs) => hs.map((h) => h.tokens)),
          ref.per_doc_beams,
        );
        thorough[b]!.perDocBeams.forEach((hs, z) => assertAllClose(hs.map((h) => h.score), ref.per_doc_beam_scores[z]!, `doc ${z} beam scores`));
      });
      it(`question ${b}: de-duplicated candidates, generated_by, doc log-likelihoods, thorough scores and ranking`, () => {
        const ref = fx!.rag_sequence.generate.per_question[b]!;
        const got = thorough[b]!;
        assert.deepEqual(got.candidates.map((c) => c.tokens), ref.candidates, 'candidates');
        assert.deepEqual(got.candidates.map((c) => c.generatedBy), ref.generated_by, 'generated_by');
        got.candidates.forEach((c, i) => assertAllClose(c.docLoglik, ref.doc_loglik[i]!, `candidate ${i} doc_loglik`));
        assertAllClose(got.candidates.map((c) => c.score), ref.thorough_scores, 'thorough scores');
        assert.deepEqual(got.top, ref.thorough_top, 'thorough top');
      });
      it(`question ${b}: fast scores (p = 0 for documents that did not produce the hypothesis) and ranking`, () => {
        const ref = fx!.rag_sequence.generate.per_question[b]!;
        const got = fast[b]!;
        assertAllClose(got.candidates.map((c) => c.score), ref.fast_scores, 'fast scores');
        assert.deepEqual(got.top, ref.fast_top, 'fast top');
      });
    }
  });

  describe('generated sequences', () => {
    const rows = fx?.rag_sequence.generate.thorough_sequences.length ?? 0;
    for (let i = 0; i < rows; i++) {
      it(`thorough row ${i}: identical token ids (dedup), identical ids (no dedup), fast ids`, () => {
        const ref = fx!.rag_sequence.generate;
        const width = ref.thorough_sequences[i]!.length;
        const pad = gen.config.padTokenId;
        assert.deepEqual(padTo(answers.thorough![i]!.sequence, width, pad), ref.thorough_sequences[i], 'thorough');
        assert.deepEqual(padTo(answers.noDedup![i]!.sequence, ref.thorough_sequences_no_dedup[i]!.length, pad), ref.thorough_sequences_no_dedup[i], 'no dedup');
        const b = Math.floor(i / ref.num_return_sequences);
        const rank = i % ref.num_return_sequences;
        const pq = ref.per_question[b]!;
        assert.deepEqual(answers.fast![i]!.sequence, pq.fast_sequences[rank], 'fast');
        assert.equal(answers.thorough![i]!.answer, pq.thorough_text[rank]!.trim());
        assertClose(answers.thorough![i]!.score, pq.thorough_scores[pq.thorough_top[rank]!]!, 'thorough score');
        assertClose(answers.fast![i]!.score, pq.fast_scores[pq.fast_top[rank]!]!, 'fast score');
      });
    }
    it('document posteriors: rows sum to 1; fast decoding gives 0 to documents that did not produce the answer', () => {
      for (const [name, as] of Object.entries(answers)) {
        for (const a of as) {
          assert.equal(a.docPosteriors.length, a.tokenIds.length, name);
          for (const row of a.docPosteriors) assertClose(row.reduce((x, y) => x + y, 0), 1, `${name} posterior row sum`, 1e-9);
        }
      }
      for (const a of answers.fast!) {
        const c = fast[a.questionIndex]!.candidates[fast[a.questionIndex]!.top[a.rank]!]!;
        c.generatedBy.forEach((g, z) => {
          if (!g) assert.ok(a.docPosteriors.every((row) => row[z] === 0), `doc ${z} did not produce the answer`);
        });
      }
    });
  });
});
