/**
 * Conformance, RAG-Token: losses and per-token quantities for given labels, beam search and greedy
 * generation — against RagTokenForGeneration's outputs in fixtures.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadGenerator, resolveDecodeOptions, type EncoderStates, type Generator } from '@rag/generator';
import { dprQuestionRoundTrip, ragGenerate, ragGenerateFromBatch, ragTokenLabelScores, ragTokenSearch, type RagAnswer, type RagTokenLabelScores } from '@rag/rag';
import {
  assertAllClose,
  assertClose,
  fixtureBatch,
  fixtureItems,
  GENERATOR_DIR,
  loadFixtures,
  padTo,
  QUESTION_ENCODER_DIR,
  skipNoFixtures,
  TOL,
  type Fixtures,
} from './fixture.js';

const fx: Fixtures | undefined = skipNoFixtures ? undefined : loadFixtures();
const B = fx?.questions.length ?? 0;

describe('RAG-Token matches HF RagTokenForGeneration', { skip: skipNoFixtures }, () => {
  let gen: Generator;
  let enc: EncoderStates;
  let labelScores: RagTokenLabelScores[];
  let smoothed: RagTokenLabelScores[];
  let beam: RagAnswer[];
  let greedy: RagAnswer[];

  before(async () => {
    gen = await loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 });
    const batch = fixtureBatch(fx!);
    enc = await gen.encode(batch.contextInputIds, batch.contextAttentionMask);
    labelScores = await ragTokenLabelScores(gen, enc, batch, fx!.batch.labels);
    smoothed = await ragTokenLabelScores(gen, enc, batch, fx!.batch.labels, 0.1);
    const g = fx!.generation_kwargs;
    const common = { maxLength: g.max_length, minLength: g.min_length, noRepeatNgramSize: g.no_repeat_ngram_size, lengthPenalty: g.length_penalty };
    beam = await ragGenerateFromBatch(gen, batch, { mode: 'rag-token', beams: fx!.rag_token.beam.num_beams, numReturnSequences: fx!.rag_token.beam.num_return_sequences, ...common });
    greedy = await ragGenerateFromBatch(gen, batch, { mode: 'rag-token', beams: 1, ...common });
  });
  after(async () => {
    await gen?.release();
  });

  describe('loss given labels', () => {
    for (let b = 0; b < B; b++) {
      it(`question ${b}: loss, per-step marginals, per-doc log-probs, posteriors`, () => {
        const f = fx!.rag_token.forward;
        const s = labelScores[b]!;
        assertClose(s.loss, f.loss_per_example[b]!, 'loss');
        assertAllClose(s.stepMarginalLogprobs, f.step_marginal_logprobs[b]!, 'step marginal');
        s.stepDocLogprobs.forEach((row, z) => assertAllClose(row, f.step_doc_logprobs[b]![z]!, `doc ${z} log-probs`));
        s.docPosteriors.forEach((row, t) => assertAllClose(row, f.label_doc_posteriors[b]![t]!, `posterior t=${t}`));
        assertClose(s.stepMarginalLogprobs.reduce((a, c) => a + c, 0), -s.loss, 'Σ marginals = -loss', 1e-9);
      });
      it(`question ${b}: label-smoothed loss (ε = 0.1)`, () => {
        assertClose(smoothed[b]!.loss, fx!.rag_token.forward['loss_label_smoothing_0.1'][b]!, 'smoothed loss');
      });
    }
    it('summed and mean losses', () => {
      const losses = labelScores.map((s) => s.loss);
      assertClose(losses.reduce((a, c) => a + c, 0), fx!.rag_token.forward.loss_sum, 'loss_sum');
      assertClose(losses.reduce((a, c) => a + c, 0) / losses.length, fx!.rag_token.forward.loss_mean, 'loss_mean');
    });
  });

  describe('beam search (num_beams 3, num_return_sequences 2)', () => {
    const rows = (fx?.rag_token.beam.sequences.length ?? 0);
    for (let i = 0; i < rows; i++) {
      it(`row ${i}: identical token ids, sequence score, doc posteriors`, () => {
        const ref = fx!.rag_token.beam;
        const a = beam[i]!;
        const width = ref.sequences[i]!.length;
        assert.deepEqual(padTo(a.sequence, width, gen.config.padTokenId), ref.sequences[i], 'token ids');
        assert.equal(a.answer, ref.text[i]!.trim());
        assertClose(a.beamScore!, ref.sequences_scores[i]!, 'sequences_scores');
        const n = a.tokenIds.length;
        // HF's beam score: Σ per-step processed log-probs (forced <s> = 0) / generated length.
        assertClose(a.score, ref.step_marginal_logprobs[i]!.slice(0, n).reduce((x, y) => x + y, 0), 'Σ step marginals');
        a.docPosteriors.forEach((row, t) => assertAllClose(row, ref.doc_posteriors[i]![t]!, `posterior t=${t}`));
        for (let t = n; t < width; t++) assert.ok(ref.doc_posteriors[i]![t]!.every((p) => p === 0), 'no posteriors past the end');
      });
    }
    it('per-step marginal log-probs of every returned beam (forced step 0)', async () => {
      const ref = fx!.rag_token.beam;
      const o = resolveDecodeOptions(gen.config, { numBeams: ref.num_beams, numReturnSequences: ref.num_return_sequences, maxLength: fx!.generation_kwargs.max_length });
      const res = await ragTokenSearch(gen, enc, fixtureBatch(fx!), o);
      res.hypotheses.flat().forEach((h, i) => {
        const width = ref.step_marginal_logprobs[i]!.length;
        assertAllClose(padTo(h.transitionScores, width, 0), ref.step_marginal_logprobs[i]!, `row ${i} step marginals`);
      });
    });
  });

  describe('greedy (num_beams 1)', () => {
    for (let b = 0; b < B; b++) {
      it(`question ${b}: identical token ids and text`, () => {
        const ref = fx!.rag_token.greedy;
        assert.deepEqual(padTo(greedy[b]!.sequence, ref.sequences[b]!.length, gen.config.padTokenId), ref.sequences[b]);
        assert.equal(greedy[b]!.answer, ref.text[b]!.trim());
        assert.ok(greedy[b]!.docPosteriors.every((row) => Math.abs(row.reduce((x, y) => x + y, 0) - 1) < 1e-9));
        assertClose(greedy[b]!.score, ref.step_marginal_logprobs[b]!.reduce((x, y) => x + y, 0), 'Σ step marginals');
      });
    }
    it('per-step marginal log-probs of every greedy answer (forced step 0, 0 after EOS)', async () => {
      const ref = fx!.rag_token.greedy;
      const o = resolveDecodeOptions(gen.config, { numBeams: 1, maxLength: fx!.generation_kwargs.max_length });
      const res = await ragTokenSearch(gen, enc, fixtureBatch(fx!), o);
      res.hypotheses.forEach(([h], b) => assertAllClose(padTo(h!.transitionScores, ref.step_marginal_logprobs[b]!.length, 0), ref.step_marginal_logprobs[b]!, `question ${b}`));
    });
  });

  it('end to end from raw questions + retrieved docs (ragGenerate) gives the same beams', async () => {
    const ref = fx!.rag_token.beam;
    const answers = await ragGenerate(gen, fixtureItems(fx!), {
      mode: 'rag-token',
      beams: ref.num_beams,
      numReturnSequences: ref.num_return_sequences,
      maxLength: fx!.generation_kwargs.max_length,
      titleSep: fx!.rag_config.title_sep,
      docSep: fx!.rag_config.doc_sep,
      maxCombinedLength: fx!.rag_config.max_combined_length,
      questionForGenerator: dprQuestionRoundTrip(QUESTION_ENCODER_DIR),
    });
    assert.equal(answers.length, ref.sequences.length);
    answers.forEach((a, i) => {
      assert.deepEqual(padTo(a.sequence, ref.sequences[i]!.length, gen.config.padTokenId), ref.sequences[i], `row ${i}`);
      assert.equal(a.questionIndex, Math.floor(i / ref.num_return_sequences));
      assert.equal(a.rank, i % ref.num_return_sequences);
      assertAllClose(a.docPrior, fx!.batch.doc_scores[a.questionIndex]!.map((s, _, all) => Math.exp(s) / all.reduce((x, y) => x + Math.exp(y), 0)), 'prior', TOL);
    });
  });
});
