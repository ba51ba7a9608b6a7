import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareAb, formatAbTable, renderAbReport, type AbArm } from './ab-report.js';
import { normalizeAnswer } from './answer-metrics.js';
import { htmlToPng, renderedDom } from './chromium.js';
import { countColor, decodePng, imageStats } from './png.js';
import { bodyRows, count, headers, stripTags, tableByClass } from './testing/html-scrape.js';
import { worldQuestions, worldRecords, type PlannedRecord } from './testing/world-records.js';

const N = 48;
const questions = worldQuestions(N);
// One hostile question text, to prove every path escapes.
questions[2] = { ...questions[2]!, question: `Who leads <script>document.title="pwned"</script> & "Co"?` };
const plannedA = worldRecords(questions, { snapshot: 'w7-2016', year: '2016', correctShare: 0.75, failEvery: 12, k: 5 });
const plannedB = worldRecords(questions, { snapshot: 'w7-2018', year: '2018', correctShare: 0.6, failEvery: 0, k: 5 });
const a: AbArm = { label: '2016 index', snapshot: 'w7-2016', year: '2016', records: plannedA.map((p) => p.record) };
const b: AbArm = { label: '2018 index', snapshot: 'w7-2018', year: '2018', records: plannedB.map((p) => p.record) };
const MAX_DIFFS = 6;
const html = renderAbReport({ title: 'World 7: <2016> vs 2018 & co', a, b, samples: 2, maxDiffs: MAX_DIFFS });

const pct = (n: number, d: number) => ((100 * n) / d).toFixed(1);
const right = (p: PlannedRecord[]) => p.filter((x) => x.answeredGold).length;
// Right against the other year's gold: the answer given is also an answer of that year.
const rightIn = (p: PlannedRecord[], year: '2016' | '2018') => p.filter((x) => !x.record.error && questions[x.record.index]!.answers[year]!.includes(x.record.answer)).length;
const differing = plannedA.filter((x, i) => {
  const y = plannedB[i]!.record;
  return (x.record.error === undefined) !== (y.error === undefined) || normalizeAnswer(x.record.answer) !== normalizeAnswer(y.answer);
});

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'rag-eval-ab-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

