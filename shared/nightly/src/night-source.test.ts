// Nights are UTC days (yyyymmdd); --date accepts only real calendar days; tonight's source is the filled-in
// pattern when that object exists, or the newest matching object under a directory (index files skipped).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalObjectStore } from '@rag/storage';
import { expandNightPattern, nightOf, parseNight, resolveNightSource } from './night-source.js';
import { NightSourceError } from './nightly-errors.js';

let dir: string;
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rag-night-source-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = () => { const d = join(dir, `d${n++}`); mkdirSync(d); return d; };
/** Creates a file with the given age in seconds (its mtime and atime are set explicitly). */
function put(path: string, ageS: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, 'dump');
  const t = Date.now() / 1000 - ageS;
  utimesSync(path, t, t);
}
/** Opens local stores and remembers which directories were opened and closed. */
function opener() {
  const opened: string[] = [];
  let closed = 0;
  const open = (d: string) => {
    opened.push(d);
    const s = new LocalObjectStore(d);
    const close = s.close.bind(s);
    s.close = async () => { closed++; await close(); };
    return s;
  };
  return { open, opened, closed: () => closed };
}

test('nightOf is the UTC calendar day, whatever the local offset of the input', () => {
  assert.equal(nightOf(new Date('2026-12-07T00:00:00Z')), '20261207');
  assert.equal(nightOf(new Date('2026-12-07T23:59:59.999Z')), '20261207');
  assert.equal(nightOf(new Date('2026-12-08T01:30:00+02:00')), '20261207'); // 23:30 UTC the day before
  assert.equal(nightOf(new Date(Date.UTC(2024, 1, 29, 12))), '20240229');
});

test('parseNight accepts YYYY-MM-DD and YYYYMMDD calendar days', () => {
  assert.equal(parseNight('2026-12-07'), '20261207');
  assert.equal(parseNight('20261207'), '20261207');
  assert.equal(parseNight(' 2026-12-07\n'), '20261207');
  assert.equal(parseNight('2024-02-29'), '20240229'); // a leap day
  assert.equal(parseNight('2000-02-29'), '20000229'); // divisible by 400: a leap year
});

test('parseNight refuses days that do not exist and anything that is not a date', () => {
  for (const s of ['2026-02-30', '2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-12-00', 'junk', '', '2026-12-7', '2026/12/07', '202612070', '26-12-07', 'today']) {
    assert.throws(() => parseNight(s), (err: unknown) => {
      assert.ok(err instanceof NightSourceError, `${JSON.stringify(s)}: ${String(err)}`);
      assert.match(err.message, /is not a calendar day/);
      assert.equal(err.retryable, false, 'a bad --date does not get better on a retry');
      return true;
    }, JSON.stringify(s));
  }
});

test('expandNightPattern fills every placeholder, each as often as it occurs', () => {
  assert.equal(expandNightPattern('s3://dumps/{yyyy}/{mm}/{dd}/enwiki-{yyyymmdd}-{yyyy}{mm}{dd}.xml.bz2', '20261207'), 's3://dumps/2026/12/07/enwiki-20261207-20261207.xml.bz2');
  assert.equal(expandNightPattern('/data/enwiki-latest.xml.bz2', '20261207'), '/data/enwiki-latest.xml.bz2');
});

test('a pattern resolves to its path when tonight\'s object exists, and is an error when it does not', async () => {
  const d = fresh();
  put(join(d, '2026', 'enwiki-20261207-pages-articles.xml.bz2'), 60);
  const o = opener();
  const pattern = join(d, '{yyyy}', 'enwiki-{yyyymmdd}-pages-articles.xml.bz2');
  assert.equal(await resolveNightSource({ pattern }, '20261207', o.open), join(d, '2026', 'enwiki-20261207-pages-articles.xml.bz2'));
  assert.deepEqual(o.opened, [join(d, '2026')]);
  await assert.rejects(resolveNightSource({ pattern }, '20261208', o.open), (err: unknown) => {
    assert.ok(err instanceof NightSourceError);
    assert.match(err.message, /enwiki-20261208-pages-articles\.xml\.bz2 does not exist/);
    assert.equal(err.retryable, true, 'the dump may appear later');
    return true;
  });
  // A directory of that name is not a dump.
  mkdirSync(join(d, '2026', 'enwiki-20261209-pages-articles.xml.bz2'));
  await assert.rejects(resolveNightSource({ pattern }, '20261209', o.open), NightSourceError);
  assert.equal(o.closed(), 3, 'every store opened is closed, on errors too');
});

