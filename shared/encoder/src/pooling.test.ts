import { test } from 'node:test';
import assert from 'node:assert/strict';
import { l2NormalizeRows, poolBatch } from './pooling.js';
import { longestFirst } from './text-tokenizer.js';

// Two rows, seqLen 3, dim 2. Row 0 has a padding position whose state must not leak into the mean.
const hidden = new Float32Array([
  1, 2, 3, 4, 100, 100, // row 0: tokens (1,2) (3,4), pad (100,100)
  5, 6, 7, 8, 9, 10, // row 1: three real tokens
]);
const mask = new Uint8Array([1, 1, 0, 1, 1, 1]);

test('mean pooling averages real tokens only and writes rows where the caller asks', () => {
  const out = new Float32Array(4);
  poolBatch(hidden, 2, 3, 2, mask, 'mean', out, [1, 0]); // batch row 0 → output row 1
  assert.deepEqual([...out], [7, 8, 2, 3]);
});

test('CLS pooling takes position 0', () => {
  const out = new Float32Array(4);
  poolBatch(hidden, 2, 3, 2, mask, 'cls', out, [0, 1]);
  assert.deepEqual([...out], [1, 2, 5, 6]);
});

test('an all-masked row pools to zeros, not NaN, and normalising leaves zeros alone', () => {
  const out = new Float32Array(2);
  poolBatch(new Float32Array([3, 4]), 1, 1, 2, new Uint8Array([0]), 'mean', out, [0]);
  l2NormalizeRows(out, 2);
  assert.deepEqual([...out], [0, 0]);
});

test('L2 normalisation gives unit rows', () => {
  const m = new Float32Array([3, 4, 0, -2]);
  l2NormalizeRows(m, 2);
  assert.deepEqual([...m].map((x) => Math.round(x * 1e6) / 1e6), [0.6, 0.8, 0, -1]);
});

test('longest-first pair truncation keeps a short side whole and splits when both are long', () => {
  assert.deepEqual(longestFirst(10, 20, 100), [10, 20]); // fits
  assert.deepEqual(longestFirst(10, 600, 509), [10, 499]); // short title kept whole
  assert.deepEqual(longestFirst(600, 10, 509), [499, 10]);
  assert.deepEqual(longestFirst(300, 400, 509), [254, 255]); // both long: halves, odd token to the longer
  assert.deepEqual(longestFirst(400, 300, 509), [255, 254]);
});
