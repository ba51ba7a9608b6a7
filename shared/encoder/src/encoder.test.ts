import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { loadEncoder } from './load-encoder.js';
import type { Encoder } from './encoder.js';
import { TextTokenizer } from './text-tokenizer.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// RAG_TEST_ENCODER_DIR points the suite at another export (e.g. an fp32 one) without touching the committed model.
const MODEL_DIR = process.env.RAG_TEST_ENCODER_DIR ?? join(repo, 'models', 'all-MiniLM-L6-v2');
const FIXTURE = join(repo, 'test', 'fixtures', 'encoder-reference.json');
const skip = existsSync(MODEL_DIR)
  ? false
  : `model dir ${MODEL_DIR} is absent; export it with \`python -m modelkit export-encoder\` (services/modelkit)`;

function row(m: Float32Array, i: number, dim: number): Float32Array {
  return m.subarray(i * dim, (i + 1) * dim);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

// Real sentences of very different lengths, so length-sorting really reorders them.
const MIXED = [
  'Anarchism is a political philosophy that advocates self-governed societies based on voluntary institutions, often described as stateless societies.',
  'Paris',
  'Who wrote the Declaration of Independence?',
  'The Amazon River in South America is the largest river by discharge volume of water in the world, and by some definitions it is the longest. The headwaters of the Apurímac River on Nevado Mismi had been considered for nearly a century as the Amazon basin\'s most distant source.',
  'Photosynthesis converts light energy into chemical energy.',
  'Abraham Lincoln was the 16th President of the United States.',
  'e = mc²',
];

let enc: Encoder;

/** Precision of the committed ONNX file, as the exporter recorded it. */
function committedPrecision(): 'fp32' | 'int8' {
  const p = JSON.parse(readFileSync(join(MODEL_DIR, 'PROVENANCE.json'), 'utf8')) as { precision?: string };
  assert.ok(p.precision === 'fp32' || p.precision === 'int8', `PROVENANCE.json precision is ${p.precision}`);
  return p.precision;
}

/**
 * How close one text's vector must be across different batches. fp32: padding is masked out, so only
 * float summation order differs. int8 dynamic quantisation picks one activation scale per input tensor,
 * i.e. per batch, so batch-mates shift a text's vector slightly; the bar is then the int8 conformance floor.
 */
const sameVectorFloor = (): number => (committedPrecision() === 'fp32' ? 0.9999 : 0.99);

before(async () => {
  if (skip) return;
  enc = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1, batchSize: 3 });
});

after(async () => {
  await enc?.release();
});

/** test/fixtures/encoder-reference.json, written by `python -m modelkit reference-embeddings`. */
interface Reference {
  maxSeqLength: number;
  dimension: number;
  cosineThresholds: { fp32: number; int8: number };
  sentences: { id: string; text: string; tokenCount: number; truncated: boolean; inputIds: number[]; embedding: number[] }[];
}


test('conformance: token ids and cosine to the sentence-transformers reference embeddings', { skip: skip || (!existsSync(FIXTURE) && `fixture ${FIXTURE} is absent`) }, async (t) => {
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Reference;
  assert.ok(ref.sentences.length > 0, 'fixture has sentences');
  assert.equal(enc.maxLength, ref.maxSeqLength);
  // Tokenization first: a mismatch here explains any cosine failure below.
  for (const s of ref.sentences) {
    // The fixture records the untruncated count; ours is after truncation.
    assert.equal(enc.tokenCount(s.text), s.truncated ? ref.maxSeqLength : s.tokenCount, `${s.id}: token count`);
    assert.deepEqual([...(enc as unknown as { tokenizer: TextTokenizer }).tokenizer.encode(s.text).ids], s.inputIds, `${s.id}: input ids`);
  }
  assert.ok(ref.sentences.some((s) => s.truncated), 'the fixture exercises truncation');
  const got = await enc.encode(ref.sentences.map((s) => s.text));
  assert.equal(enc.dim, ref.dimension);
  const cos = ref.sentences.map((s, i) => cosine(row(got, i, enc.dim), s.embedding));
  const min = Math.min(...cos);
  const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
  const precision = committedPrecision();
  const floor = ref.cosineThresholds[precision];
  // int8: 0.98, not 0.99: without AVX-512 VNNI the int8 kernels saturate a little (services/modelkit reference.py).
  assert.equal(floor, precision === 'fp32' ? 0.999 : 0.98);
  t.diagnostic(`precision=${precision} sentences=${cos.length} min cosine=${min.toFixed(6)} mean cosine=${mean.toFixed(6)} floor=${floor}`);
  cos.forEach((c, i) => assert.ok(c >= floor, `${ref.sentences[i]!.id}: cosine ${c} < ${floor}`));
});

test('embeddings are unit vectors of the model width and distinguish meanings', { skip }, async () => {
  const v = await enc.encode(['A man is eating food.', 'A man is eating a piece of bread.', 'The stock market fell sharply today.']);
  assert.equal(enc.dim, 384);
  assert.equal(v.length, 3 * 384);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(Math.hypot(...row(v, i, 384)) - 1) < 1e-5, `row ${i} has unit norm`);
  assert.ok(cosine(row(v, 0, 384), row(v, 1, 384)) > cosine(row(v, 0, 384), row(v, 2, 384)) + 0.3, 'paraphrases are closer than unrelated text');
});

