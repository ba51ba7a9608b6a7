import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSnapshotId, UsageError, RagError } from '@rag/core';

test('accepts well-formed snapshot ids', () => {
  for (const id of ['enwiki-2018', 'a', '2016.v2', 'world_2016']) assert.equal(assertSnapshotId(id), id);
});

test('rejects ids with path segments, upper case or leading punctuation', () => {
  for (const id of ['', '../x', 'a/b', 'A', '-x', '.hidden', 'a..b', 'a b', 'x'.repeat(200)]) {
    assert.throws(() => assertSnapshotId(id), (e: unknown) => e instanceof UsageError && (e as RagError).code === 'USAGE');
  }
});
