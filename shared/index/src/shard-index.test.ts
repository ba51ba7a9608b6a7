import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptInputError, ShardIntegrityError, UsageError } from '@rag/core';
import { buildShardIndex } from './build-shard-index.js';
import { randomUnitVectors } from './random-unit-vectors.js';
import { ShardIndex, type ShardSearchResult } from './shard-index.js';

const DIM = 64;
const N = 5000;
const NQ = 200;
const K = 10;
const base = randomUnitVectors(N, DIM, 21);
const queries = randomUnitVectors(NQ, DIM, 22);
const flat = ShardIndex.fromBuffer(buildShardIndex(base, DIM, { kind: 'flat' }).bytes);
const exact = flat.search(queries, NQ, K);

function recallAt10(r: ShardSearchResult): number {
  let hits = 0;
  for (let q = 0; q < NQ; q++) {
    const truth = new Set(exact.labels.subarray(q * K, (q + 1) * K));
    for (const l of r.labels.subarray(q * K, (q + 1) * K)) if (truth.has(l)) hits++;
  }
  return hits / (NQ * K);
}

test('hnsw: recall@10 vs flat is high, and grows with efSearch', () => {
  const index = ShardIndex.fromBuffer(buildShardIndex(base, DIM, { kind: 'hnsw' }).bytes);
  assert.equal(index.family, 'hnsw');
  const atDefault = recallAt10(index.search(queries, NQ, K));
  // Uniform random 64-d data is the hard case for graph search; clustered embeddings do better.
  assert.ok(atDefault >= 0.9, `recall@10 at efSearch=64 is ${atDefault}`);
  index.setSearchParams({ efSearch: 10 });
  assert.deepEqual(index.getSearchParams(), { efSearch: 10 });
  const low = recallAt10(index.search(queries, NQ, K));
  index.setSearchParams({ efSearch: 400 });
  const high = recallAt10(index.search(queries, NQ, K));
  assert.ok(low < atDefault, `efSearch 10 (${low}) should be worse than 64 (${atDefault})`);
  assert.ok(high >= atDefault && high >= 0.99, `efSearch 400 gives ${high}`);
});

test('ivf: recall grows with nprobe; nprobe = nlist equals flat exactly', () => {
  const built = buildShardIndex(base, DIM, { kind: 'ivf' });
  const nlist = built.params.nlist as number;
  assert.equal(nlist, Math.floor(N / 39));
  const index = ShardIndex.fromBuffer(built.bytes);
  assert.equal(index.family, 'ivf');
  const recalls: number[] = [];
  for (const nprobe of [1, 4, 16, 64, nlist]) {
    index.setSearchParams({ nprobe });
    assert.deepEqual(index.getSearchParams(), { nprobe });
    recalls.push(recallAt10(index.search(queries, NQ, K)));
  }
  for (let i = 1; i < recalls.length; i++) assert.ok(recalls[i]! >= recalls[i - 1]!, `recall fell with more probes: ${recalls.join(', ')}`);
  assert.ok(recalls[0]! < 0.5, `nprobe=1 should miss a lot on random data, got ${recalls[0]}`);
  assert.ok(recalls[2]! >= 0.4, `nprobe=16 recall ${recalls[2]}`);
  assert.ok(recalls[3]! >= 0.85, `nprobe=64 recall ${recalls[3]}`);
  const all = index.search(queries, NQ, K);
  assert.deepEqual(all.labels, exact.labels);
  for (let i = 0; i < all.scores.length; i++) assert.ok(Math.abs(all.scores[i]! - exact.scores[i]!) < 1e-5);
  index.setSearchParams({ nprobe: nlist * 10 });
  assert.deepEqual(index.getSearchParams(), { nprobe: nlist }, 'nprobe is clamped to nlist');
});

test('fromBuffer applies nprobe/efSearch from a manifest record and ignores build-time keys', () => {
  const ivf = ShardIndex.fromBuffer(buildShardIndex(base, DIM, { kind: 'ivf' }).bytes, { nprobe: 3, nlist: 128, hnswM: 32, fallbackReason: 'x' });
  assert.deepEqual(ivf.getSearchParams(), { nprobe: 3 });
  const flatToo = ShardIndex.fromBuffer(flat.toBuffer(), { nprobe: 3, efSearch: 9 });
  assert.deepEqual(flatToo.getSearchParams(), {});
  assert.throws(() => ShardIndex.fromBuffer(flat.toBuffer(), { nprobe: 0 }), UsageError);
});

test('k larger than the shard pads with label -1', () => {
  const small = ShardIndex.fromBuffer(buildShardIndex(base.subarray(0, 3 * DIM), DIM).bytes);
  const r = small.search(queries.subarray(0, DIM), 1, 5);
  assert.deepEqual(Array.from(r.labels).slice(3), [-1, -1]);
  assert.deepEqual(new Set(Array.from(r.labels).slice(0, 3)), new Set([0, 1, 2]));
});

test('assertCount: vector count must equal passage count', () => {
  assert.doesNotThrow(() => flat.assertCount(N));
  assert.throws(() => flat.assertCount(N - 1, 'shard 3'), (e) => e instanceof ShardIntegrityError && /shard 3: FAISS index holds 5000 vectors but 4999/.test(e.message));
});

test('damaged bytes give ShardIntegrityError, never a crash', () => {
  const good = flat.toBuffer();
  assert.throws(() => ShardIndex.fromBuffer(Buffer.alloc(0)), ShardIntegrityError);
  assert.throws(() => ShardIndex.fromBuffer(Buffer.from('definitely not faiss')), ShardIntegrityError);
  assert.throws(() => ShardIndex.fromBuffer(good.subarray(0, good.length - 100)), ShardIntegrityError);
  assert.throws(() => ShardIndex.fromBuffer(Buffer.concat([good, Buffer.from([1, 2, 3])])), (e) => e instanceof ShardIntegrityError && /3 trailing bytes/.test(e.message));
  const hnsw = buildShardIndex(base.subarray(0, 500 * DIM), DIM, { kind: 'hnsw' }).bytes;
  assert.throws(() => ShardIndex.fromBuffer(hnsw.subarray(0, Math.floor(hnsw.length / 2))), ShardIntegrityError);
});

test('bad queries: dimension mismatch, wrong nq, NaN, bad k', () => {
  assert.throws(() => flat.search(new Float32Array(32), 1, 5), (e) => e instanceof UsageError && /expected 1 vectors of dimension 64/.test(e.message));
  assert.throws(() => flat.search(queries.subarray(0, 2 * DIM), 3, 5), UsageError);
  const q = queries.slice(0, DIM);
  q[10] = Number.NaN;
  assert.throws(() => flat.search(q, 1, 5), CorruptInputError);
  assert.throws(() => flat.search(queries.subarray(0, DIM), 1, 1.5), UsageError);
  assert.equal(flat.search(queries.subarray(0, DIM), 1, 0).labels.length, 0);
});

test('release frees the index; later use is a UsageError', () => {
  const index = ShardIndex.fromBuffer(flat.toBuffer());
  index.release();
  assert.throws(() => index.search(queries.subarray(0, DIM), 1, 1), UsageError);
  index.release();
});
