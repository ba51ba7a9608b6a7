import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptInputError, type RagError } from '@rag/core';
import { parseTsvRecord, readDprTsv } from './dpr-tsv-reader.js';
import { passageHash } from './passage.js';
import { createReadStats } from './read-stats.js';
import { bzip2, collect, tempFiles } from './test-support.js';

const files = tempFiles();
after(() => files.cleanup());

// The first rows of psgs_w100.tsv look like this: quoted text, doubled inner quotes.
const DPR = [
  'id\ttext\ttitle',
  '1\t"Aaron Aaron ( or ; ""Ahärôn"") is a prophet, high priest, and the brother of Moses."\tAaron',
  '2\tplain text without quotes, with a "quote" inside\t"Title, quoted"',
  '3\t"text with a tab\tinside and a line\nbreak"\tMulti',
  '',
].join('\n');

test('parses DPR rows: quoted fields, doubled quotes, tabs and newlines inside quotes; ids kept', async () => {
  const stats = createReadStats();
  const ps = await collect(readDprTsv(files.write('psgs.tsv', DPR), { stats }));
  assert.deepEqual(
    ps.map((p) => [p.id, p.title, p.text]),
    [
      ['1', 'Aaron', 'Aaron Aaron ( or ; "Ahärôn") is a prophet, high priest, and the brother of Moses.'],
      ['2', 'Title, quoted', 'plain text without quotes, with a "quote" inside'],
      ['3', 'Multi', 'text with a tab\tinside and a line\nbreak'],
    ],
  );
  for (const p of ps) assert.equal(p.hash, passageHash(p.title, p.text));
  assert.equal(stats.documents, 3);
});

test('CRLF line ends, columns in another order, bzip2 compression', async () => {
  const tsv = 'title\tid\ttext\r\nEarth\t7\tThird planet.\r\nMars\t8\t"Red ""planet""."\r\n';
  const ps = await collect(readDprTsv(files.write('other-order.tsv.bz2', bzip2(tsv))));
  assert.deepEqual(ps.map((p) => [p.id, p.title, p.text]), [['7', 'Earth', 'Third planet.'], ['8', 'Mars', 'Red "planet".']]);
});

test('rows with empty text are skipped and counted', async () => {
  const stats = createReadStats();
  const ps = await collect(readDprTsv(files.write('empty-text.tsv', 'id\ttext\ttitle\n1\t \tA\n2\tB text\tB\n'), { stats }));
  assert.deepEqual(ps.map((p) => p.id), ['2']);
  assert.equal(stats.skippedEmpty, 1);
});

function corruptAt(line: number, pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CorruptInputError, String(e));
    assert.match(e.message, new RegExp(`line ${line}: `));
    assert.match(e.message, pattern);
    assert.equal((e as RagError).details?.line, line);
    return true;
  };
}

test('a row with the wrong number of fields stops the read, naming its line', async () => {
  const path = files.write('short-row.tsv', 'id\ttext\ttitle\n1\tgood\tA\n2\tmissing title\n3\tgood\tC\n');
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const p of readDprTsv(path)) seen.push(p.id);
    })(),
    corruptAt(3, /expected 3 tab-separated fields, found 2/),
  );
  assert.deepEqual(seen, ['1']);
});

test('broken quoting, empty ids and unterminated quotes are reported with their line', async () => {
  await assert.rejects(collect(readDprTsv(files.write('after-quote.tsv', 'id\ttext\ttitle\n1\t"a"b\tT\n'))), corruptAt(2, /after the closing quote/));
  await assert.rejects(collect(readDprTsv(files.write('empty-id.tsv', 'id\ttext\ttitle\n1\tx\tA\n\tx\tB\n'))), corruptAt(3, /empty id/));
  await assert.rejects(
    collect(readDprTsv(files.write('open-quote.tsv', 'id\ttext\ttitle\n1\tx\tA\n2\t"never closed\tB\n3\tx\tC\n'))),
    corruptAt(3, /never closed/),
  );
});

test('a file without the DPR header is rejected with a hint', async () => {
  await assert.rejects(collect(readDprTsv(files.write('no-header.tsv', '1\ttext\tTitle\n'))), (e: unknown) => {
    assert.ok(e instanceof CorruptInputError);
    assert.match(e.message, /expected the DPR header/);
    assert.match(e.hint ?? '', /id\\ttext\\ttitle/);
    return true;
  });
});

test('parseTsvRecord handles edge cases', () => {
  assert.deepEqual(parseTsvRecord(''), ['']);
  assert.deepEqual(parseTsvRecord('a\t\tb'), ['a', '', 'b']);
  assert.deepEqual(parseTsvRecord('""\t""""'), ['', '"']);
  assert.equal(parseTsvRecord('1\t"open'), undefined);
});
