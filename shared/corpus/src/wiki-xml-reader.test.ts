import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CorruptInputError, RagError, UsageError, sha256File } from '@rag/core';
import { readWikiXml } from './wiki-xml-reader.js';
import { createReadStats } from './read-stats.js';
import type { SourceDocument } from './passage.js';
import { bzip2, collect, filler, gzip, tempFiles, utf16be, wikiXml, type TestPage } from './test-support.js';

const files = tempFiles();
after(() => files.cleanup());

const PAGES: TestPage[] = [
  { id: 12, title: 'Anarchism', text: "'''Anarchism''' is a [[political philosophy]].{{Citation needed}}" },
  { id: 10, title: 'AccessibleComputing', text: '#REDIRECT [[Computer accessibility]]', redirect: 'Computer accessibility' },
  { id: 13, title: 'Old redirect', text: '#redirect [[Anarchism]]' },
  { id: 5000, title: 'Wikipedia:About', text: 'Project page text.', ns: 4 },
  { id: 14, title: 'Empty', text: '{{only a template}}\n[[Category:Empty]]' },
  { id: 39, title: 'Albedo & more', text: 'Albedo <ref>{{cite}}</ref> is &quot;whiteness&quot; — ✓ 😀.' },
];
const EXPECTED: SourceDocument[] = [
  { pageId: '12', title: 'Anarchism', text: 'Anarchism is a political philosophy.' },
  { pageId: '39', title: 'Albedo & more', text: 'Albedo is "whiteness" — ✓ 😀.' },
];

function assertCorrupt(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CorruptInputError, `expected CorruptInputError, got ${String(e)}`);
    assert.equal((e as RagError).code, 'CORRUPT_INPUT');
    assert.match((e as Error).message, pattern);
    return true;
  };
}

test('reads articles, skipping redirects, other namespaces and pages with no text; counts them', async () => {
  const path = files.write('sample.xml', wikiXml(PAGES));
  const stats = createReadStats();
  assert.deepEqual(await collect(readWikiXml(path, { stats })), EXPECTED);
  assert.equal(stats.documents, 2);
  assert.equal(stats.skippedRedirects, 2);
  assert.equal(stats.skippedNonArticle, 1);
  assert.equal(stats.skippedEmpty, 1);
  assert.equal(stats.compression, 'none');
  assert.equal(stats.encoding, 'utf-8');
  assert.equal(stats.sourceBytes, stats.sourceSize);
  assert.equal(stats.sourceSha256, await sha256File(path), 'source hashed while streaming');
});

test('the last revision of a page wins, and CDATA text is read', async () => {
  const xml = `<mediawiki><page><title>T</title><ns>0</ns><id>3</id>
    <revision><id>1</id><text>old words</text></revision>
    <revision><id>2</id><text><![CDATA[new ''words'' & <b>more</b>]]></text></revision></page></mediawiki>`;
  const path = files.write('revisions.xml', xml);
  assert.deepEqual(await collect(readWikiXml(path)), [{ pageId: '3', title: 'T', text: 'new words & more' }]);
});

test('bzip2 is detected by magic bytes, whatever the file is called', async () => {
  const path = files.write('dump-without-extension', bzip2(wikiXml(PAGES)));
  const stats = createReadStats();
  assert.deepEqual(await collect(readWikiXml(path, { stats })), EXPECTED);
  assert.equal(stats.compression, 'bzip2');
  assert.equal(stats.sourceSha256, await sha256File(path));
});

test('multi-stream bzip2 (two archives concatenated, as in the -multistream dumps) is read to the end', async () => {
  const xml = wikiXml(PAGES);
  const cut = xml.indexOf('  <page>', xml.indexOf('<page>') + 10); // split between pages
  const path = files.write('multi.xml.bz2', Buffer.concat([bzip2(xml.slice(0, cut)), bzip2(xml.slice(cut))]));
  assert.deepEqual(await collect(readWikiXml(path)), EXPECTED);
});

test('gzip input is read too', async () => {
  const path = files.write('dump.xml.gz', gzip(wikiXml(PAGES)));
  assert.deepEqual(await collect(readWikiXml(path)), EXPECTED);
});

/** About 600 kB of XML: several 100 kB bzip2 blocks, so a truncated archive still decodes its first blocks. */
function bigDump(): { xml: string; pages: number } {
  const pages: TestPage[] = [];
  for (let k = 1; k <= 300; k++) pages.push({ id: k, title: `Page ${k}`, text: filler(200, k) });
  return { xml: wikiXml(pages), pages: pages.length };
}

test('a truncated bzip2 file fails with CorruptInputError naming the file, after yielding the good pages', async () => {
  const { xml, pages } = bigDump();
  const whole = bzip2(xml, 1);
  const path = files.write('truncated.xml.bz2', whole.subarray(0, Math.floor(whole.length * 0.6)));
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const doc of readWikiXml(path)) seen.push(doc.pageId);
    })(),
    (e: unknown) => {
      assertCorrupt(/not a complete bzip2 file/)(e);
      assert.ok((e as Error).message.includes(path), 'names the file');
      assert.match((e as RagError).hint ?? '', /download it again/);
      return true;
    },
  );
  assert.ok(seen.length > 0 && seen.length < pages, `yielded ${seen.length} good pages before failing`);
  assert.deepEqual(seen.slice(0, 3), ['1', '2', '3']);
});

