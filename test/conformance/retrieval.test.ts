/**
 * Conformance, retrieval side: our DPR encoders (@rag/encoder over the fixture's ONNX exports), doc
 * scores, top-K, the question text HF feeds the generator, and the generator inputs built like
 * RagRetriever.postprocess_docs — each against Hugging Face's values in fixtures.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { loadGenerator, type Generator } from '@rag/generator';
import { buildRagBatch, contextString, docLogPrior, dprQuestionRoundTrip, innerProducts, topKIndices } from '@rag/rag';
import { assertAllClose, CTX_ENCODER_DIR, GENERATOR_DIR, loadFixtures, QUESTION_ENCODER_DIR, skipNoFixtures, type Fixtures } from './fixture.js';

describe('retrieval matches HF (DPR vectors, q·p, top-K, generator inputs)', { skip: skipNoFixtures }, () => {
  let fx: Fixtures;
  let qEnc: Encoder;
  let cEnc: Encoder;
  let gen: Generator;
  let qVecs: Float32Array;
  let pVecs: Float32Array;
  let dim: number;

  before(async () => {
    fx = loadFixtures();
    [qEnc, cEnc, gen] = await Promise.all([
      loadEncoder({ dir: QUESTION_ENCODER_DIR, intraOpThreads: 1 }),
      loadEncoder({ dir: CTX_ENCODER_DIR, intraOpThreads: 1 }),
      loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 }),
    ]);
    qVecs = await qEnc.encodeQueries(fx.questions.map((q) => q.question));
    pVecs = await cEnc.encodePassages(fx.passages);
    dim = qEnc.dim;
  });
  after(async () => {
    await Promise.all([qEnc?.release(), cEnc?.release(), gen?.release()]);
  });

  it('loadEncoder reads the DPR exports as HF uses them: CLS pooling, no normalisation, (title, text) pairs', () => {
    assert.equal(qEnc.pooling, 'cls');
    assert.equal(qEnc.normalize, false);
    assert.equal(cEnc.settings.passageFormat, 'pair');
    assert.equal(dim, fx.questions[0]!.vector.length);
  });

  it('question vectors equal DPRQuestionEncoder pooler_output', () => {
    fx.questions.forEach((q, i) => assertAllClose([...qVecs.subarray(i * dim, (i + 1) * dim)], q.vector, `question ${q.id} vector`));
  });

  it('passage vectors equal DPRContextEncoder(title, text) pooler_output', () => {
    fx.passages.forEach((p, i) => assertAllClose([...pVecs.subarray(i * dim, (i + 1) * dim)], p.vector, `passage ${p.id} vector`));
  });

  it('q·p over all passages equals HF scores_all_passages', () => {
    fx.questions.forEach((q, i) => assertAllClose(innerProducts(qVecs.subarray(i * dim, (i + 1) * dim), pVecs, dim), q.scores_all_passages, `${q.id} scores`));
  });

  it('top-K from our vectors retrieves the same passages in the same order, with HF doc_scores', () => {
    fx.questions.forEach((q, i) => {
      const scores = innerProducts(qVecs.subarray(i * dim, (i + 1) * dim), pVecs, dim);
      const top = topKIndices(scores, fx.n_docs);
      assert.deepEqual(top, q.retrieved_indices, `${q.id} retrieved`);
      assertAllClose(top.map((j) => scores[j]!), q.doc_scores, `${q.id} doc_scores`);
      assertAllClose(docLogPrior(top.map((j) => scores[j]!)), docLogPrior(fx.batch.doc_scores[i]!), `${q.id} log p(z|x)`);
    });
  });

  it('the question the generator sees is the DPR tokenizer round trip (decoded_for_generator)', () => {
    const rt = dprQuestionRoundTrip(QUESTION_ENCODER_DIR);
    for (const q of fx.questions) assert.equal(rt(q.question), q.decoded_for_generator, q.id);
  });

  it('context strings follow RagRetriever.postprocess_docs (quotes stripped, double spaces collapsed)', () => {
    const { title_sep: titleSep, doc_sep: docSep } = fx.rag_config;
    for (const q of fx.questions) {
      const got = q.retrieved_indices.map((j) => contextString(fx.passages[j]!.title, fx.passages[j]!.text, q.decoded_for_generator, { titleSep, docSep }));
      assert.deepEqual(got, q.context_strings, q.id);
    }
  });

  it('context_input_ids / attention mask equal HF batch_encode_plus(max_length, padding="max_length")', () => {
    const rt = dprQuestionRoundTrip(QUESTION_ENCODER_DIR);
    const items = fx.questions.map((q) => ({
      question: q.question,
      docs: q.retrieved_indices.map((j, k) => ({ ...fx.passages[j]!, score: q.doc_scores[k]! })),
    }));
    const batch = buildRagBatch(gen.tokenizer, items, {
      titleSep: fx.rag_config.title_sep,
      docSep: fx.rag_config.doc_sep,
      prefix: fx.rag_config.prefix ?? '',
      maxCombinedLength: fx.rag_config.max_combined_length,
      questionForGenerator: rt,
    });
    assert.deepEqual(batch.contextStrings, fx.questions.flatMap((q) => q.context_strings));
    assert.deepEqual(batch.contextInputIds, fx.batch.context_input_ids);
    fx.questions.forEach((q) => q.context_strings.forEach((c, j) => assert.deepEqual(gen.tokenizer.encode(c, fx.rag_config.max_combined_length), q.context_input_ids[j], `${q.id} doc ${j}`)));
    assert.deepEqual(batch.contextAttentionMask, fx.batch.context_attention_mask);
  });

  it('labels are [decoder_start] + generator_tokenizer(answer)', () => {
    for (const q of fx.questions) assert.deepEqual([gen.config.decoderStartTokenId, ...gen.tokenizer.encode(q.answer)], q.labels, q.id);
  });
});