test('newestUnder picks the newest object by modification time, skipping multistream index files', async () => {
  const d = fresh();
  put(join(d, 'enwiki-20261201-pages-articles.xml.bz2'), 3000);
  put(join(d, 'enwiki-20261205-pages-articles.xml.bz2'), 1000);
  put(join(d, 'enwiki-20261203-pages-articles.xml.bz2'), 2000);
  put(join(d, 'enwiki-20261206-pages-articles-multistream-index.txt.bz2'), 10); // newest, but an index
  put(join(d, 'enwiki-20261206-index.txt'), 10);
  const o = opener();
  assert.equal(await resolveNightSource({ newestUnder: d }, '20261207', o.open), `${d}/enwiki-20261205-pages-articles.xml.bz2`);
  // A trailing slash on the directory does not double up in the result.
  assert.equal(await resolveNightSource({ newestUnder: `${d}/` }, '20261207', o.open), `${d}/enwiki-20261205-pages-articles.xml.bz2`);
  // Newest by time, not by name: an older-named file written later wins.
  put(join(d, 'enwiki-20261130-pages-articles.xml.bz2'), 100);
  assert.equal(await resolveNightSource({ newestUnder: d }, '20261207', o.open), `${d}/enwiki-20261130-pages-articles.xml.bz2`);
  assert.equal(o.closed(), o.opened.length);
});

test('newestUnder honours match, looks in sub-directories, and breaks a time tie by name', async () => {
  const d = fresh();
  put(join(d, 'enwiki-20261205-pages-articles.xml.bz2'), 1000);
  put(join(d, 'notes.txt'), 10); // newest, but does not match
  put(join(d, 'old', 'enwiki-20261206-pages-articles.xml.bz2'), 500);
  const o = opener();
  const match = 'pages-articles\\.xml\\.bz2$';
  assert.equal(await resolveNightSource({ newestUnder: d }, '20261207', o.open), `${d}/notes.txt`);
  assert.equal(await resolveNightSource({ newestUnder: d, match }, '20261207', o.open), `${d}/old/enwiki-20261206-pages-articles.xml.bz2`);
  // match is tested against the file name, not the key: a pattern on the folder matches nothing.
  await assert.rejects(resolveNightSource({ newestUnder: d, match: '^old/' }, '20261207', o.open), NightSourceError);
  const t = join(d, 'tie');
  put(join(t, 'a-pages-articles.xml.bz2'), 50);
  put(join(t, 'b-pages-articles.xml.bz2'), 50);
  const same = Date.now() / 1000 - 50;
  utimesSync(join(t, 'a-pages-articles.xml.bz2'), same, same);
  utimesSync(join(t, 'b-pages-articles.xml.bz2'), same, same);
  assert.equal(await resolveNightSource({ newestUnder: t, match }, '20261207', o.open), `${t}/b-pages-articles.xml.bz2`);
});

test('newestUnder with nothing that matches, an empty or a missing directory is a NightSourceError', async () => {
  const d = fresh();
  put(join(d, 'enwiki-20261206-pages-articles-multistream-index.txt.bz2'), 10);
  put(join(d, 'README'), 10);
  const o = opener();
  await assert.rejects(resolveNightSource({ newestUnder: d, match: '\\.xml\\.bz2$' }, '20261207', o.open), /no dump under .* matches \\\.xml\\\.bz2\$/);
  await assert.rejects(resolveNightSource({ newestUnder: fresh() }, '20261207', o.open), (err: unknown) => err instanceof NightSourceError && /^no dump under \S+$/.test(err.message));
  await assert.rejects(resolveNightSource({ newestUnder: join(d, 'missing') }, '20261207', o.open), NightSourceError);
  assert.equal(o.closed(), 3);
});
