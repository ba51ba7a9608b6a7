import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '@rag/core';
import { mergeTopK } from './merge-top-k.js';

test('merges per-shard lists into the global top-k (hand-computed)', () => {
  const merged = mergeTopK(
    [
      { shard: 0, scores: [0.9, 0.5, 0.1], labels: [4, 7, 2] },
      { shard: 1, scores: [0.8, 0.7, 0.6], labels: [0, 3, 9] },
      { shard: 2, scores: [0.95, 0.2, 0.05], labels: [11, 1, 5] },
    ],
    4,
  );
  assert.deepEqual(merged, [
    { shard: 2, label: 11, score: 0.95 },
    { shard: 0, label: 4, score: 0.9 },
    { shard: 1, label: 0, score: 0.8 },
    { shard: 1, label: 3, score: 0.7 },
  ]);
});

test('equal scores are ordered by shard, then label, whatever the input order', () => {
  const lists = [
    { shard: 3, scores: [0.5, 0.5], labels: [8, 2] },
    { shard: 1, scores: [0.5, 0.4], labels: [6, 1] },
  ];
  const expected = [
    { shard: 1, label: 6, score: 0.5 },
    { shard: 3, label: 2, score: 0.5 },
    { shard: 3, label: 8, score: 0.5 },
  ];
  assert.deepEqual(mergeTopK(lists, 3), expected);
  assert.deepEqual(mergeTopK([...lists].reverse(), 3), expected);
});

test('padding (label -1) is dropped and short results stay short', () => {
  const merged = mergeTopK(
    [
      { shard: 0, scores: new Float32Array([0.25, -3.4e38]), labels: new Int32Array([1, -1]) },
      { shard: 1, scores: new Float32Array([]), labels: new Int32Array([]) },
    ],
    5,
  );
  assert.deepEqual(merged, [{ shard: 0, label: 1, score: 0.25 }]);
  assert.deepEqual(mergeTopK([], 3), []);
});

test('mismatched lists and bad k are refused', () => {
  assert.throws(() => mergeTopK([{ shard: 0, scores: [1, 2], labels: [1] }], 1), UsageError);
  assert.throws(() => mergeTopK([], -1), UsageError);
});
