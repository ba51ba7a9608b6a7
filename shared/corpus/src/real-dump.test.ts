import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { sha256File } from '@rag/core';
import { readPassages } from './read-corpus.js';
import { createReadStats } from './read-stats.js';
import { readWikiXml } from './wiki-xml-reader.js';

/** The real 2016 enwiki sample kept beside the repository (never copied into it). */
const DUMP = '/work/shared/data/wikipedia/enwiki-2016-sample.xml.bz2';
const skip = existsSync(DUMP) ? false : `real dump not found at ${DUMP}; copy enwiki-2016-sample.xml.bz2 there to run this test`;

const ARTEFACTS = ['{{', '}}', '[[', ']]', '<ref', '</ref', '{|', '|}', '&amp;', '&nbsp;', '&quot;', '__TOC__', "'''"];

test('real enwiki dump: clean articles, redirects skipped, thousands of passages', { skip }, async (t) => {
  const stats = createReadStats();
  const t0 = performance.now();
  const titles = new Map<string, string>();
  for await (const doc of readWikiXml(DUMP, { stats })) {
    assert.ok(!titles.has(doc.pageId), `page id ${doc.pageId} appears twice`);
    titles.set(doc.pageId, doc.title);
    for (const a of ARTEFACTS) {
      const at = doc.text.indexOf(a);
      assert.equal(at, -1, `${doc.title}: markup ${JSON.stringify(a)} left in "${doc.text.slice(Math.max(0, at - 40), at + 40)}"`);
    }
    if (doc.title === 'Albedo') {
      assert.match(doc.text, /^Albedo or reflection coefficient, derived from Latin albedo "whiteness"/);
      assert.doesNotMatch(doc.text, /Albedo-e hg\.svg|cite web|heat island/, 'image, citation and table contents gone');
    }
  }
  const docMs = performance.now() - t0;
  assert.ok([...titles.values()].includes('Albedo'), 'the Albedo article is present');
  assert.ok(![...titles.values()].includes('AccessibleComputing'), 'the AccessibleComputing redirect is skipped');
  assert.ok(stats.skippedRedirects >= 90, `redirects skipped: ${stats.skippedRedirects}`);
  assert.ok(stats.skippedNonArticle >= 1, 'the project-namespace page is skipped');
  assert.equal(stats.documents + stats.skippedRedirects + stats.skippedNonArticle + stats.skippedEmpty, 206, 'every page accounted for');
  assert.equal(stats.sourceSha256, await sha256File(DUMP));

  const pStats = createReadStats();
  const t1 = performance.now();
  let passages = 0;
  const ids = new Set<string>();
  let albedo0 = '';
  for await (const p of readPassages(DUMP, { stats: pStats })) {
    passages++;
    assert.ok(!ids.has(p.id), `duplicate passage id ${p.id}`);
    ids.add(p.id);
    if (p.id === '39-0') albedo0 = p.text;
    const words = p.text.split(' ').length;
    assert.ok(words >= 1 && words <= 100, `${p.id} has ${words} words`);
  }
  const passMs = performance.now() - t1;
  assert.ok(passages >= 2000, `only ${passages} passages`);
  assert.equal(albedo0.split(' ').length, 100);
  assert.ok(albedo0.startsWith('Albedo or reflection coefficient'));

  t.diagnostic(
    `pages=${stats.documents} redirects=${stats.skippedRedirects} nonArticle=${stats.skippedNonArticle} ` +
      `empty=${stats.skippedEmpty} passages=${passages} docsMs=${docMs.toFixed(0)} passagesMs=${passMs.toFixed(0)} ` +
      `peakRssMiB=${(process.resourceUsage().maxRSS / 1024).toFixed(0)}`,
  );
});