test('a bzip2 file with a damaged block blames the archive, not the XML parser', async () => {
  const { xml } = bigDump();
  const whole = Buffer.from(bzip2(xml, 1));
  for (let k = 0; k < 64; k++) {
    const at = Math.floor(whole.length / 2) + k * 7;
    whole[at] = whole[at]! ^ 0x5a;
  }
  const path = files.write('damaged.xml.bz2', whole);
  await assert.rejects(collect(readWikiXml(path)), assertCorrupt(/bzip2/));
});

test('a truncated gzip file is a CorruptInputError too', async () => {
  const whole = gzip(bigDump().xml);
  const path = files.write('truncated.xml.gz', whole.subarray(0, Math.floor(whole.length / 2)));
  await assert.rejects(collect(readWikiXml(path)), assertCorrupt(/not a complete gzip file/));
});

test('a missing bzip2 program is a UsageError that says what to install', async () => {
  const path = files.write('needs-bzip2.xml.bz2', bzip2(wikiXml(PAGES)));
  await assert.rejects(collect(readWikiXml(path, { bzip2Command: 'no-such-bzip2-program' })), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.hint ?? '', /install bzip2/);
    return true;
  });
});

test('stopping early ends the bzip2 process', async () => {
  const path = files.write('early.xml.bz2', bzip2(bigDump().xml, 1));
  for await (const doc of readWikiXml(path)) {
    assert.equal(doc.pageId, '1');
    break;
  }
  let children = '';
  for (let k = 0; k < 50; k++) {
    children = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).toString();
    if (!/bzip2/.test(children)) break;
    await sleep(20);
  }
  assert.doesNotMatch(children, /bzip2/);
});

test('malformed XML is a CorruptInputError with line and column', async () => {
  const xml = '<mediawiki>\n<page><title>A</title><ns>0</ns><id>1</id><revision><text>ok</text></revision></page>\n<page><title>B</tilte>\n</mediawiki>\n';
  const path = files.write('malformed.xml', xml);
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const d of readWikiXml(path)) seen.push(d.title);
    })(),
    assertCorrupt(/Malformed XML in .*malformed\.xml at line 3, column \d+/),
  );
  assert.deepEqual(seen, ['A'], 'the page before the damage still came out');
});

test('a plain XML file cut off mid-page is reported as malformed', async () => {
  const xml = wikiXml(PAGES);
  const path = files.write('cut.xml', xml.slice(0, xml.lastIndexOf('<page>') + 30));
  await assert.rejects(collect(readWikiXml(path)), assertCorrupt(/Malformed XML/));
});

test('text that is not XML at all is reported as malformed', async () => {
  const path = files.write('not-xml.xml', 'id\ttext\ttitle\n1\thello\tWorld\n');
  await assert.rejects(collect(readWikiXml(path)), assertCorrupt(/Malformed XML/));
});

test('a UTF-8 byte-order mark is stripped', async () => {
  const path = files.write('bom.xml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(wikiXml(PAGES))]));
  assert.deepEqual(await collect(readWikiXml(path)), EXPECTED);
});

test('invalid UTF-8 is reported, not silently replaced', async () => {
  const xml = Buffer.from(wikiXml(PAGES));
  xml[xml.indexOf('whiteness')] = 0xff;
  const path = files.write('bad-utf8.xml', xml);
  await assert.rejects(collect(readWikiXml(path)), assertCorrupt(/not valid utf-8/));
});

const UTF16_DECL = '<?xml version="1.0" encoding="UTF-16"?>\n';

test('UTF-16 LE and BE are transcoded, with a BOM or with only the XML declaration', async () => {
  const xml = wikiXml(PAGES, UTF16_DECL);
  const variants: Record<string, Buffer> = {
    'le-bom': Buffer.from(`\ufeff${xml}`, 'utf16le'),
    'be-bom': utf16be(`\ufeff${xml}`),
    'le-decl': Buffer.from(xml, 'utf16le'),
    'be-decl': utf16be(xml),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    const stats = createReadStats();
    assert.deepEqual(await collect(readWikiXml(files.write(`${name}.xml`, bytes), { stats })), EXPECTED, name);
    assert.equal(stats.encoding, name.startsWith('le') ? 'utf-16le' : 'utf-16be');
  }
});

test('UTF-16 inside bzip2 decodes across chunk boundaries (surrogate pairs split between chunks)', async () => {
  const pages: TestPage[] = [];
  for (let k = 1; k <= 40; k++) pages.push({ id: k, title: `Π ${k}`, text: `${'😀 é ✓ '.repeat(2000)}end${k}` });
  const xml = wikiXml(pages, UTF16_DECL);
  const path = files.write('utf16.xml.bz2', bzip2(Buffer.from(`\ufeff${xml}`, 'utf16le')));
  const docs = await collect(readWikiXml(path));
  assert.equal(docs.length, 40);
  for (const [k, d] of docs.entries()) {
    assert.equal(d.title, `Π ${k + 1}`);
    const expected = pages[k]!.text;
    assert.ok(d.text === expected, `page ${k + 1}: ${d.text.length} chars, expected ${expected.length}`);
  }
});

test('an empty or whitespace-only file yields no documents', async () => {
  assert.deepEqual(await collect(readWikiXml(files.write('empty.xml', ''))), []);
  assert.deepEqual(await collect(readWikiXml(files.write('blank.xml.bz2', bzip2('  \n')))), []);
});
