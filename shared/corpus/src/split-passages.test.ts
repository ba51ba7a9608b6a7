import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, UsageError } from '@rag/core';
import { splitPassages } from './split-passages.js';
import { passageHash, PASSAGE_HASH_LENGTH } from './passage.js';
import { filler } from './test-support.js';

test('splits into non-overlapping 100-word blocks, the last one shorter', () => {
  const text = filler(250);
  const words = text.split(' ');
  const ps = splitPassages({ pageId: '39', title: 'Albedo', text });
  assert.deepEqual(ps.map((p) => p.id), ['39-0', '39-1', '39-2']);
  assert.deepEqual(ps.map((p) => p.text.split(' ').length), [100, 100, 50]);
  assert.equal(ps.map((p) => p.text).join(' '), words.join(' '), 'no word lost, duplicated or reordered');
  for (const p of ps) assert.equal(p.title, 'Albedo');
});

test('any whitespace separates words; newlines and tabs become single spaces', () => {
  const ps = splitPassages({ pageId: '1', title: 'T', text: '  a\tb\n\nc   d \r\n e ' }, 2);
  assert.deepEqual(ps.map((p) => p.text), ['a b', 'c d', 'e']);
});

test('an exact multiple gives no empty trailing passage; blank text gives none at all', () => {
  assert.equal(splitPassages({ pageId: '1', title: 'T', text: filler(200) }).length, 2);
  assert.deepEqual(splitPassages({ pageId: '1', title: 'T', text: ' \n\t ' }), []);
});

test('the hash is sha256 of title, newline, text, and ids are stable across calls', () => {
  const doc = { pageId: '7', title: 'Earth', text: filler(130, 5) };
  const a = splitPassages(doc);
  const b = splitPassages({ ...doc });
  assert.deepEqual(a, b);
  for (const p of a) {
    assert.equal(p.hash, sha256(`${p.title}\n${p.text}`).slice(0, PASSAGE_HASH_LENGTH));
    assert.equal(p.hash, passageHash(p.title, p.text));
  }
  assert.notEqual(a[0]!.hash, splitPassages({ ...doc, title: 'Mars' })[0]!.hash, 'the title is part of the hash');
});

test('rejects a nonsensical passage size', () => {
  for (const n of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => splitPassages({ pageId: '1', title: 'T', text: 'a b' }, n), UsageError);
  }
});
