import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@rag/config';
import { CorruptInputError } from '@rag/core';
import { isWorldOnlyGenerator, readGeneratorCard } from '@rag/generator';
import { worldGeneratorNotice } from '@rag/qa';

const WORLD = join(REPO_ROOT, 'models', 'world-generator');
const TINY = join(REPO_ROOT, 'test', 'fixtures', 'hf-rag', 'generator'); // a user's export: no world card
const dir = mkdtempSync(join(tmpdir(), 'rag-notice-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the shipped generator's card marks it world-only; other exports have no such card", () => {
  assert.equal(readGeneratorCard(WORLD).knowledge, 'synthetic-world-only');
  assert.ok(isWorldOnlyGenerator(WORLD));
  assert.deepEqual(readGeneratorCard(TINY), {});
  assert.ok(!isWorldOnlyGenerator(TINY));
});

test('the notice: world generator on non-world questions, pointing at retrieve-only and RAG_GENERATOR', () => {
  for (const questionFormat of ['nq-jsonl', 'text', 'dpr-csv', 'dpr-tsv']) {
    const n = worldGeneratorNotice({ generatorDir: WORLD, questionFormat, mode: 'rag-token', cwd: REPO_ROOT });
    assert.ok(n, questionFormat);
    assert.match(n, /^note: the generator \(models\/world-generator\) was trained only on the synthetic world/);
    assert.match(n, /--mode retrieve-only/);
    assert.match(n, /RAG_GENERATOR/);
    assert.ok(!n.includes('\n'), 'one line');
  }
  assert.ok(worldGeneratorNotice({ generatorDir: WORLD, questionFormat: 'nq-jsonl', mode: 'no-retrieval' }), 'the generator alone answers too');
});

test('no notice on world questions, in retrieve-only mode, or with a generator of your own', () => {
  assert.equal(worldGeneratorNotice({ generatorDir: WORLD, questionFormat: 'world-jsonl', mode: 'rag-token' }), undefined);
  assert.equal(worldGeneratorNotice({ generatorDir: WORLD, questionFormat: 'world-jsonl+changed:2016/2018@2016+type:changing', mode: 'rag-sequence' }), undefined);
  assert.equal(worldGeneratorNotice({ generatorDir: WORLD, questionFormat: 'nq-jsonl', mode: 'retrieve-only' }), undefined);
  assert.equal(worldGeneratorNotice({ generatorDir: TINY, questionFormat: 'nq-jsonl', mode: 'rag-token' }), undefined);
});

test('decided by the card, not the path: a copied world generator still gets it; a binary card is refused', () => {
  const copy = join(dir, 'my-copy');
  mkdirSync(copy);
  copyFileSync(join(WORLD, 'PROVENANCE.json'), join(copy, 'PROVENANCE.json'));
  assert.ok(worldGeneratorNotice({ generatorDir: copy, questionFormat: 'nq-jsonl', mode: 'rag-token' }));
  writeFileSync(join(copy, 'PROVENANCE.json'), Buffer.from([0x7b, 0xff, 0xfe, 0x00]));
  assert.throws(() => readGeneratorCard(copy), (e) => e instanceof CorruptInputError && /PROVENANCE\.json is not valid utf-8 text/.test(e.message));
});
