import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentKey, type ContentKind } from './content-objects.js';
import { contentKeysIn } from './snapshot-gc.js';

const SHA = 'ab'.repeat(32);
const KINDS: ContentKind[] = ['passages', 'embeddings', 'index', 'pages', 'deleted', 'reuse', 'offsets'];

test('content keys fan out by the first two hex characters and name their kind', () => {
  assert.equal(contentKey(SHA, 'embeddings'), `objects/sha256/ab/${SHA}.f32`);
  assert.throws(() => contentKey('xyz', 'index'));
});

test('gc finds every kind of content key in manifest text, whole', () => {
  for (const kind of KINDS) {
    const key = contentKey(SHA, kind);
    assert.deepEqual(contentKeysIn(JSON.stringify({ shards: [{ key }] }, null, 2)), [key], kind);
  }
});
