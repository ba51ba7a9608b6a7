import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError, UsageError } from '@rag/core';
import { lastPositionLogits, type Generator } from './generator.js';
import { loadGenerator } from './load-generator.js';
import { cudaProviderInstalled } from '@rag/encoder';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hf-rag');
const GEN_DIR = join(FIXTURE, 'generator');
const fx = JSON.parse(readFileSync(join(FIXTURE, 'fixtures.json'), 'utf8')) as { batch: { context_input_ids: number[][]; context_attention_mask: number[][] } };
const IDS = fx.batch.context_input_ids.slice(0, 3);
const MASK = fx.batch.context_attention_mask.slice(0, 3);

let gen: Generator;
before(async () => {
  gen = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1 });
});
after(async () => {
  await gen.release();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('loads the Optimum split layout with a sha256 over the ONNX files', () => {
  assert.equal(gen.layout, 'split');
  assert.match(gen.sha256, /^[0-9a-f]{64}$/);
  assert.equal(gen.name, 'generator');
  assert.equal(gen.vocabSize, 200);
});

test('encode() in chunks of rows (the cache-sized default, or one row per call) is bit-identical to one call', async () => {
  const { encoderChunkRows } = await import('./generator.js');
  assert.equal(encoderChunkRows(256, 4), 1, 'a 256-token row of a 4-head model fills the 1 MiB budget');
  assert.equal(encoderChunkRows(64, 4), 16);
  const oneCall = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1, encoderChunkBytes: 1 << 30 });
  const rowAtATime = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1, encoderChunkBytes: 1 });
  try {
    const a = await oneCall.encode(IDS, MASK);
    const b = await rowAtATime.encode(IDS, MASK);
    assert.deepEqual(b.hidden.dims, a.hidden.dims);
    assert.equal(b.rows, 3);
    assert.equal(maxAbsDiff(a.hidden.data as Float32Array, b.hidden.data as Float32Array), 0);
    assert.deepEqual([...(b.mask.data as BigInt64Array)], [...(a.mask.data as BigInt64Array)]);
  } finally {
    await oneCall.release();
    await rowAtATime.release();
  }
  await assert.rejects(loadGenerator({ dir: GEN_DIR, encoderChunkBytes: 0 }), /encoderChunkBytes/);
});

test('cached decoding step by step gives the logits of one uncached pass over the whole prefix', async () => {
  const enc = await gen.encode(IDS, MASK);
  const prefix = [2, 0, 34, 186, 5];
  const full = await gen.decodeStep(gen.startDecoding(enc), IDS.map(() => prefix));
  let state = gen.startDecoding(enc);
  for (let t = 0; t < prefix.length; t++) {
    const step = await gen.decodeStep(state, IDS.map(() => [prefix[t]!]));
    assert.equal(step.state.pastLength, t + 1);
    const V = step.vocabSize;
    for (let r = 0; r < IDS.length; r++) {
      const cached = step.logits.subarray(r * V, (r + 1) * V);
      const ref = full.logits.subarray((r * prefix.length + t) * V, (r * prefix.length + t + 1) * V);
      assert.ok(maxAbsDiff(cached, ref) < 1e-4, `row ${r} position ${t}`);
    }
    state = step.state;
  }
});

test('reorder() moves each row\'s KV cache: the reordered rows continue exactly like the originals', async () => {
  const enc = await gen.encode(IDS, MASK);
  let state = gen.startDecoding(enc);
  for (const t of [2, 0, 34]) state = (await gen.decodeStep(state, IDS.map(() => [t]))).state;
  const plain = lastPositionLogits(await gen.decodeStep(state, IDS.map(() => [186])));
  const src = [2, 0, 0, 1];
  const moved = gen.reorder(state, src);
  assert.deepEqual(moved.encRows, src);
  const got = lastPositionLogits(await gen.decodeStep(moved, src.map(() => [186])));
  const V = gen.vocabSize;
  src.forEach((s, i) => assert.ok(maxAbsDiff(got.subarray(i * V, (i + 1) * V), plain.subarray(s * V, (s + 1) * V)) < 1e-6, `row ${i} <- ${s}`));
});