test('batch invariance: a text alone and inside a batch of mixed lengths gives the same vector', { skip }, async (t) => {
  const batch = await enc.encode(MIXED);
  let min = 1;
  for (let i = 0; i < MIXED.length; i++) {
    const alone = await enc.encode([MIXED[i]!]);
    const c = cosine(alone, row(batch, i, enc.dim));
    min = Math.min(min, c);
    assert.ok(c > sameVectorFloor(), `text ${i}: cosine alone vs batch ${c}`);
  }
  t.diagnostic(`precision=${committedPrecision()} min cosine alone vs in batch=${min.toFixed(6)} floor=${sameVectorFloor()}`);
});

test('dynamically quantized graphs give every text the vector it gets alone, bit for bit (one text per call)', { skip }, async () => {
  const int8 = readFileSync(enc.modelPath).includes('DynamicQuantizeLinear');
  assert.equal(enc.callBatchSize, int8 ? 1 : enc.settings.batchSize);
  if (!int8) return;
  const batch = await enc.encode(MIXED);
  for (let i = 0; i < MIXED.length; i++) {
    const alone = await enc.encode([MIXED[i]!]);
    assert.deepEqual(Array.from(alone), Array.from(row(batch, i, enc.dim)), `text ${i}`);
  }
});

test('length sorting does not leak into the output order', { skip }, async () => {
  const fwd = await enc.encode(MIXED);
  const reversed = [...MIXED].reverse();
  const rev = await enc.encode(reversed);
  const n = MIXED.length;
  for (let i = 0; i < n; i++) {
    // Row i of the reversed call is text n-1-i, and is closest to exactly that text's row in the forward call.
    const sims = Array.from({ length: n }, (_, j) => cosine(row(rev, i, enc.dim), row(fwd, j, enc.dim)));
    const best = sims.indexOf(Math.max(...sims));
    assert.equal(best, n - 1 - i, `row ${i} of the reversed call matches text ${best}`);
    assert.ok(sims[best]! > sameVectorFloor(), `row ${i}: cosine ${sims[best]}`);
  }
});

test('texts longer than maxLength are truncated, also at the 512-position limit', { skip }, async () => {
  const words = Array.from({ length: 8 }, () => MIXED.join(' ')).join(' '); // ~1000 tokens
  assert.ok(enc.tokenCount(words) === enc.maxLength, `tokenCount ${enc.tokenCount(words)} = maxLength ${enc.maxLength}`);
  // Text beyond the cut cannot matter: the long text and a longer one sharing its first maxLength tokens agree.
  const [a, b] = [words, words + ' completely different trailing words about volcanoes and oceans'];
  const v = await enc.encode([a, b, 'short']);
  assert.ok(cosine(row(v, 0, enc.dim), row(v, 1, enc.dim)) > 0.9999, 'same truncated tokens, same batch: same vector');
  const full = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1, maxLength: 512 });
  try {
    assert.equal(full.tokenCount(words), 512);
    const w = await full.encode([words, 'short']);
    assert.ok(w.every(Number.isFinite), 'finite');
    assert.ok(Math.abs(Math.hypot(...row(w, 0, full.dim)) - 1) < 1e-5, 'unit norm');
  } finally {
    await full.release();
  }
});

test('empty input: the empty string encodes to a finite unit vector; no texts gives an empty matrix', { skip }, async () => {
  const v = await enc.encode(['', 'not empty']);
  assert.equal(v.length, 2 * enc.dim);
  assert.ok(v.every(Number.isFinite), 'finite');
  assert.ok(Math.abs(Math.hypot(...row(v, 0, enc.dim)) - 1) < 1e-5, 'unit norm');
  assert.equal((await enc.encode([])).length, 0);
  // A passage without a title is its text alone, not ". text".
  const p = await enc.encodePassages([{ title: '', text: 'not empty' }]);
  const c = cosine(p, row(v, 1, enc.dim));
  assert.ok(c > sameVectorFloor(), `passage without title vs text: cosine ${c}`);
});

test('passages are encoded as "title. text" in the default concat format', { skip }, async () => {
  const p = await enc.encodePassages([{ title: 'Paris', text: 'It is the capital of France.' }]);
  const t = await enc.encode(['Paris. It is the capital of France.']);
  assert.ok(cosine(p, t) > 0.9999, 'concat format');
  const q = await enc.encodeQueries(['Paris. It is the capital of France.']);
  assert.ok(cosine(q, t) > 0.9999, 'no query prefix configured for this model');
});

test('our truncating tokenizer path yields the same ids as the library encode(), singles and pairs', { skip }, () => {
  const json = JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer.json'), 'utf8')) as object;
  const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer_config.json'), 'utf8')) as object;
  const ours = new TextTokenizer(json, cfg, 512);
  const lib = new Tokenizer(json, cfg);
  for (const s of [...MIXED, '']) assert.deepEqual([...ours.encode(s).ids], lib.encode(s).ids, s);
  const pair = ours.encode('Amazon River', MIXED[3]!);
  const libPair = lib.encode('Amazon River', { text_pair: MIXED[3]!, return_token_type_ids: true });
  assert.deepEqual([...pair.ids], libPair.ids);
  assert.deepEqual([...pair.typeIds], libPair.token_type_ids);
  // Truncated pair: both segments keep their [SEP], total is exactly the limit.
  const short = new TextTokenizer(json, cfg, 16);
  const tp = short.encode('Amazon River', MIXED[3]!);
  const sep = lib.token_to_id('[SEP]')!;
  assert.equal(tp.ids.length, 16);
  assert.equal(tp.ids[15], sep);
  assert.equal([...tp.ids].filter((x) => x === sep).length, 2);
});