describe('A/B report', () => {
  it('summarises each arm with EM/F1, failures and latency', () => {
    const rows = bodyRows(tableByClass(html, 'summary'));
    const h = headers(tableByClass(html, 'summary')).map(stripTags);
    const col = (name: string) => h.indexOf(name);
    assert.equal(rows.length, 2);
    assert.equal(stripTags(rows[0]![col('snapshot')]!), 'w7-2016');
    assert.equal(rows[0]![col('failed')], '4');
    assert.equal(rows[1]![col('failed')], '0');
    assert.equal(rows[0]![col('EM')], pct(right(plannedA), N));
    assert.equal(rows[1]![col('EM')], pct(right(plannedB), N));
    const lat = a.records.filter((r) => !r.error).map((r) => r.latency_ms).sort((x, y) => x - y);
    const fmt = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
    assert.equal(rows[0]![col('p50 ms')], fmt(lat[Math.ceil(lat.length / 2) - 1]!));
    assert.equal(rows[0]![col('p95 ms')], fmt(lat[Math.ceil(lat.length * 0.95) - 1]!));
  });

  it('scores each arm matched and crossed by gold year', () => {
    const rows = bodyRows(tableByClass(html, 'cross'));
    assert.deepEqual(headers(tableByClass(html, 'cross')).map(stripTags).slice(2), ['EM gold 2016', 'F1 gold 2016', 'n 2016', 'EM gold 2018', 'F1 gold 2018', 'n 2018']);
    const em = (r: string[], j: number) => stripTags(r[j]!).split(' ')[0];
    assert.equal(em(rows[0]!, 2), pct(right(plannedA), N)); // A, gold 2016: matched
    assert.equal(em(rows[0]!, 5), pct(rightIn(plannedA, '2018'), N)); // A, gold 2018: crossed
    assert.equal(em(rows[1]!, 2), pct(rightIn(plannedB, '2016'), N));
    assert.equal(em(rows[1]!, 5), pct(right(plannedB), N));
    assert.match(rows[0]![2]!, /matched/);
    assert.match(rows[0]![5]!, /crossed/);
    // Changing questions make the crossed cells worse than the matched ones, as in the paper.
    assert.ok(rightIn(plannedA, '2018') < right(plannedA) && rightIn(plannedB, '2016') < right(plannedB));
    const cmp = compareAb(a, b);
    assert.equal(cmp.cross![0][1]!.scores.em, rightIn(plannedA, '2018') / N);
  });

  it('lists the questions whose answers differ, with golds and EM marks', () => {
    assert.ok(differing.length > MAX_DIFFS);
    assert.match(html, new RegExp(`Answers that differ \\(${differing.length} of ${N} paired\\)`));
    const rows = bodyRows(tableByClass(html, 'diffs'));
    assert.equal(rows.length, MAX_DIFFS);
    assert.match(html, new RegExp(`and ${differing.length - MAX_DIFFS} more`));
    rows.forEach((cells, i) => {
      const pa = differing[i]!, pb = plannedB[pa.record.index]!;
      assert.equal(cells[0], String(pa.record.index));
      assert.equal(stripTags(cells[2]!), questions[pa.record.index]!.answers['2016']!.join(' | '));
      assert.match(cells[4]!, pa.answeredGold ? /class="ok">✓/ : /class="bad">✗/);
      assert.match(cells[5]!, pb.answeredGold ? /class="ok">✓/ : /class="bad">✗/);
    });
  });

  it('draws one heatmap cell per token and retrieved doc for the sampled questions', () => {
    const picks = differing.filter((x) => x.record.tokens.length || plannedB[x.record.index]!.record.tokens.length).slice(0, 2);
    const expected = picks.reduce((s, x) => s + x.record.tokens.length * x.record.docs.length
      + plannedB[x.record.index]!.record.tokens.length * plannedB[x.record.index]!.record.docs.length, 0);
    assert.ok(expected > 10);
    assert.equal(count(html, 'class="hm-cell"'), expected);
    assert.equal(count(html, '<section class="sample">'), 2);
  });

  it('escapes every piece of text', () => {
    assert.match(html, /<title>World 7: &lt;2016&gt; vs 2018 &amp; co<\/title>/);
    assert.ok(!html.includes('<script>'), 'raw script tag in report');
    assert.ok(!html.includes('<history>'));
    assert.ok(html.includes('&lt;history&gt; &amp; &quot;politics&quot;'));
  });

  it('formats the terminal table with matched and crossed cells', () => {
    const t = formatAbTable({ a, b });
    assert.match(t, new RegExp(`A w7-2016 \\(2016\\)\\s+${pct(right(plannedA), N)} matched\\s+${pct(rightIn(plannedA, '2018'), N)} crossed`));
    assert.match(t, new RegExp(`B w7-2018 \\(2018\\)\\s+${pct(rightIn(plannedB, '2016'), N)} crossed\\s+${pct(right(plannedB), N)} matched`));
    assert.match(t, new RegExp(`${differing.length} of ${N} paired questions answered differently`));
    assert.equal(formatAbTable(compareAb(a, b)), t);
    // Without years: no crossed section.
    assert.doesNotMatch(formatAbTable({ a: { ...a, year: undefined }, b: { ...b, year: undefined } }), /crossed/);
  });

  it('scores each question type matched and crossed (type changing is the paper\'s experiment), in the report, the terminal and the comparison', () => {
    const cmp = compareAb(a, b);
    const types = [...new Set(questions.map((q) => q.type))].sort();
    assert.deepEqual(cmp.byType.map((t) => t.type), types);
    assert.ok(types.length >= 2, `the fixture should mix question types, got ${types.join(',')}`);
    const terminal = formatAbTable(cmp);
    assert.match(terminal, /EM by question type \(matched \/ crossed\)/);
    const rows = bodyRows(tableByClass(html, 'by-type')).map((r) => r.map(stripTags));
    assert.deepEqual(headers(tableByClass(html, 'by-type')).map(stripTags), ['type', 'n', 'EM A', 'EM A crossed', 'EM B', 'EM B crossed', 'F1 A', 'F1 B']);
    for (const type of types) {
      const of = (p: PlannedRecord[]) => p.filter((x) => questions[x.record.index]!.type === type);
      const [pa, pb] = [of(plannedA), of(plannedB)];
      const n = pa.length;
      const want = [pct(right(pa), n), pct(rightIn(pa, '2018'), n), pct(right(pb), n), pct(rightIn(pb, '2016'), n)];
      const t = cmp.byType.find((x) => x.type === type)!;
      assert.equal(t.n, n);
      assert.deepEqual([t.a.em, t.crossed!.a.em, t.b.em, t.crossed!.b.em].map((v) => (100 * v!).toFixed(1)), want, type);
      const row = rows.find((r) => r[0] === type)!;
      assert.deepEqual(row.slice(1, 6), [String(n), ...want], type);
      assert.match(terminal, new RegExp(`${type}\\s+${n}\\s+${want[0]} / ${want[1]}\\s+${want[2]} / ${want[3]}`));
    }
  });

  it('renders in headless Chromium: DOM rows and a screenshot that shows the tables and bars', async () => {
    const path = join(dir, 'ab.html');
    await writeFile(path, html);
    const dom = await renderedDom(path);
    assert.match(dom, /<title>World 7: &lt;2016&gt; vs 2018 &amp; co<\/title>/); // the hostile question did not run
    assert.equal(bodyRows(tableByClass(dom, 'diffs')).length, MAX_DIFFS);
    assert.equal(count(dom, /<rect class="hm-cell"/), count(html, 'class="hm-cell"'));
    const png = join(dir, 'ab.png');
    const info = await htmlToPng(path, png, { width: 1300, height: 1000 });
    assert.deepEqual([info.width, info.height, info.path], [1300, 1000, png]);
    const img = decodePng(await readFile(png));
    const stats = imageStats(img);
    assert.ok(stats.distinctColors > 50, JSON.stringify(stats));
    assert.ok(stats.inkFraction > 0.03 && stats.inkFraction < 0.9, JSON.stringify(stats));
    assert.ok(countColor(img, { r: 0x2f, g: 0x6f, b: 0xb3 }) > 500, 'EM bars not drawn');
    assert.ok(countColor(img, { r: 0xe8, g: 0xf4, b: 0xea }) > 500, 'matched cells not shaded');
  });
});
