import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '@rag/core';
import { loadSeq2SeqTokenizer } from './seq2seq-tokenizer.js';

const GEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hf-rag', 'generator');
const tok = loadSeq2SeqTokenizer(GEN_DIR, 1024);

test('BART framing: <s> text </s>; model_max_length from tokenizer_config.json', () => {
  const ids = tok.encode('Paris');
  assert.equal(ids[0], 0);
  assert.equal(ids.at(-1), 2);
  assert.equal(tok.modelMaxLength, 64);
  assert.equal(tok.padId, 1);
  assert.equal(tok.decode(ids), 'Paris');
  assert.equal(tok.decode(ids, { skipSpecialTokens: false }), '<s>Paris</s>');
  assert.ok(tok.isSpecial(0) && tok.isSpecial(2) && !tok.isSpecial(ids[1]!));
});

test('truncation keeps the special tokens and cuts the text, like truncation=True', () => {
  const long = 'The Seine river flows through the city of Paris. '.repeat(10);
  const ids = tok.encode(long, 12);
  assert.equal(ids.length, 12);
  assert.equal(ids[0], 0);
  assert.equal(ids[11], 2);
  assert.deepEqual(ids.slice(1, 11), tok.encode(long, 1000).slice(1, 11));
});

test('batches pad to the longest row or to maxLength, with a 0/1 attention mask', () => {
  const texts = ['Paris', 'The Seine river flows through the city.'];
  const longest = tok.encodeBatch(texts);
  const w = longest.inputIds[1]!.length;
  assert.ok(longest.inputIds.every((r) => r.length === w));
  assert.equal(longest.attentionMask[0]!.filter((m) => m === 1).length, tok.encode('Paris').length);
  assert.ok(longest.inputIds[0]!.slice(tok.encode('Paris').length).every((id) => id === tok.padId));
  const fixed = tok.encodeBatch(texts, { maxLength: 20, padding: 'max_length' });
  assert.ok(fixed.inputIds.every((r) => r.length === 20));
  assert.ok(fixed.attentionMask[1]!.every((m, i) => m === (i < tok.encode(texts[1]!, 20).length ? 1 : 0)));
});

test('a directory without tokenizer.json is a ModelLoadError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gen-tok-'));
  try {
    assert.throws(() => loadSeq2SeqTokenizer(dir, 64), (e: unknown) => e instanceof ModelLoadError && /tokenizer\.json/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
