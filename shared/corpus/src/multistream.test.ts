import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CorruptInputError } from '@rag/core';
import { fileSource, readBytes, type ByteSource } from './byte-source.js';
import { findStreamStarts, isStreamStart, streamStartsIn } from './bzip2-streams.js';
import { readDumpHeader, rangeFragment } from './dump-header.js';
import { makeMultistreamDump, type MultistreamReport } from './make-multistream.js';
import { multistreamIndexNameFor, planMultistreamRanges } from './multistream-plan.js';
import { readMultistreamIndexOffsets } from './multistream-index.js';
import { readSourcePages } from './read-corpus.js';
import { bzip2, collect, filler, tempFiles, wikiXml } from './test-support.js';

const files = tempFiles();
after(() => files.cleanup());

const pages = Array.from({ length: 47 }, (_, i) => ({ id: 100 + i, title: `Page ${i} & co`, text: filler(150 + (i % 5) * 40, i + 1) }));
pages.splice(5, 0, { id: 999, title: 'Redirected', text: '#REDIRECT [[Page 1]]' });
const xml = wikiXml(pages);
const single = files.write('plain.xml.bz2', bzip2(xml));

async function multistream(name: string, perStream: number): Promise<MultistreamReport> {
  return makeMultistreamDump(single, join(files.dir, `${name}-multistream.xml.bz2`), { pagesPerStream: perStream });
}

/** Every page (id, passage ids, hashes) of ranges read one by one, framed as range jobs frame them. */
async function pagesByRange(path: string, ranges: { start: number; end: number }[]): Promise<string[]> {
  const source = fileSource(path);
  const header = await readDumpHeader(source);
  const out: string[] = [];
  for (let k = 0; k < ranges.length; k++) {
    for await (const p of readSourcePages(`${path} r${k}`, { source, range: ranges[k], fragment: rangeFragment(header, k, ranges.length), format: 'wikixml', allowEmpty: true })) {
      out.push(`${p.pageId}:${p.passages!.map((x) => `${x.id}/${x.hash}`).join(',')}`);
    }
  }
  return out;
}

async function pagesOfWhole(path: string): Promise<string[]> {
  return (await collect(readSourcePages(path, { format: 'wikixml' }))).map((p) => `${p.pageId}:${p.passages!.map((x) => `${x.id}/${x.hash}`).join(',')}`);
}

test('make-multistream writes header, page streams and trailer that decompress to the source, and a matching index', async () => {
  const r = await multistream('a', 10);
  assert.equal(r.index, multistreamIndexNameFor(r.out));
  assert.equal(r.pages, 48);
  assert.equal(r.streams, 1 + 5 + 1, 'header, ceil(48/10) page streams, trailer');
  const dump = readFileSync(r.out);
  const starts = streamStartsIn(dump);
  assert.equal(starts.length, r.streams, 'every stream start found, no false one');
  assert.equal(starts[0], 0);
  const offsets = await collect(readMultistreamIndexOffsets(fileSource(r.index)));
  assert.deepEqual(offsets, starts.slice(1, -1), 'the index names each page stream, in order');
  const lines = (await collect(readSourcePages(r.out, { format: 'wikixml' }))).length;
  assert.equal(lines, 47, 'the redirect is skipped like in the source');
  assert.deepEqual(await pagesOfWhole(r.out), await pagesOfWhole(single));
  const { spawnSync } = await import('node:child_process');
  assert.equal(spawnSync('bzip2', ['-dc', r.out], { maxBuffer: 1 << 28 }).stdout.toString('utf8'), xml, 'byte-identical text');
  assert.match(spawnSync('bzip2', ['-dc', r.index]).stdout.toString('utf8').split('\n')[0]!, /^\d+:100:Page 0 & co$/, 'titles unescaped, as Wikipedia writes them');
});

test('stream starts are found across chunk boundaries, and only real ones', async () => {
  const a = bzip2('first stream');
  const b = bzip2('second stream');
  const noise = Buffer.from('BZh91AY&S'); // one byte short of a header
  const buf = Buffer.concat([a, noise, b]);
  assert.deepEqual(streamStartsIn(buf), [0, a.length + noise.length]);
  assert.ok(isStreamStart(buf) && !isStreamStart(noise));
  // A source that hands out 3-byte chunks: every header straddles chunks.
  const tiny: ByteSource = {
    name: 'tiny',
    size: async () => buf.length,
    open: async (r) => Readable.from((function* () { for (let i = r?.start ?? 0; i < (r?.end ?? buf.length); i += 3) yield buf.subarray(i, Math.min(i + 3, r?.end ?? buf.length)); })()),
  };
  assert.deepEqual(await collect(findStreamStarts(tiny, 1, 1 << 20)), [a.length + noise.length]);
});