test('without a mask, encode() infers it from <pad> (pad differs from eos), as transformers does', async () => {
  const withMask = await gen.encode(IDS, MASK);
  const inferred = await gen.encode(IDS);
  assert.ok(maxAbsDiff(withMask.hidden.data as Float32Array, inferred.hidden.data as Float32Array) === 0);
  assert.ok(IDS.some((r) => r.includes(gen.config.padTokenId)), 'the fixture rows are padded');
});

test('a directory without decoders, or a missing one, fails with ModelLoadError naming what is missing', async () => {
  await assert.rejects(loadGenerator({ dir: join(tmpdir(), `no-gen-${process.pid}`) }), (e: unknown) => e instanceof ModelLoadError && /does not exist/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'gen-partial-'));
  try {
    mkdirSync(join(dir, 'onnx'));
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(GEN_DIR, f), join(dir, f));
    copyFileSync(join(GEN_DIR, 'onnx', 'encoder_model.onnx'), join(dir, 'onnx', 'encoder_model.onnx'));
    copyFileSync(join(GEN_DIR, 'onnx', 'decoder_model.onnx'), join(dir, 'onnx', 'decoder_model.onnx'));
    await assert.rejects(loadGenerator({ dir }), (e: unknown) => {
      assert.ok(e instanceof ModelLoadError);
      assert.match(e.message, /decoder_model_merged\.onnx.*decoder_with_past_model\.onnx/);
      assert.match(e.hint ?? '', /export-seq2seq/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('using a released generator is a UsageError', async () => {
  const g = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1 });
  await g.release();
  await assert.rejects(g.encode(IDS), UsageError);
  await g.release();
});

test('encode() drops columns masked in every row: extra padding changes neither the width nor the logits', async () => {
  const pad = gen.config.padTokenId;
  const plain = await gen.encode(IDS, MASK);
  const wide = await gen.encode(IDS.map((r) => [...r, pad, pad, pad]), MASK.map((r) => [...r, 0, 0, 0]));
  const used = Math.max(...MASK.map((r) => r.lastIndexOf(1) + 1));
  assert.equal(plain.seqLen, used);
  assert.equal(wide.seqLen, used);
  const a = lastPositionLogits(await gen.decodeStep(gen.startDecoding(plain), IDS.map(() => [2])));
  const b = lastPositionLogits(await gen.decodeStep(gen.startDecoding(wide), IDS.map(() => [2])));
  assert.equal(maxAbsDiff(a, b), 0);
});

test('beam reorders keep the cross-attention cache; dropped rows stay as dead rows until fewer than half are live', async () => {
  // The per-row layout (the Optimum graphs alone); the grouped one has its own test below.
  const gen = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1, groupedDecoder: false });
  const enc = await gen.encode(IDS, MASK);
  // Two beams per input, as beam search lays them out; the first step runs each distinct row once.
  const encRows = [0, 0, 1, 1, 2, 2];
  const first = await gen.decodeStep(gen.startDecoding(enc, encRows), encRows.map(() => [2]));
  const distinct = await gen.decodeStep(gen.startDecoding(enc), IDS.map(() => [2]));
  const V = gen.vocabSize;
  encRows.forEach((e, i) => assert.equal(maxAbsDiff(first.logits.subarray(i * V, (i + 1) * V), distinct.logits.subarray(e * V, (e + 1) * V)), 0));
  const state = (await gen.decodeStep(first.state, encRows.map((_, i) => [10 + i]))).state;
  const cross = Object.keys(state.past!).filter((k) => k.includes('.encoder.'));
  const self = Object.keys(state.past!).filter((k) => k.includes('.decoder.'));
  // Beams swapped within each input: each row stays in its parent's cache row, nothing is copied.
  const swapped = gen.reorder(state, [1, 0, 3, 2, 5, 4]);
  assert.deepEqual(swapped.slots, [1, 0, 3, 2, 5, 4]);
  for (const k of [...cross, ...self]) assert.equal(swapped.past![k], state.past![k]);
  // Both beams of each input continue its first beam: self-attention rows are copied, cross-attention is not.
  const forked = gen.reorder(state, [0, 0, 2, 2, 4, 4]);
  for (const k of cross) assert.equal(forked.past![k], state.past![k]);
  for (const k of self) assert.notEqual(forked.past![k], state.past![k]);
  const ref6 = lastPositionLogits(await gen.decodeStep(state, encRows.map(() => [7])));
  const viaSwap = lastPositionLogits(await gen.decodeStep(swapped, encRows.map(() => [7])));
  const viaFork = lastPositionLogits(await gen.decodeStep(forked, encRows.map(() => [7])));
  [1, 0, 3, 2, 5, 4].forEach((s, i) => assert.ok(maxAbsDiff(viaSwap.subarray(i * V, (i + 1) * V), ref6.subarray(s * V, (s + 1) * V)) < 1e-6, `swap row ${i}`));
  [0, 0, 2, 2, 4, 4].forEach((s, i) => assert.ok(maxAbsDiff(viaFork.subarray(i * V, (i + 1) * V), ref6.subarray(s * V, (s + 1) * V)) < 1e-6, `fork row ${i}`));
  // Input 1 finished: 4 of 6 rows live, kept in place.
  const dropped = gen.reorder(state, [0, 1, 4, 5]);
  assert.equal(dropped.cacheRows, 6);
  for (const k of cross) assert.equal(dropped.past![k], state.past![k]);
  // Only input 2 left: 2 of 6 live, compacted.
  const compact = gen.reorder(dropped, [2, 3]);
  assert.equal(compact.cacheRows, 2);
  for (const k of cross) assert.equal(compact.past![k]!.dims[0], 2);
  // Every layout decodes the same as a fresh gather of the same rows.
  const ids = (n: number) => Array.from({ length: n }, () => [42]);
  const ref = lastPositionLogits(await gen.decodeStep(state, ids(6)));
  const viaDead = lastPositionLogits(await gen.decodeStep(dropped, ids(4)));
  [0, 1, 4, 5].forEach((s, i) => assert.ok(maxAbsDiff(viaDead.subarray(i * V, (i + 1) * V), ref.subarray(s * V, (s + 1) * V)) < 1e-6, `dead-row layout row ${i}`));
  const viaCompact = lastPositionLogits(await gen.decodeStep(compact, ids(2)));
  [4, 5].forEach((s, i) => assert.ok(maxAbsDiff(viaCompact.subarray(i * V, (i + 1) * V), ref.subarray(s * V, (s + 1) * V)) < 1e-6, `compact row ${i}`));
  await gen.release();
});

