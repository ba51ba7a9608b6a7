import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '@rag/core';
import { generate, loadGenerator, type Generator } from '@rag/generator';
import { buildRagBatch } from './context-inputs.js';
import { ragGenerate } from './rag-generate.js';
import type { RagItem, RagMode } from './types.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hf-rag');
interface Fx {
  passages: { id: string; title: string; text: string }[];
  questions: { question: string; retrieved_indices: number[]; doc_scores: number[] }[];
}
const fx = JSON.parse(readFileSync(join(FIXTURE, 'fixtures.json'), 'utf8')) as Fx;
const ITEMS: RagItem[] = fx.questions.map((q) => ({
  question: q.question,
  docs: q.retrieved_indices.map((i, j) => ({ ...fx.passages[i]!, score: q.doc_scores[j]! })),
}));
const FMT = { maxCombinedLength: 56, maxLength: 10 };

let gen: Generator;
before(async () => {
  gen = await loadGenerator({ dir: join(FIXTURE, 'generator'), intraOpThreads: 1 });
});
after(async () => {
  await gen.release();
});

test('every mode: numReturnSequences answers per question, question-major, posteriors that are distributions', async () => {
  for (const mode of ['rag-token', 'rag-sequence', 'rag-sequence-fast', 'no-retrieval'] as RagMode[]) {
    const answers = await ragGenerate(gen, ITEMS.slice(0, 3), { mode, beams: 2, numReturnSequences: 2, ...FMT });
    assert.equal(answers.length, 6, mode);
    answers.forEach((a, i) => {
      assert.equal(a.questionIndex, Math.floor(i / 2));
      assert.equal(a.rank, i % 2);
      assert.deepEqual(a.sequence, [gen.config.decoderStartTokenId, ...a.tokenIds]);
      assert.equal(a.tokens.length, a.tokenIds.length);
      assert.ok(Number.isFinite(a.score) && a.score <= 0, `${mode} score ${a.score}`);
      if (mode === 'no-retrieval') {
        assert.deepEqual(a.docPosteriors, []);
        assert.deepEqual(a.docPrior, []);
      } else {
        assert.equal(a.docPosteriors.length, a.tokenIds.length);
        for (const row of [...a.docPosteriors, a.docPrior]) assert.ok(Math.abs(row.reduce((x, y) => x + y, 0) - 1) < 1e-9);
      }
    });
    if (mode !== 'rag-token' && mode !== 'no-retrieval') {
      for (let q = 0; q < 3; q++) assert.ok(answers[2 * q]!.score >= answers[2 * q + 1]!.score, `${mode}: best first`);
    }
  }
});

test('with one document, RAG-Token is plain beam search on that document\'s input, scores included', async () => {
  const items = ITEMS.map((it) => ({ ...it, docs: it.docs.slice(0, 1) }));
  const rag = await ragGenerate(gen, items, { mode: 'rag-token', beams: 3, numReturnSequences: 3, ...FMT });
  const batch = buildRagBatch(gen.tokenizer, items, FMT);
  const plain = await generate(gen, { inputIds: batch.contextInputIds, attentionMask: batch.contextAttentionMask }, { numBeams: 3, numReturnSequences: 3, maxLength: 10 });
  plain.results.flat().forEach((h, i) => {
    assert.deepEqual(rag[i]!.sequence, h.tokenIds);
    assert.ok(Math.abs(rag[i]!.beamScore! - h.score) < 1e-5);
    assert.ok(rag[i]!.docPosteriors.every((row) => row[0] === 1));
  });
});

test('with one document, fast RAG-Sequence decoding is exact: same answers and scores as thorough', async () => {
  const items = ITEMS.map((it) => ({ ...it, docs: it.docs.slice(0, 1) }));
  const thorough = await ragGenerate(gen, items, { mode: 'rag-sequence', beams: 3, numReturnSequences: 2, ...FMT });
  const fast = await ragGenerate(gen, items, { mode: 'rag-sequence-fast', beams: 3, numReturnSequences: 2, ...FMT });
  thorough.forEach((a, i) => {
    assert.deepEqual(fast[i]!.tokenIds, a.tokenIds);
    assert.ok(Math.abs(fast[i]!.score - a.score) < 1e-4, `${fast[i]!.score} vs ${a.score}`);
  });
});

test('the order of the documents does not matter: same answers, posteriors permuted with the documents', async () => {
  const perm = [2, 0, 3, 1];
  const shuffled = ITEMS.map((it) => ({ ...it, docs: perm.map((j) => it.docs[j]!) }));
  for (const mode of ['rag-token', 'rag-sequence'] as RagMode[]) {
    const a = await ragGenerate(gen, ITEMS, { mode, beams: 2, ...FMT });
    const b = await ragGenerate(gen, shuffled, { mode, beams: 2, ...FMT });
    a.forEach((x, i) => {
      assert.deepEqual(b[i]!.tokenIds, x.tokenIds, mode);
      assert.ok(Math.abs(b[i]!.score - x.score) < 1e-4, mode);
      x.docPosteriors.forEach((row, t) => perm.forEach((j, k) => assert.ok(Math.abs(b[i]!.docPosteriors[t]![k]! - row[j]!) < 1e-4, `${mode} t=${t}`)));
    });
  }
});

test('no-retrieval decodes the question alone, like generate() on it', async () => {
  const qs = ITEMS.map((it) => it.question);
  const answers = await ragGenerate(gen, ITEMS, { mode: 'no-retrieval', beams: 1, maxLength: 10 });
  const plain = await generate(gen, qs, { numBeams: 1, maxLength: 10 });
  answers.forEach((a, i) => assert.deepEqual(a.sequence, plain.results[i]![0]!.tokenIds));
});

test('bad input: unknown mode, uneven document counts; no questions gives no answers', async () => {
  await assert.rejects(ragGenerate(gen, ITEMS, { mode: 'rag-both' as RagMode }), UsageError);
  await assert.rejects(ragGenerate(gen, [ITEMS[0]!, { ...ITEMS[1]!, docs: ITEMS[1]!.docs.slice(0, 2) }], { mode: 'rag-token', ...FMT }), (e: unknown) => e instanceof UsageError && /same number/.test(e.message));
  assert.deepEqual(await ragGenerate(gen, [], { mode: 'rag-token' }), []);
});

test('RAG-Sequence may return more answers than beams (they come from the pooled K·beams candidates)', async () => {
  const answers = await ragGenerate(gen, ITEMS.slice(0, 2), { mode: 'rag-sequence', beams: 2, numReturnSequences: 3, ...FMT });
  assert.equal(answers.length, 6);
  assert.deepEqual(answers.map((a) => a.rank), [0, 1, 2, 0, 1, 2]);
  await assert.rejects(ragGenerate(gen, ITEMS, { mode: 'rag-token', beams: 2, numReturnSequences: 3, ...FMT }), UsageError);
});

test('without maxCombinedLength, inputs are cut at the generator\'s own limit (64 here), not HF\'s 300', async () => {
  const long = [{ ...ITEMS[0]!, docs: ITEMS[0]!.docs.map((d) => ({ ...d, text: `${d.text} `.repeat(20) })) }];
  const [a] = await ragGenerate(gen, long, { mode: 'rag-token', beams: 1, maxLength: 6 });
  assert.ok(a!.tokenIds.length > 0);
});
