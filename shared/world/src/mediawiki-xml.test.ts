import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '@rag/core';
import { MediaWikiDumpWriter, escapeXml, mediawikiSha1, type WikiPage } from './mediawiki-xml.js';
import { readDumpPages } from './read-dump.js';

const dir = await mkdtemp(join(tmpdir(), 'world-xml-'));
after(() => rm(dir, { recursive: true, force: true }));

const page = (id: number, text: string, extra: Partial<WikiPage> = {}): WikiPage => ({
  id,
  title: `Page <${id}> & "co"`,
  ns: 0,
  revision: { id: id * 10, timestamp: '2018-01-02T03:04:05Z', contributor: { username: 'Bot & co', id: 1 }, comment: 'a < b' },
  text,
  ...extra,
});

describe('mediawiki-xml', () => {
  it('escapes markup characters and drops characters XML cannot hold', () => {
    assert.equal(escapeXml('<ref name="a">x & y</ref>\u0001'), '&lt;ref name=&quot;a&quot;&gt;x &amp; y&lt;/ref&gt;');
  });

  it('computes the 31-character base-36 sha1 of the dumps', () => {
    const h = mediawikiSha1('hello');
    assert.match(h, /^[0-9a-z]{31}$/);
    assert.notEqual(h, mediawikiSha1('hello!'));
  });

  it('streams pages through bzip2 into a well-formed export that reads back exactly', async () => {
    const path = join(dir, 'a.xml.bz2');
    const texts = ['plain', '<ref>{{cite web |title=A & B}}</ref> [[x|y]] &nbsp; "q"', 'ünïcödé — ✓\nline two', 'x'.repeat(3_000_000)];
    const w = await MediaWikiDumpWriter.open(path);
    for (const [i, t] of texts.entries()) await w.writePage(page(i + 1, t, i === 0 ? { redirect: 'Target & "x"' } : {}));
    const stats = await w.close();
    assert.equal(stats.pages, texts.length);
    assert.ok(stats.xmlBytes > 3_000_000 && stats.bz2Bytes > 0 && stats.bz2Bytes < stats.xmlBytes / 100);
    const back = [];
    for await (const p of readDumpPages(path)) back.push(p);
    assert.deepEqual(back.map((p) => p.text), texts);
    assert.equal(back[0]!.title, 'Page <1> & "co"');
    assert.equal(back[0]!.redirect, 'Target & "x"');
    assert.equal(back[1]!.revisionId, 20);
    assert.deepEqual(await readdir(dir), ['a.xml.bz2'], 'no .partial file left behind');
  });

  it('reports a missing compressor as a configuration problem and leaves no file', async () => {
    const path = join(dir, 'b.xml.bz2');
    await assert.rejects(async () => {
      const w = await MediaWikiDumpWriter.open(path, { bzip2Command: 'no-such-bzip2-binary' });
      await w.writePage(page(1, 'x'));
      await w.close();
    }, (err: unknown) => err instanceof ConfigError && /bzip2/.test(err.hint ?? ''));
    assert.ok(!(await readdir(dir)).some((f) => f.startsWith('b.xml')));
  });
});
