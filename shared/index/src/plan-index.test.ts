import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '@rag/core';
import { resolveAutoKind, resolveIndexOptions } from './index-options.js';
import { MIN_IVF_NLIST, MIN_POINTS_PER_CENTROID, defaultPqM, planIndex } from './plan-index.js';

test('ivf nlist defaults to about 4*sqrt(n) when there is enough training data', () => {
  const plan = planIndex(1_000_000, resolveIndexOptions({ kind: 'ivf' }));
  assert.equal(plan.kind, 'ivf');
  assert.equal(plan.params.nlist, 4000);
  assert.equal(plan.factory, 'IVF4000,Flat');
  assert.equal(plan.params.nprobe, 16);
});

test('ivf nlist is clamped so that every list has at least 39 training points', () => {
  const n = 5000;
  const plan = planIndex(n, resolveIndexOptions({ kind: 'ivf', nlist: 1000 }));
  assert.equal(plan.params.nlist, Math.floor(n / MIN_POINTS_PER_CENTROID));
  assert.equal(plan.params.requestedNlist, 1000);
  assert.ok(n >= MIN_POINTS_PER_CENTROID * (plan.params.nlist as number));
});

test('ivf falls back to flat, with a reason, when the shard is too small to train', () => {
  const n = MIN_POINTS_PER_CENTROID * MIN_IVF_NLIST - 1;
  const plan = planIndex(n, resolveIndexOptions({ kind: 'ivf' }));
  assert.equal(plan.kind, 'flat');
  assert.match(plan.fallbackReason ?? '', new RegExp(`shard has ${n}`));
  assert.equal(planIndex(n + 1, resolveIndexOptions({ kind: 'ivf' })).kind, 'ivf');
});

test('nprobe never exceeds nlist; hnsw carries its parameters', () => {
  assert.equal(planIndex(400, resolveIndexOptions({ kind: 'ivf', nprobe: 64 })).params.nprobe, 10);
  assert.deepEqual(planIndex(10, resolveIndexOptions({ kind: 'hnsw', hnswM: 16 })), {
    kind: 'hnsw',
    factory: 'HNSW16,Flat',
    params: { hnswM: 16, efConstruction: 80, efSearch: 64 },
  });
});

test('ivfpq: one byte per 4 dims by default, about sqrt(n) lists, a training sample, and re-rank recorded for serving', () => {
  const plan = planIndex(50_000, resolveIndexOptions({ kind: 'ivfpq' }), 256);
  assert.equal(plan.kind, 'ivfpq');
  assert.equal(plan.factory, 'IVF224,PQ64x8np');
  assert.deepEqual(plan.params, { nlist: 224, nprobe: 64, pqM: 64, pqBits: 8, rerank: 32 });
  // 64 points per centroid of the larger k-means (256 codes per sub-quantizer): 16,384 of the 50,000 rows.
  assert.equal(plan.trainMax, 16_384);
  assert.equal(planIndex(12_000, resolveIndexOptions({ kind: 'ivfpq' }), 256).trainMax, undefined);
  assert.equal(defaultPqM(384), 96);
  assert.equal(defaultPqM(100), 25);
  assert.throws(() => planIndex(50_000, resolveIndexOptions({ kind: 'ivfpq', pqM: 30 }), 256), (e) => e instanceof UsageError && /does not divide the 256-d/.test(e.message));
});

test('ivfpq falls back to flat below 39 training points per sub-quantizer centroid', () => {
  const min = MIN_POINTS_PER_CENTROID * 256;
  const plan = planIndex(min - 1, resolveIndexOptions({ kind: 'ivfpq' }), 256);
  assert.equal(plan.kind, 'flat');
  assert.match(plan.fallbackReason ?? '', /larger --shard-size/);
  assert.equal(planIndex(min, resolveIndexOptions({ kind: 'ivfpq' }), 256).kind, 'ivfpq');
  // 4-bit codes need 16 centroids per sub-quantizer: smaller shards can train them.
  assert.equal(planIndex(2_000, resolveIndexOptions({ kind: 'ivfpq', pqBits: 4 }), 256).kind, 'ivfpq');
});

test('auto: Flat while the snapshot\'s Flat vectors fit the budget, IVF-PQ above; auto is never planned per shard', () => {
  const opts = resolveIndexOptions({ kind: 'auto' });
  assert.equal(opts.flatBudgetMiB, 1024);
  // 1 GiB holds 1,048,576 vectors of 256-d.
  assert.equal(resolveAutoKind(opts, 1_048_576, 256).kind, 'flat');
  assert.equal(resolveAutoKind(opts, 1_048_577, 256).kind, 'ivfpq');
  assert.equal(resolveAutoKind(opts, 800_000, 384).kind, 'ivfpq');
  assert.equal(resolveAutoKind(resolveIndexOptions({ kind: 'auto', flatBudgetMiB: 4096 }), 2_000_000, 384).kind, 'flat');
  assert.equal(resolveAutoKind(resolveIndexOptions({ kind: 'hnsw' }), 10_000_000, 768).kind, 'hnsw');
  assert.throws(() => planIndex(10, opts, 256), UsageError);
});