test('planning splits at page streams near size/jobs, the same from the index and from a scan', async () => {
  const r = await multistream('b', 5);
  const source = fileSource(r.out);
  const size = readFileSync(r.out).length;
  for (const jobs of [2, 3, 4]) {
    const scanned = await planMultistreamRanges(source, { jobs });
    const indexed = await planMultistreamRanges(source, { jobs, index: fileSource(r.index) });
    assert.equal(scanned.boundaries, 'scan');
    assert.equal(indexed.boundaries, 'index');
    assert.deepEqual(scanned.ranges, indexed.ranges);
    assert.equal(scanned.ranges.length, jobs);
    assert.equal(scanned.ranges[0]!.start, 0);
    assert.equal(scanned.ranges.at(-1)!.end, size);
    scanned.ranges.slice(1).forEach((x, i) => {
      assert.equal(x.start, scanned.ranges[i]!.end, 'contiguous');
      assert.ok(x.start >= Math.floor((size * (i + 1)) / jobs), 'at or after its target');
    });
    assert.deepEqual(await pagesByRange(r.out, scanned.ranges), await pagesOfWhole(single), `${jobs} ranges read one by one give the dump's pages`);
  }
  // More jobs than page streams: as many ranges as there are usable boundaries.
  const many = await planMultistreamRanges(source, { jobs: 64 });
  assert.ok(many.ranges.length <= 10 && many.ranges.length >= 2);
  assert.deepEqual(await pagesByRange(r.out, many.ranges), await pagesOfWhole(single));
});

test('a single-stream dump, and streams cut mid-page (as pbzip2 writes them), give one range', async () => {
  assert.deepEqual((await planMultistreamRanges(fileSource(single), { jobs: 4 })).ranges, [{ start: 0, end: readFileSync(single).length }]);
  const cut: Buffer[] = [];
  for (let i = 0; i < xml.length; i += 4000) cut.push(bzip2(xml.slice(i, i + 4000)));
  const chunked = files.write('chunked.xml.bz2', Buffer.concat(cut));
  const plan = await planMultistreamRanges(fileSource(chunked), { jobs: 2 });
  assert.equal(plan.ranges.length, 1, 'no stream of it starts with <page>');
  assert.equal(plan.boundaries, 'none');
  assert.equal(streamStartsIn(readFileSync(chunked)).length, cut.length, 'although it has many streams');
});

test('an index of another dump is refused with a clear error', async () => {
  const r = await multistream('c', 5);
  const other = await makeMultistreamDump(single, join(files.dir, 'd-multistream.xml.bz2'), { pagesPerStream: 7 });
  await assert.rejects(planMultistreamRanges(fileSource(r.out), { jobs: 3, index: fileSource(other.index) }), (e: unknown) => {
    assert.ok(e instanceof CorruptInputError);
    assert.match(e.message, /not a bzip2 stream start/);
    assert.match(e.hint ?? '', /index/);
    return true;
  });
});

test('a corrupt stream fails its range with an error naming the byte range', async () => {
  const r = await multistream('e', 5);
  const plan = await planMultistreamRanges(fileSource(r.out), { jobs: 2 });
  const bytes = readFileSync(r.out);
  const bad = plan.ranges[1]!;
  bytes[bad.start + Math.floor((bad.end - bad.start) / 3)]! ^= 0x55;
  const broken = files.write('broken-multistream.xml.bz2', bytes);
  const source = fileSource(broken);
  const header = await readDumpHeader(source);
  const label = `${broken} (bytes ${bad.start}-${bad.end})`;
  // The first range still reads.
  assert.ok((await collect(readSourcePages(broken, { source, range: plan.ranges[0], fragment: rangeFragment(header, 0, 2), format: 'wikixml' }))).length > 0);
  await assert.rejects(collect(readSourcePages(label, { source, range: bad, fragment: rangeFragment(header, 1, 2), format: 'wikixml' })), (e: unknown) => {
    assert.ok(e instanceof CorruptInputError, String(e));
    assert.ok(e.message.includes(`bytes ${bad.start}-${bad.end}`), e.message);
    return true;
  });
});

test('the real enwiki sample as a multistream dump: ranges give its pages exactly', { skip: !existsSync(join(import.meta.dirname, '../../../../shared/data/wikipedia/enwiki-2016-sample.xml.bz2')) && 'shared/data absent' }, async () => {
  const sample = join(import.meta.dirname, '../../../../shared/data/wikipedia/enwiki-2016-sample.xml.bz2');
  const r = await makeMultistreamDump(sample, join(files.dir, 'enwiki-multistream.xml.bz2'), { pagesPerStream: 20 });
  const plan = await planMultistreamRanges(fileSource(r.out), { jobs: 3, index: fileSource(r.index) });
  assert.equal(plan.ranges.length, 3);
  assert.deepEqual(await pagesByRange(r.out, plan.ranges), await pagesOfWhole(sample));
  assert.deepEqual(await readBytes(fileSource(r.out), { start: 0, end: 3 }), Buffer.from('BZh'));
});
