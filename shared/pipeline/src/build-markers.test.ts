// The inputs hash that markers and found work are keyed by: every field at every depth counts, key order does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, inputsSha256 } from './build-markers.js';

test('inputsSha256 sees nested fields (an index request\'s quantizer) and ignores key order', () => {
  const trained = (quantizer: string) => ({ embeddings: 'e', kind: 'ivfpq', params: [['pqBits', 6]], trained: { kind: 'ivfpq-lists', quantizer, nprobe: 64, rerank: 32 } });
  assert.notEqual(inputsSha256(trained('q1')), inputsSha256(trained('q2')), 'another quantizer, another result');
  assert.notEqual(inputsSha256({ index: { kind: 'ivfpq', params: { pqBits: 6 } } }), inputsSha256({ index: { kind: 'ivfpq', params: { pqBits: 8 } } }));
  assert.equal(inputsSha256({ a: 1, b: { y: [1, { q: 2, p: 3 }], x: null } }), inputsSha256({ b: { x: null, y: [1, { p: 3, q: 2 }] }, a: 1 }));
  assert.equal(canonicalJson({ b: 1, a: [undefined, 'x'], c: undefined }), '{"a":[null,"x"],"b":1}');
});
