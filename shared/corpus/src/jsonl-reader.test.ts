import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptInputError } from '@rag/core';
import { readJsonl } from './jsonl-reader.js';
import { createReadStats } from './read-stats.js';
import { collect, gzip, tempFiles } from './test-support.js';

const files = tempFiles();
after(() => files.cleanup());

test('reads records; id defaults to the line number, numeric ids become strings, text is only trimmed', async () => {
  const lines = [
    JSON.stringify({ id: 'doc-a', title: 'A', text: "  It's [[not]] wikitext, {{kept}} as is.\n" }),
    '',
    JSON.stringify({ title: 'B', text: 'Second.' }),
    JSON.stringify({ id: 42, text: 'No title.' }),
    JSON.stringify({ id: 'e', title: 'Empty', text: '   ' }),
  ];
  const stats = createReadStats();
  const docs = await collect(readJsonl(files.write('docs.jsonl', `${lines.join('\r\n')}\r\n`), { stats }));
  assert.deepEqual(docs, [
    { pageId: 'doc-a', title: 'A', text: "It's [[not]] wikitext, {{kept}} as is." },
    { pageId: '3', title: 'B', text: 'Second.' },
    { pageId: '42', title: '', text: 'No title.' },
  ]);
  assert.equal(stats.documents, 3);
  assert.equal(stats.skippedEmpty, 1);
});

test('multi-byte characters split across read chunks survive (1.5 MB of UTF-8, gzipped too)', async () => {
  const text = '😀é✓ '.repeat(150_000).trim();
  const body = `${JSON.stringify({ id: 1, title: 'Wide', text })}\n`;
  for (const [name, data] of [['wide.jsonl', body], ['wide.jsonl.gz', gzip(body)]] as const) {
    const docs = await collect(readJsonl(files.write(name, data)));
    assert.equal(docs.length, 1);
    assert.ok(docs[0]!.text === text, `${name}: text changed in transit`);
  }
});

function corruptAt(line: number, pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CorruptInputError, String(e));
    assert.match(e.message, new RegExp(`line ${line}: `));
    assert.match(e.message, pattern);
    return true;
  };
}

test('bad lines are CorruptInputErrors with their line number', async () => {
  const good = JSON.stringify({ title: 'ok', text: 'ok' });
  const cases: Array<[string, RegExp]> = [
    ['{"title": "x", "text": "unterminated}', /not valid JSON/],
    ['[1, 2]', /expected a JSON object/],
    ['"just a string"', /expected a JSON object/],
    ['{"title": "x"}', /"text" must be a string/],
    ['{"title": 3, "text": "t"}', /"title" must be a string/],
    ['{"id": {"a": 1}, "text": "t"}', /"id" must be a string or a number/],
  ];
  for (const [k, [bad, pattern]] of cases.entries()) {
    const path = files.write(`bad-${k}.jsonl`, `${good}\n${good}\n${bad}\n${good}\n`);
    await assert.rejects(collect(readJsonl(path)), corruptAt(3, pattern));
  }
});

test('skipBadLines skips and counts bad lines with their reasons; the default still fails naming the line and the option', async () => {
  const good = (n: number) => JSON.stringify({ id: `g${n}`, title: 'ok', text: `good ${n}` });
  const path = files.write('some-bad.jsonl', [good(1), '{"title": "x"', good(2), '[1]', '', good(3)].join('\n') + '\n');
  const stats = createReadStats();
  const docs = await collect(readJsonl(path, { stats, skipBadLines: true }));
  assert.deepEqual(docs.map((d) => d.pageId), ['g1', 'g2', 'g3']);
  assert.equal(stats.skippedBadLines, 2);
  assert.equal(stats.documents, 3);
  assert.deepEqual(stats.badLines.map((b) => b.line), [2, 4]);
  assert.match(stats.badLines[0]!.reason, /not valid JSON/);
  assert.match(stats.badLines[1]!.reason, /expected a JSON object/);
  await assert.rejects(collect(readJsonl(path)), (e: unknown) => {
    assert.ok(e instanceof CorruptInputError);
    assert.match(e.message, /line 2: not valid JSON/);
    assert.match(e.hint ?? '', /--skip-bad-lines/);
    return true;
  });
});
