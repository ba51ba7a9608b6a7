import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '@rag/core';
import { DEFAULT_INDEX_OPTIONS, resolveIndexOptions } from './index-options.js';

test('defaults fill what is not given', () => {
  const o = resolveIndexOptions({ kind: 'hnsw', efSearch: 128 });
  assert.deepEqual(o, { ...DEFAULT_INDEX_OPTIONS, kind: 'hnsw', efSearch: 128 });
  assert.equal(o.hnswM, 32);
  assert.equal(o.nprobe, undefined, 'nprobe defaults per kind at planning: 16 for IVF, 64 for IVF-PQ');
});

test('unknown kinds, unknown keys and bad numbers are refused with UsageError', () => {
  assert.throws(() => resolveIndexOptions({ kind: 'pq' }), (e) => e instanceof UsageError && /unknown index kind/.test(e.message));
  assert.throws(() => resolveIndexOptions({ kind: 'ivf', nprobes: 4 }), (e) => e instanceof UsageError && /unknown index option "nprobes"/.test(e.message));
  assert.throws(() => resolveIndexOptions({ nlist: 0 }), UsageError);
  assert.throws(() => resolveIndexOptions({ efSearch: 2.5 }), UsageError);
  assert.throws(() => resolveIndexOptions({ hnswM: '32' }), UsageError);
});
