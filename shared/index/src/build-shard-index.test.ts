// test-lane: serial (counts timer ticks during an HNSW build)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { CorruptInputError, UsageError, createLogger } from '@rag/core';
import { buildShardIndex, buildShardIndexAsync, trainingSample } from './build-shard-index.js';
import { planIndex } from './plan-index.js';
import { resolveIndexOptions } from './index-options.js';
import { getFaissThreads, setFaissThreads } from './faiss-native.js';
import { randomUnitVectors } from './random-unit-vectors.js';
import { ShardIndex } from './shard-index.js';

const DIM = 64;
const N = 3000;
const base = randomUnitVectors(N, DIM, 11);
const queries = randomUnitVectors(50, DIM, 12);

/** Float64 dot products of one query against every base vector. */
function dots(q: number): Float64Array {
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < DIM; c++) s += queries[q * DIM + c]! * base[i * DIM + c]!;
    out[i] = s;
  }
  return out;
}

test('flat search is exact: equals brute-force dot products', () => {
  const k = 10;
  const index = ShardIndex.fromBuffer(buildShardIndex(base, DIM, { kind: 'flat' }).bytes);
  const r = index.search(queries, 50, k);
  assert.equal(r.scores.length, 50 * k);
  for (let q = 0; q < 50; q++) {
    const all = dots(q);
    const best = Array.from(all).sort((a, b) => b - a).slice(0, k);
    for (let j = 0; j < k; j++) {
      const label = r.labels[q * k + j]!;
      const score = r.scores[q * k + j]!;
      // The score is this label's true dot product, and it is the j-th best overall.
      assert.ok(Math.abs(score - all[label]!) < 1e-5, `q${q} rank ${j}: score ${score} vs dot ${all[label]}`);
      assert.ok(Math.abs(score - best[j]!) < 1e-5, `q${q} rank ${j}: score ${score} vs brute-force ${best[j]}`);
    }
  }
});

test('serialize -> deserialize -> serialize round trip keeps bytes and results identical', () => {
  for (const kind of ['flat', 'hnsw', 'ivf'] as const) {
    const built = buildShardIndex(base, DIM, { kind });
    assert.equal(built.kind, kind);
    assert.equal(built.vectors, N);
    const a = ShardIndex.fromBuffer(built.bytes);
    const b = ShardIndex.fromBuffer(a.toBuffer());
    assert.ok(a.toBuffer().equals(built.bytes), `${kind}: re-serialized bytes differ`);
    const ra = a.search(queries, 50, 10);
    const rb = b.search(queries, 50, 10);
    assert.deepEqual(rb.labels, ra.labels);
    assert.deepEqual(rb.scores, ra.scores);
  }
});

test('the same vectors give byte-identical index files (flat, hnsw, ivf; ivf across thread counts)', () => {
  for (const kind of ['flat', 'hnsw'] as const) {
    const a = buildShardIndex(base, DIM, { kind });
    const b = buildShardIndex(base, DIM, { kind });
    assert.ok(a.bytes.equals(b.bytes), `${kind} build is not reproducible`);
  }
  const before = getFaissThreads();
  try {
    setFaissThreads(1);
    const one = buildShardIndex(base, DIM, { kind: 'ivf' });
    setFaissThreads(Math.max(2, before));
    const many = buildShardIndex(base, DIM, { kind: 'ivf' });
    assert.ok(one.bytes.equals(many.bytes), 'ivf build depends on the thread count');
  } finally {
    setFaissThreads(before);
  }
  assert.equal(getFaissThreads(), before, 'building must restore the thread count');
});

test('effective parameters are reported and stored in the index', () => {
  const hnsw = buildShardIndex(base, DIM, { kind: 'hnsw', hnswM: 16, efSearch: 40 });
  assert.deepEqual(hnsw.params, { hnswM: 16, efConstruction: 80, efSearch: 40 });
  assert.deepEqual(ShardIndex.fromBuffer(hnsw.bytes).getSearchParams(), { efSearch: 40 });
  const ivf = buildShardIndex(base, DIM, { kind: 'ivf', nprobe: 5 });
  assert.equal(ivf.params.nlist, Math.floor(N / 39));
  assert.deepEqual(ShardIndex.fromBuffer(ivf.bytes).getSearchParams(), { nprobe: 5 });
});

test('ivf on a tiny shard falls back to flat and logs why', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const logger = createLogger({ service: 'test', destination: sink });
  const small = base.subarray(0, 100 * DIM);
  const built = buildShardIndex(small, DIM, { kind: 'ivf' }, { logger });
  assert.equal(built.kind, 'flat');
  assert.match(built.fallbackReason ?? '', /shard has 100/);
  assert.equal(ShardIndex.fromBuffer(built.bytes).family, 'flat');
  const logged = lines.map((l) => JSON.parse(l) as { event?: string; built?: string });
  assert.ok(logged.some((l) => l.event === 'index.fallback' && l.built === 'flat'), `no fallback log line in ${lines.join('')}`);
});