test('grouped decoder: beams of one input share one cross-attention row, through reorders, dead rows and compaction, with the logits of the per-row graphs', async () => {
  assert.ok(gen.files.decoderWithPastGrouped, 'the fixture export has the grouped graph');
  const perRow = await loadGenerator({ dir: GEN_DIR, intraOpThreads: 1, groupedDecoder: false });
  try {
    const V = gen.vocabSize;
    const encRows = [0, 0, 1, 1, 2, 2];
    const [encG, encP] = [await gen.encode(IDS, MASK), await perRow.encode(IDS, MASK)];
    const g1 = await gen.decodeStep(gen.startDecoding(encG, encRows), encRows.map(() => [2]));
    const p1 = await perRow.decodeStep(perRow.startDecoding(encP, encRows), encRows.map(() => [2]));
    assert.equal(g1.state.groupBeams, 2);
    assert.equal(maxAbsDiff(g1.logits, p1.logits), 0, 'the first step is the same graph');
    const cross = Object.keys(g1.state.past!).filter((k) => k.includes('.encoder.'));
    // one cross-attention row per input, straight from the first step: no per-beam copy
    for (const k of cross) assert.equal(g1.state.past![k]!.dims[0], 3);
    assert.equal(p1.state.past![cross[0]!]!.dims[0], 6);
    const step = (r: { state: import('./generator.js').DecoderState }, g: Generator, rows: number, tok: number) => g.decodeStep(r.state, Array.from({ length: rows }, (_, i) => [tok + i]));
    let [g, p] = [await step(g1, gen, 6, 10), await step(p1, perRow, 6, 10)];
    assert.ok(maxAbsDiff(g.logits, p.logits) < 1e-5);
    // fork (each input's first beam twice), then drop input 1 (dead rows), then keep input 2 only (compaction)
    for (const [src, rows, live] of [[[0, 0, 2, 2, 4, 4], 6, 6], [[0, 1, 4, 5], 4, 6], [[2, 3], 2, 2]] as const) {
      const gs = gen.reorder(g.state, src);
      const ps = perRow.reorder(p.state, src);
      assert.equal(gs.groupBeams, 2);
      assert.equal(gs.cacheRows, live);
      for (const k of cross) assert.equal(gs.past![k]!.dims[0], live / 2);
      [g, p] = [await step({ state: gs }, gen, rows, 20), await step({ state: ps }, perRow, rows, 20)];
      assert.equal(g.logits.length, rows * V);
      assert.ok(maxAbsDiff(g.logits, p.logits) < 1e-5, `after reorder ${src.join(',')}`);
    }
    // a step of two tokens leaves the grouped layout (the grouped graph takes one) and still agrees
    const two = await gen.decodeStep(g.state, [[5, 6], [7, 8]]);
    const twoP = await perRow.decodeStep(p.state, [[5, 6], [7, 8]]);
    assert.equal(two.state.groupBeams, null);
    assert.ok(maxAbsDiff(two.logits, twoP.logits) < 1e-5);
  } finally {
    await perRow.release();
  }
});

