import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardIntegrityError } from '@rag/core';
import { resolveIndexOptions } from './index-options.js';
import { randomUnitVectors } from './random-unit-vectors.js';
import { defaultNlist, defaultQuantizerNprobe, encodeShardLists, MergedIvfIndex, planQuantizer, trainQuantizer } from './snapshot-quantizer.js';

const DIM = 32;

test('the plan: nlist the power of two nearest 4·sqrt(N), clamped to 39 training points a list; too few passages is no plan', () => {
  assert.deepEqual([200_000, 2_000_000, 21_000_000].map(defaultNlist), [2048, 4096, 16384]);
  assert.deepEqual([2048, 4096, 16384, 64, 30].map(defaultQuantizerNprobe), [64, 64, 64, 64, 30], 'constant: the codes a query scans grow with sqrt(N), not N');
  const opts = resolveIndexOptions({ kind: 'ivfpq' });
  const p = planQuantizer(2_000_000, 256, opts)!;
  assert.deepEqual([p.nlist, p.pqM, p.pqBits, p.nprobe, p.rerank, p.trainVectors], [4096, 64, 8, 64, 32, 50 * 4096]);
  assert.equal(p.factory, 'IVF4096,PQ64x8np');
  assert.equal(planQuantizer(9_983, 256, opts), undefined, '39 x 256 vectors train 8-bit codes');
  const small = planQuantizer(10_000, 256, opts)!;
  assert.equal(small.nlist, 256, '4·sqrt(10000) = 400 → 512, clamped to 10000 / 39 = 256');
  assert.equal(small.trainVectors, 10_000);
  assert.throws(() => planQuantizer(100_000, 256, resolveIndexOptions({ kind: 'ivfpq', pqM: 60 })), /pqM=60 does not divide the 256-d vectors/);
});

test('shards encoded with one quantizer and merged search exactly like one index of all their vectors; excluded rows never come back', async () => {
  const n = 6_000;
  const vectors = randomUnitVectors(n, DIM, 3);
  const plan = planQuantizer(n, DIM, resolveIndexOptions({ kind: 'ivfpq', pqBits: 6, pqM: 8 }))!;
  const quantizer = await trainQuantizer(vectors.subarray(0, plan.trainVectors * DIM), DIM, plan, 1);
  // Three shards of unequal size, appended at their first global rows, against one shard of everything.
  const bounds = [0, 1_000, 3_500, n];
  const merged = MergedIvfIndex.fromQuantizer(quantizer);
  const whole = MergedIvfIndex.fromQuantizer(quantizer);
  try {
    for (let s = 0; s < 3; s++) {
      const part = vectors.subarray(bounds[s]! * DIM, bounds[s + 1]! * DIM);
      assert.equal(merged.addLists(await encodeShardLists(quantizer, part, DIM, 1), bounds[s]!), bounds[s + 1]! - bounds[s]!);
    }
    whole.addLists(await encodeShardLists(quantizer, vectors, DIM, 1), 0);
    assert.equal(merged.ntotal, n);
    const nq = 20;
    const queries = vectors.subarray(0, nq * DIM);
    const a = merged.search(queries, nq, 10, plan.nprobe);
    const b = whole.search(queries, nq, 10, plan.nprobe);
    assert.deepEqual([...a.labels], [...b.labels]);
    assert.deepEqual([...a.scores], [...b.scores]);
    for (let q = 0; q < nq; q++) assert.equal(a.labels[q * 10], q, 'each vector finds itself first');
    // Exclude every query's own row and every row of the middle shard.
    const excluded = new Uint8Array(Math.ceil(n / 8));
    const exclude = (r: number) => { excluded[r >> 3]! |= 1 << (r & 7); };
    for (let r = 0; r < nq; r++) exclude(r);
    for (let r = bounds[1]!; r < bounds[2]!; r++) exclude(r);
    const c = merged.search(queries, nq, 10, plan.nprobe, excluded);
    for (const row of c.labels) assert.ok(row < 0 || (row >= nq && (row < bounds[1]! || row >= bounds[2]!)), `row ${row} was excluded`);
    assert.ok([...c.labels].filter((r) => r >= 0).length >= nq * 9, 'the scan still fills the results from live rows');
    // More lists probed: recall against the unquantized top-10 grows, up to all lists.
    const exactTop = (q: number) => {
      const qv = vectors.subarray(q * DIM, (q + 1) * DIM);
      const s = Array.from({ length: n }, (_, r) => { let d = 0; for (let i = 0; i < DIM; i++) d += qv[i]! * vectors[r * DIM + i]!; return { r, d }; });
      return new Set(s.sort((x, y) => y.d - x.d).slice(0, 10).map((x) => x.r));
    };
    const recall = (nprobe: number) => {
      const got = merged.search(queries, nq, 100, nprobe);
      let hits = 0;
      for (let q = 0; q < nq; q++) {
        const want = exactTop(q);
        hits += [...got.labels.subarray(q * 100, (q + 1) * 100)].filter((r) => want.has(r)).length;
      }
      return hits / (nq * 10);
    };
    assert.ok(recall(1) <= recall(plan.nlist), 'probing every list finds at least as much');
    assert.ok(recall(plan.nlist) >= 0.9, `all lists, 100 PQ candidates: recall ${recall(plan.nlist)}`);
  } finally {
    merged.release();
    whole.release();
  }
});

test('lists of another quantizer, or bytes that are no quantizer, are refused with what to do', async () => {
  const vectors = randomUnitVectors(4_000, DIM, 5);
  const opts = { kind: 'ivfpq', pqBits: 5, pqM: 8 } as const;
  const a = await trainQuantizer(vectors, DIM, planQuantizer(4_000, DIM, resolveIndexOptions(opts))!, 1);
  const b = await trainQuantizer(vectors, DIM, planQuantizer(4_000, DIM, resolveIndexOptions({ ...opts, nlist: 16 }))!, 1);
  // A shard encoded with another snapshot's quantizer (another number of lists).
  const foreign = await encodeShardLists(b, vectors.subarray(0, 100 * DIM), DIM, 1);
  const index = MergedIvfIndex.fromQuantizer(a);
  try {
    assert.throws(() => index.addLists(foreign, 0), (e: unknown) => e instanceof ShardIntegrityError && /do not fit the snapshot's quantizer/.test(e.message));
    assert.equal(index.addLists(await encodeShardLists(a, vectors.subarray(0, 100 * DIM), DIM, 1), 0), 100);
  } finally {
    index.release();
  }
  assert.throws(() => MergedIvfIndex.fromQuantizer(Buffer.from('not an index')), (e: unknown) => e instanceof ShardIntegrityError && /--retrain/.test(e.hint ?? ''));
  await assert.rejects(encodeShardLists(a, vectors.subarray(0, 10 * 16), 16, 1), /16-d/);
});