test('an empty shard gives an empty, loadable flat index', () => {
  const built = buildShardIndex(new Float32Array(0), DIM, { kind: 'flat' });
  const index = ShardIndex.fromBuffer(built.bytes);
  assert.equal(index.ntotal, 0);
  assert.equal(index.dim, DIM);
  assert.deepEqual(Array.from(index.search(queries.subarray(0, DIM), 1, 3).labels), [-1, -1, -1]);
});

test('bad inputs: ragged length, NaN, Infinity, unknown options', () => {
  assert.throws(() => buildShardIndex(base.subarray(0, DIM * 3 + 5), DIM), (e) => e instanceof UsageError && /not a whole number of 64-d vectors/.test(e.message));
  const withNaN = base.slice(0, DIM * 10);
  withNaN[DIM * 7 + 3] = Number.NaN;
  assert.throws(() => buildShardIndex(withNaN, DIM), (e) => e instanceof CorruptInputError && /vector 7 \(component 3\)/.test(e.message));
  const withInf = base.slice(0, DIM * 10);
  withInf[0] = Number.POSITIVE_INFINITY;
  assert.throws(() => buildShardIndex(withInf, DIM, { kind: 'hnsw' }), CorruptInputError);
  assert.throws(() => buildShardIndex(base, 0), UsageError);
  assert.throws(() => buildShardIndex(base, DIM, { kind: 'ivf', nprobes: 3 }), UsageError);
});

test('buildShardIndexAsync gives the same bytes as the sync build and keeps the event loop running', async () => {
  for (const kind of ['flat', 'hnsw', 'ivf'] as const) {
    const sync = buildShardIndex(base, DIM, { kind });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const built = await buildShardIndexAsync(base, DIM, { kind });
    const ms = Date.now() - started;
    clearInterval(timer);
    assert.equal(built.kind, kind);
    assert.ok(built.bytes.equals(sync.bytes), `${kind}: async build differs from sync build`);
    // HNSW takes ~1 s here; timers must have fired meanwhile (a blocked loop gives 0 or 1 tick).
    if (kind === 'hnsw') assert.ok(ticks >= Math.min(10, ms / 20), `only ${ticks} timer ticks during a ${ms} ms build`);
  }
  await assert.rejects(buildShardIndexAsync(base.subarray(0, 5), DIM), UsageError);
});

test('ivfpq: reproducible bytes across runs and thread counts, a fraction of Flat\'s size, nprobe settable after load', () => {
  // 4-bit codes train on 3,000 vectors (16 centroids per sub-quantizer); 16 sub-quantizers of 4 dims.
  const opts = { kind: 'ivfpq', pqM: 16, pqBits: 4, nprobe: 6 };
  const before = getFaissThreads();
  let one, many;
  try {
    setFaissThreads(1);
    one = buildShardIndex(base, DIM, opts);
    setFaissThreads(Math.max(2, before));
    many = buildShardIndex(base, DIM, opts);
  } finally {
    setFaissThreads(before);
  }
  assert.equal(one.kind, 'ivfpq');
  assert.ok(one.bytes.equals(many.bytes), 'ivfpq build depends on the thread count');
  assert.ok(one.bytes.equals(buildShardIndex(base, DIM, opts).bytes), 'ivfpq build is not reproducible');
  assert.ok(one.bytes.length < (N * DIM * 4) / 4, `ivfpq ${one.bytes.length} B vs Flat vectors ${N * DIM * 4} B`);
  const index = ShardIndex.fromBuffer(one.bytes, one.params);
  assert.equal(index.family, 'ivf');
  assert.deepEqual(index.getSearchParams(), { nprobe: 6 });
  const r = index.search(queries, 50, 5);
  assert.ok(r.labels.every((l) => l >= 0 && l < N));
  index.release();
});

test('ivfpq trains on an even-stride sample of a large shard; the sync and async builds give the same bytes', async () => {
  // 8 lists and 16 codes per sub-quantizer: 64 points per centroid of the larger k-means = 1,024 of the rows.
  const opts = { kind: 'ivfpq', pqM: 16, pqBits: 4, nlist: 8 };
  const plan = planIndex(N, resolveIndexOptions(opts), DIM);
  assert.equal(plan.trainMax, 1024);
  const sample = trainingSample(base, DIM, plan.trainMax);
  assert.equal(sample.length, 1024 * DIM);
  const row = 5;
  const src = Math.floor((row * N) / 1024);
  assert.deepEqual(sample.subarray(row * DIM, (row + 1) * DIM), base.subarray(src * DIM, (src + 1) * DIM));
  assert.equal(trainingSample(base, DIM, undefined), base);
  const sync = buildShardIndex(base, DIM, opts);
  const async = await buildShardIndexAsync(base, DIM, opts);
  assert.ok(sync.bytes.equals(async.bytes), 'sync and async IVF-PQ builds differ');
  const index = ShardIndex.fromBuffer(sync.bytes, sync.params);
  assert.equal(index.ntotal, N, 'every row is added, not just the training sample');
  index.release();
});
