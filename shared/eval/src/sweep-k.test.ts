import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { aggregate, latencyStats } from './aggregate.js';
import { htmlToPng, renderedDom } from './chromium.js';
import { countColor, decodePng, imageStats } from './png.js';
import { formatSweepTable, renderSweepK, type SweepRow } from './sweep-k.js';
import { bodyRows, count, tableByClass } from './testing/html-scrape.js';
import { worldQuestions, worldRecords } from './testing/world-records.js';

// One run per K over the same 40 questions; more passages, more often right (as in the paper's Figure 3).
const questions = worldQuestions(40);
const SHARES: Record<number, number> = { 1: 0.3, 2: 0.42, 5: 0.55, 10: 0.62, 20: 0.66, 50: 0.64 };
const rows: SweepRow[] = [20, 1, 50, 5, 2, 10].map((k) => {
  const recs = worldRecords(questions, { snapshot: `w7-2016-k${k}`, year: '2016', correctShare: SHARES[k]!, failEvery: 0, k }).map((p) => p.record);
  const a = aggregate(recs);
  return { k, em: a.em, f1: a.f1, n: a.n, latencyMs: latencyStats(recs)!.mean };
});
const byK = [...rows].sort((x, y) => x.k - y.k);

describe('sweep-K', () => {
  it('terminal table lists every K in order with EM/F1 in percent', () => {
    const t = formatSweepTable(rows).split('\n');
    assert.match(t[0]!, /^\s*K\s+n\s+EM\s+F1\s+latency ms$/);
    assert.equal(t.length, 2 + rows.length);
    byK.forEach((r, i) => {
      const cells = t[2 + i]!.trim().split(/\s+/);
      assert.deepEqual(cells.slice(0, 4), [String(r.k), '40', (r.em! * 100).toFixed(1), (r.f1! * 100).toFixed(1)]);
    });
  });

  it('HTML: table rows, one point per K per series, best K named, higher EM drawn higher', async () => {
    const html = renderSweepK({ snapshot: 'w7-2016 <test>', rows, mode: 'rag-token' });
    assert.ok(html.includes('w7-2016 &lt;test&gt;') && !html.includes('<test>'));
    const table = bodyRows(tableByClass(html, 'sweep'));
    assert.deepEqual(table.map((r) => r[0]), byK.map((r) => String(r.k)));
    assert.equal(count(html, 'class="pt em"'), rows.length);
    assert.equal(count(html, 'class="pt f1"'), rows.length);
    assert.equal(count(html, 'class="pt lat"'), rows.length);
    const best = byK.reduce((b, r) => (r.em! > b.em! ? r : b));
    assert.match(html, new RegExp(`best EM ${(best.em! * 100).toFixed(1)} at K=${best.k}`));
    // SVG y grows downwards: the point of the best EM sits highest.
    const ys = [...html.matchAll(/<circle class="pt em" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(ys.length, rows.length);
    assert.equal(Math.min(...ys), ys[byK.indexOf(best)]);
    assert.match(html, /log scale/);

    const dir = await mkdtemp(join(tmpdir(), 'rag-eval-sweep-'));
    try {
      const path = join(dir, 'sweep.html');
      await writeFile(path, html);
      const dom = await renderedDom(path);
      assert.equal(bodyRows(tableByClass(dom, 'sweep')).length, rows.length);
      const info = await htmlToPng(path, join(dir, 'sweep.png'), { width: 1200, height: 700 });
      assert.deepEqual([info.width, info.height], [1200, 700]);
      const img = decodePng(await readFile(info.path));
      assert.ok(imageStats(img).distinctColors > 30);
      // The markers' solid interiors are drawn in the series colours.
      assert.ok(countColor(img, { r: 0x2f, g: 0x6f, b: 0xb3 }) > 60, 'EM series missing');
      assert.ok(countColor(img, { r: 0xe0, g: 0x8a, b: 0x2c }) > 60, 'F1 series missing');
      assert.ok(countColor(img, { r: 0x6a, g: 0x4c, b: 0x93 }) > 60, 'latency series missing');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('copes with a single K and with unscored runs', () => {
    const html = renderSweepK({ snapshot: 's', rows: [{ k: 5, em: null, f1: null, n: 10, latencyMs: 12 }] });
    assert.equal(count(html, 'class="pt em"'), 0);
    assert.equal(count(html, 'class="pt lat"'), 1);
    assert.ok(!html.includes('NaN'));
    assert.match(formatSweepTable([{ k: 5, em: null, f1: null, n: 10, latencyMs: null }]), /5\s+10\s+—\s+—\s+—/);
  });
});
