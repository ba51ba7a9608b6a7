import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { htmlToPng, renderedDom } from './chromium.js';
import { renderExplain } from './explain.js';
import { posteriorColor } from './heatmap.js';
import { countColor, decodePng } from './png.js';
import { bodyRows, count, tableByClass } from './testing/html-scrape.js';
import { worldQuestions, worldRecords } from './testing/world-records.js';

const planned = worldRecords(worldQuestions(12), { snapshot: 'w7-2018', year: '2018', correctShare: 0.7, failEvery: 5, k: 6 });
const record = planned.find((p) => p.answeredGold && p.record.tokens.length >= 2)!.record;
const failed = planned.find((p) => p.record.error)!.record;

describe('explain report', () => {
  it('shows the answer, the passages with scores and mean posteriors, and a cell per token x doc', () => {
    const html = renderExplain(record, { passages: { [record.docs[0]!.id]: 'The <b>prime</b> minister & cabinet' } });
    assert.match(html, new RegExp(`<p class="answer">${record.answer}</p>`));
    const rows = bodyRows(tableByClass(html, 'passages'));
    assert.equal(rows.length, 6);
    rows.forEach((cells, i) => {
      const d = record.docs[i]!;
      assert.equal(cells[0], String(i + 1));
      assert.equal(cells[2], d.id);
      assert.equal(cells[3], d.score.toFixed(3));
      const mean = record.doc_posteriors.reduce((s, row) => s + row[i]!, 0) / record.tokens.length;
      assert.equal(cells[4], mean.toFixed(3));
    });
    assert.ok(html.includes('The &lt;b&gt;prime&lt;/b&gt; minister &amp; cabinet'));
    assert.ok(html.includes('&lt;history&gt; &amp; &quot;politics&quot;'));
    assert.equal(count(html, 'class="hm-cell"'), record.tokens.length * record.docs.length);
    assert.match(html, /<span class="ok">✓ 1<\/span>/);
  });

  it('explains a failure without posteriors', () => {
    const html = renderExplain(failed);
    assert.match(html, /class="err">failed: generator: output has NaN logits/);
    assert.equal(count(html, 'class="hm-cell"'), 0);
    assert.match(html, /no posteriors recorded/);
    assert.match(html, /<span class="bad">✗ 0<\/span>/);
  });

  it('renders in Chromium with the heatmap visible in its posterior shades', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-eval-explain-'));
    try {
      const path = join(dir, 'explain.html');
      await writeFile(path, renderExplain(record));
      const dom = await renderedDom(path);
      assert.equal(count(dom, /<rect class="hm-cell"/), record.tokens.length * record.docs.length);
      const info = await htmlToPng(path, join(dir, 'explain.png'), { width: 1000, height: 1300 });
      assert.deepEqual([info.width, info.height], [1000, 1300]);
      const img = decodePng(await readFile(info.path));
      // The strongest cell's exact shade covers most of a 30 px cell (minus its 1 px stroke and value label).
      const top = Math.max(...record.doc_posteriors.flat());
      assert.ok(top > 0.5);
      const px = countColor(img, posteriorColor(top), 1);
      assert.ok(px > 300, `found ${px} pixels of ${posteriorColor(top).css}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
