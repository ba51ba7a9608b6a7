// Bad input through the real CLI: each case gives a clear one-line reason and publishes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runRag, ENWIKI } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('bad');
const storage = join(dir.path, 'storage');
const env = { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home'), RAG_JOB_ATTEMPTS: '1' };
after(() => dir.cleanup());

function page(id: number, title: string, text: string): string {
  return `<page><title>${title}</title><ns>0</ns><id>${id}</id><revision><id>${id}0</id><text xml:space="preserve">${text}</text></revision></page>`;
}
const words = (n: number, w: string) => Array.from({ length: n }, (_, i) => `${w}${i % 7}`).join(' ');
const xml = (pages: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">${pages}</mediawiki>\n`;

async function expectFailure(source: string, id: string, pattern: RegExp, extra: string[] = []) {
  const r = await runRag(['snapshot', 'build', '--source', source, '--snapshot', id, '--no-progress', ...extra], env);
  assert.notEqual(r.code, 0, `${id} should fail`);
  assert.match(r.stderr, pattern);
  assert.ok(!existsSync(join(storage, 'snapshots', id, 'manifest.json')), `${id}: nothing published`);
  return r;
}

test('truncated .bz2 dump', { skip: !existsSync(ENWIKI) && 'dump absent' }, async () => {
  const bytes = readFileSync(ENWIKI);
  const cut = join(dir.path, 'truncated.xml.bz2');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await expectFailure(cut, 'truncated', /truncated|corrupt|bz2|bzip2/i);
});

test('malformed XML', async () => {
  const bad = join(dir.path, 'bad.xml');
  writeFileSync(bad, xml(page(1, 'Fine', words(150, 'alpha'))).replace('</mediawiki>', '<page><title>Broken</title></mediawiki>'));
  await expectFailure(bad, 'malformed', /XML|malformed/i);
});

test('UTF-16 dump with BOM is decoded', async () => {
  const src = join(dir.path, 'utf16.xml');
  const text = xml(page(7, 'Zürich', `'''Zürich''' ist eine Stadt. ${words(120, 'wort')}`)).replace('UTF-8', 'UTF-16');
  writeFileSync(src, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  const r = await runRag(['snapshot', 'build', '--source', src, '--snapshot', 'utf16', '--no-progress', '--workers', '1'], env);
  assert.equal(r.code, 0, r.stderr);
  const first = JSON.parse((await runRag(['snapshot', 'passages', 'utf16', '--limit', '1'], env)).stdout);
  assert.equal(first.title, 'Zürich');
  assert.match(first.text, /^Zürich ist eine Stadt/);
});

test('a dump with only redirects is an empty corpus', async () => {
  const src = join(dir.path, 'redirects.xml.bz2');
  const plain = xml(`<page><title>A</title><ns>0</ns><id>1</id><redirect title="B" /><revision><id>2</id><text>#REDIRECT [[B]]</text></revision></page>`);
  writeFileSync(src, execFileSync('bzip2', ['-c'], { input: plain }));
  await expectFailure(src, 'only-redirects', /no passages/);
});

test('a JSONL corpus with bad lines fails naming the first; --skip-bad-lines builds the rest and reports what it skipped', async () => {
  const src = join(dir.path, 'some-bad.jsonl');
  const rec = (i: number) => JSON.stringify({ id: `d${i}`, title: `Doc ${i}`, text: words(120, `w${i}x`) });
  writeFileSync(src, [rec(1), '{"title": "no text"}', rec(2), 'not json at all', rec(3)].join('\n') + '\n');
  const fail = await expectFailure(src, 'bad-lines', /some-bad\.jsonl line 2: "text" must be a string \(.*--skip-bad-lines/);
  assert.equal(fail.stderr.trim().split('\n').length, 1, fail.stderr);
  const r = await runRag(['snapshot', 'build', '--source', src, '--snapshot', 'bad-lines-skipped', '--skip-bad-lines', '--no-progress', '--workers', '1'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped 2 bad line\(s\) of .*some-bad\.jsonl/);
  assert.match(r.stderr, /some-bad\.jsonl:2: skipped: "text" must be a string/);
  assert.match(r.stderr, /some-bad\.jsonl:4: skipped: not valid JSON/);
  const m = JSON.parse((await runRag(['snapshot', 'show', 'bad-lines-skipped', '--json'], env)).stdout);
  assert.equal(m.source.badLinesSkipped.count, 2);
  const titles = (await runRag(['snapshot', 'passages', 'bad-lines-skipped'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l).title);
  assert.deepEqual([...new Set(titles)], ['Doc 1', 'Doc 2', 'Doc 3']);
  // Not for other formats: a bad DPR row or XML page means a damaged file.
  const xmlSrc = join(dir.path, 'fine.xml');
  writeFileSync(xmlSrc, xml(page(1, 'Fine', words(150, 'alpha'))));
  const refused = await runRag(['snapshot', 'build', '--source', xmlSrc, '--snapshot', 'xml-skip', '--skip-bad-lines'], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--skip-bad-lines is for JSONL corpora/);
});

test('unreachable Redis fails fast with the fix', async () => {
  const src = join(dir.path, 'ok.jsonl');
  writeFileSync(src, JSON.stringify({ title: 'T', text: words(50, 'x') }) + '\n');
  const t0 = Date.now();
  const r = await runRag(['snapshot', 'build', '--source', src, '--snapshot', 'noredis', '--no-progress'], { ...env, REDIS_URL: 'redis://user:secretpw@127.0.0.1:1' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cannot reach Redis/);
  assert.ok(!r.stderr.includes('secretpw'), 'password not printed');
  assert.ok(Date.now() - t0 < 30_000);
});

test('unreachable S3 endpoint fails with a clear error', async () => {
  const src = join(dir.path, 'ok2.jsonl');
  writeFileSync(src, JSON.stringify({ title: 'T', text: words(50, 'x') }) + '\n');
  const r = await runRag(['snapshot', 'list'], {
    ...env, RAG_STORAGE: 's3://nobucket/x', AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 'supersecret', AWS_REGION: 'us-east-1',
  }, { timeoutMs: 120_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /S3|endpoint|reach/i);
  assert.ok(!r.stderr.includes('supersecret'));
});