test('teacher forcing: rows sharing encoder rows get one first token per encoder row, then the rest in one cached step, with the logits of full passes', async () => {
  const enc = await gen.encode(IDS, MASK);
  const encRows = [0, 0, 0, 1, 1, 2];
  const start = gen.config.decoderStartTokenId;
  const labels = [[start, 11, 12, 13], [start, 14, 15, 16], [start, 11, 17, 2], [start, 20, 21, 22], [start, 23, 2, 1], [start, 30, 31, 32]];
  // count the rows the uncached first-step graph runs on (it computes the cross-attention keys/values)
  const session = (gen as unknown as { decoderSession: { run: (f: Record<string, { dims: readonly number[] }>) => Promise<unknown> } }).decoderSession;
  const run = session.run.bind(session);
  const firstStepRows: number[] = [];
  session.run = (f) => (firstStepRows.push(f.input_ids!.dims[0]!), run(f));
  let res;
  try {
    res = await gen.decodeStep(gen.startDecoding(enc, encRows), labels);
  } finally {
    session.run = run;
  }
  assert.deepEqual(firstStepRows, [3], 'one uncached row per encoder row');
  assert.equal(res.newTokens, 4);
  const V = gen.vocabSize;
  for (let i = 0; i < labels.length; i++) {
    // the same row alone: one full uncached pass over its 4 tokens
    const alone = await gen.decodeStep(gen.startDecoding(enc, [encRows[i]!]), [labels[i]!]);
    assert.ok(maxAbsDiff(res.logits.subarray(i * 4 * V, (i + 1) * 4 * V), alone.logits) < 1e-5, `row ${i}`);
  }
  // and the cache it leaves continues like any other: one more token for every row
  const next = await gen.decodeStep(res.state, labels.map(() => [7]));
  const ref = await gen.decodeStep((await gen.decodeStep(gen.startDecoding(enc, [encRows[5]!]), [labels[5]!])).state, [[7]]);
  assert.ok(maxAbsDiff(next.logits.subarray(5 * V, 6 * V), ref.logits) < 1e-5);
});

test('executionProvider cuda without the CUDA provider fails at load with how to install it', { skip: cudaProviderInstalled() && 'this host has the CUDA provider' }, async () => {
  await assert.rejects(loadGenerator({ dir: GEN_DIR, executionProvider: 'cuda' }), (e: unknown) => {
    assert.ok(e instanceof ModelLoadError);
    assert.match(e.message, /cuda/i);
    assert.match(e.hint ?? '', /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(e.hint ?? '', /docs\/gpu\.md/);
    return true;
  });
});
