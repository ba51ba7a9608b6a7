import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { EmptyCorpusError, UsageError, sha256File } from '@rag/core';
import { detectFormat, parseCorpusFormat, readPassages } from './read-corpus.js';
import { createReadStats } from './read-stats.js';
import { bzip2, collect, filler, gzip, tempFiles, utf16be, wikiXml } from './test-support.js';

const files = tempFiles();
after(() => files.cleanup());

const XML = wikiXml([
  { id: 39, title: 'Albedo', text: `'''Albedo''' ${filler(149, 3)}` },
  { id: 10, title: 'AccessibleComputing', text: '#REDIRECT [[Computer accessibility]]', redirect: 'Computer accessibility' },
  { id: 12, title: 'Anarchism', text: filler(30, 4) },
]);
const TSV = 'id\ttext\ttitle\n1\t"Aaron ""A"" text"\tAaron\n2\tMore text\tB\n';
const JSONL = `${JSON.stringify({ id: 'x', title: 'X', text: filler(250, 9) })}\n`;

test('detectFormat sniffs content (through compression and UTF-16), then falls back to the extension', async () => {
  const cases: Array<[string, string | Buffer, string]> = [
    ['dump.xml', XML, 'wikixml'],
    ['dump.bin', bzip2(XML), 'wikixml'], // content wins; the name says nothing
    ['misnamed.tsv', XML, 'wikixml'], // content wins over a wrong extension
    ['utf16.dat', utf16be(`\ufeff${XML}`), 'wikixml'],
    ['psgs.data', TSV, 'dpr-tsv'],
    ['psgs.tsv.gz', gzip(TSV), 'dpr-tsv'],
    ['docs.txt', JSONL, 'jsonl'],
    ['docs.jsonl.bz2', bzip2(JSONL), 'jsonl'],
    ['blank.jsonl', '', 'jsonl'], // nothing to sniff: the name decides
    ['blank.xml.bz2', bzip2(''), 'wikixml'],
  ];
  for (const [name, data, format] of cases) assert.equal(await detectFormat(files.write(name, data)), format, name);
});

test('detectFormat: unknown content is a UsageError, an empty nameless file an EmptyCorpusError, a missing one a UsageError', async () => {
  await assert.rejects(detectFormat(files.write('notes.txt', 'just some words\n')), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.hint ?? '', /wikixml, dpr-tsv, jsonl/);
    return true;
  });
  await assert.rejects(detectFormat(files.write('empty.dat', '')), EmptyCorpusError);
  await assert.rejects(detectFormat(`${files.dir}/no-such-file.xml.bz2`), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /Corpus file not found: .*no-such-file\.xml\.bz2/);
    return true;
  });
  await assert.rejects(detectFormat(files.dir), /not a file/);
});

test('readPassages splits articles into 100-word passages with stable ids, and fills in stats', async () => {
  const path = files.write('corpus.xml.bz2', bzip2(XML));
  const stats = createReadStats();
  const ps = await collect(readPassages(path, { stats }));
  assert.deepEqual(ps.map((p) => p.id), ['39-0', '39-1', '12-0']);
  assert.deepEqual(ps.map((p) => p.text.split(' ').length), [100, 50, 30]);
  assert.ok(ps[0]!.text.startsWith('Albedo '));
  assert.equal(stats.passages, 3);
  assert.equal(stats.documents, 2);
  assert.equal(stats.skippedRedirects, 1);
  assert.equal(stats.sourceSha256, await sha256File(path));
  assert.deepEqual(await collect(readPassages(path)), ps, 'same ids, texts and hashes on a second run');
});

test('readPassages honours wordsPerPassage and an explicit format', async () => {
  const ps = await collect(readPassages(files.write('docs.any', JSONL), { format: 'jsonl', wordsPerPassage: 60 }));
  assert.deepEqual(ps.map((p) => p.id), ['x-0', 'x-1', 'x-2', 'x-3', 'x-4']);
  assert.equal(ps.at(-1)!.text.split(' ').length, 10);
  await assert.rejects(collect(readPassages(files.write('w.jsonl', JSONL), { wordsPerPassage: 0 })), UsageError);
});

test('readPassages passes DPR rows through unchanged, ignoring wordsPerPassage', async () => {
  const ps = await collect(readPassages(files.write('psgs_w100.tsv', TSV), { wordsPerPassage: 1 }));
  assert.deepEqual(ps.map((p) => [p.id, p.title, p.text]), [['1', 'Aaron', 'Aaron "A" text'], ['2', 'B', 'More text']]);
});

test('a corpus with no passages is an EmptyCorpusError that says what was skipped', async () => {
  const onlyRedirects = wikiXml([{ id: 1, title: 'R', text: '#REDIRECT [[X]]', redirect: 'X' }]);
  await assert.rejects(collect(readPassages(files.write('redirects.xml', onlyRedirects))), (e: unknown) => {
    assert.ok(e instanceof EmptyCorpusError);
    assert.match(e.message, /yielded no passages.*1 redirects/);
    return true;
  });
  await assert.rejects(collect(readPassages(files.write('nothing.jsonl', '\n\n'))), EmptyCorpusError);
  await assert.rejects(collect(readPassages(files.write('header-only.tsv', 'id\ttext\ttitle\n'))), EmptyCorpusError);
  await assert.rejects(collect(readPassages(files.write('empty.xml.bz2', bzip2('')))), EmptyCorpusError);
});

test('parseCorpusFormat accepts the three names and rejects others', () => {
  assert.equal(parseCorpusFormat('dpr-tsv'), 'dpr-tsv');
  assert.throws(() => parseCorpusFormat('csv'), UsageError);
});
