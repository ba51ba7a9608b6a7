import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageIdSet } from './page-id-set.js';

test('page ids are deduplicated exactly, however far apart: an id met 1.2 million ids earlier is still a duplicate', () => {
  const set = new PageIdSet();
  const n = 1_200_000; // beyond the 1M-id window the ingest once remembered
  for (let i = 0; i < n; i++) assert.equal(set.add(String(10_000_000 + i)), true);
  assert.equal(set.size, n);
  assert.equal(set.add('10000000'), false, 'the first id, far back, is a duplicate');
  assert.equal(set.has(String(10_000_000 + n - 1)), true);
  assert.equal(set.has('9999999'), false);
  assert.equal(set.has(String(10_000_000 + n)), false);
  // Unicode titles and ids that differ only in their last byte.
  assert.equal(set.add('Zürich'), true);
  assert.equal(set.add('Zürici'), true);
  assert.equal(set.has('Zürich'), true);
  assert.equal(set.add('Zürich'), false);
  // What it holds: the ids' bytes (8 each here) and 16-32 bytes of table per id, arena doubling aside.
  assert.ok(set.bytes / n <= 8 * 2 + 32, `${(set.bytes / n).toFixed(1)} bytes per id`);
});
