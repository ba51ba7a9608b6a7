import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveIndexOptions } from './index-options.js';
import { MIN_IVF_NLIST, MIN_POINTS_PER_CENTROID, planIndex } from './plan-index.js';

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
