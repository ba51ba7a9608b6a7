/**
 * The committed static encoder (models/minilm-static-256, distilled with model2vec by
 * `python -m modelkit distill-static`) through our own loader: same tokens and same vectors as
 * model2vec's StaticModel.encode, recorded in test/fixtures/static-encoder-reference.json.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEncoder } from './load-encoder.js';
import type { Encoder } from './encoder.js';
import { TextTokenizer } from './text-tokenizer.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MODEL_DIR = join(repo, 'models', 'minilm-static-256');
const FIXTURE = join(repo, 'test', 'fixtures', 'static-encoder-reference.json');

interface FixtureText {
  id: string;
  text: string;
  title?: string;
  passage?: string;
  /** model2vec's token ids: no [CLS]/[SEP], [UNK] dropped. */
  inputIds: number[];
  embedding: number[];
}
interface Fixture {
  modelSha256: string;
  dimension: number;
  titleSeparator: string;
  minCosine: number;
  texts: FixtureText[];
}

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
const passages = fixture.texts.filter((t) => t.passage !== undefined);
let enc: Encoder;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

const row = (m: Float32Array, i: number, dim: number): Float32Array => m.subarray(i * dim, (i + 1) * dim);

before(async () => {
  enc = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1 });
});

after(async () => {
  await enc?.release();
});

test('the static encoder loads with mean pooling, L2 and the fixture model', () => {
  assert.equal(enc.sha256, fixture.modelSha256, 'fixture was made for this model.onnx');
  assert.equal(enc.dim, fixture.dimension);
  assert.equal(enc.pooling, 'mean');
  assert.equal(enc.normalize, true);
  assert.equal(enc.maxLength, 512);
  assert.equal(enc.settings.passageFormat, 'concat');
  assert.equal(enc.settings.outputName, 'mean_pooled', 'the graph pools; rag_encoder.json selects it');
  assert.ok(passages.length >= 8, 'fixture holds real passages');
});

test('tokens match model2vec: no [CLS]/[SEP], [UNK] aside', () => {
  const tok = new TextTokenizer(
    JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer.json'), 'utf8')) as object,
    JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer_config.json'), 'utf8')) as object,
    512,
  );
  const unk = 1; // the table's zero row (PROVENANCE.json export.unkRowZeroed)
  for (const t of fixture.texts) {
    const ids = [...tok.encode(t.text).ids].filter((id) => id !== unk);
    assert.deepEqual(ids, t.inputIds, t.id);
  }
  assert.equal(enc.tokenCount('photosynthesis'), 3, 'three word pieces, no special tokens');
});

test('vectors match model2vec StaticModel.encode (cosine >= 0.999 on every text)', async () => {
  const dim = enc.dim;
  const v = await enc.encode(fixture.texts.map((t) => t.text));
  let min = 1;
  fixture.texts.forEach((t, i) => {
    const c = cosine(row(v, i, dim), t.embedding);
    min = Math.min(min, c);
    assert.ok(c >= fixture.minCosine, `${t.id}: cosine ${c}`);
  });
  // model2vec rounds its vectors to float16; anything else would be a real difference.
  assert.ok(min >= 0.9999, `min cosine ${min}`);
});

test('encodePassages formats {title, text} as model2vec saw it and matches its vectors', async () => {
  const dim = enc.dim;
  const v = await enc.encodePassages(passages.map((p) => ({ title: p.title!, text: p.passage! })));
  assert.equal(v.length, passages.length * dim);
  passages.forEach((p, i) => {
    const r = row(v, i, dim);
    let norm = 0;
    for (const x of r) norm += x * x;
    assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `${p.id} is unit length`);
    assert.ok(cosine(r, p.embedding) >= 0.9999, `${p.id}: cosine ${cosine(r, p.embedding)}`);
  });
});

test('a passage is found from its own opening words among the fixture passages', async () => {
  const dim = enc.dim;
  const pv = await enc.encodePassages(passages.map((p) => ({ title: p.title!, text: p.passage! })));
  const qv = await enc.encodeQueries(passages.map((p) => p.passage!.split(' ').slice(0, 12).join(' ')));
  let hits = 0;
  for (let q = 0; q < passages.length; q++) {
    let best = -1, bestScore = -Infinity;
    for (let p = 0; p < passages.length; p++) {
      const s = cosine(row(qv, q, dim), row(pv, p, dim));
      if (s > bestScore) [best, bestScore] = [p, s];
    }
    if (best === q) hits++;
  }
  assert.ok(hits >= passages.length - 1, `top-1 self-retrieval ${hits}/${passages.length}`);
});

test('our own mean pooling of last_hidden_state gives the same vectors as mean_pooled from the graph', async () => {
  // The same directory without outputName: the Encoder pools [batch, seq, dim] token states itself.
  const dir = mkdtempSync(join(tmpdir(), 'static-lhs-'));
  for (const f of readdirSync(MODEL_DIR)) if (f !== 'rag_encoder.json') symlinkSync(join(MODEL_DIR, f), join(dir, f));
  const { outputName, ...rest } = JSON.parse(readFileSync(join(MODEL_DIR, 'rag_encoder.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(outputName, 'mean_pooled');
  writeFileSync(join(dir, 'rag_encoder.json'), JSON.stringify(rest));
  const lhs = await loadEncoder({ dir, intraOpThreads: 1 });
  try {
    assert.equal(lhs.settings.outputName, undefined);
    const texts = fixture.texts.map((t) => t.text);
    const [a, b] = [await enc.encode(texts), await lhs.encode(texts)];
    for (let i = 0; i < texts.length; i++) {
      const c = cosine(row(a, i, enc.dim), row(b, i, lhs.dim));
      assert.ok(c >= 0.99999, `${fixture.texts[i]!.id}: ${c}`);
    }
  } finally {
    await lhs.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty text encodes to zeros, as model2vec does', async () => {
  const v = await enc.encode(['', 'photosynthesis']);
  assert.ok(v.subarray(0, enc.dim).every((x) => x === 0));
  assert.ok(v.subarray(enc.dim).some((x) => x !== 0));
});
