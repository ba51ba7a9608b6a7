import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { armName, compareAb, formatAbTable, renderAbReport, type AbArm } from './ab-report.js';
import { CROSSED_COLOR, MATCHED_COLOR } from './matched-crossed-chart.js';
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

const hex = (c: string) => ({ r: parseInt(c.slice(1, 3), 16), g: parseInt(c.slice(3, 5), 16), b: parseInt(c.slice(5, 7), 16) });
const norm = (xs: readonly string[]) => new Set(xs.map(normalizeAnswer));
// The paper's experiment, counted from the fixture: single-fact ('changing') questions whose golds share nothing.
const inPaper = questions.map((q) => q.type === 'changing' && ![...norm(q.answers['2016']!)].some((x) => norm(q.answers['2018']!).has(x)));
const paperOnly = (p: PlannedRecord[]) => p.filter((x) => inPaper[x.record.index]);
const nPaper = inPaper.filter(Boolean).length;
const expectPaper = {
  a: { matched: right(paperOnly(plannedA)) / nPaper, crossed: rightIn(paperOnly(plannedA), '2018') / nPaper },
  b: { matched: right(paperOnly(plannedB)) / nPaper, crossed: rightIn(paperOnly(plannedB), '2016') / nPaper },
};

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
    assert.deepEqual(headers(tableByClass(html, 'cross')).map(stripTags).slice(1), ['EM gold 2016', 'F1 gold 2016', 'n 2016', 'EM gold 2018', 'F1 gold 2018', 'n 2018']);
    const em = (r: string[], j: number) => stripTags(r[j]!).split(' ')[0];
    assert.equal(stripTags(rows[0]![0]!), 'A · 2016 index → w7-2016 (2016)');
    assert.equal(em(rows[0]!, 1), pct(right(plannedA), N)); // A, gold 2016: matched
    assert.equal(em(rows[0]!, 4), pct(rightIn(plannedA, '2018'), N)); // A, gold 2018: crossed
    assert.equal(em(rows[1]!, 1), pct(rightIn(plannedB, '2016'), N));
    assert.equal(em(rows[1]!, 4), pct(right(plannedB), N));
    assert.match(rows[0]![1]!, /matched/);
    assert.match(rows[0]![4]!, /crossed/);
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

  /**
   * The matched and crossed bars in the screenshot cover the area their values say: each bar is 36 px wide
   * and 200 px tall at 100% (matched-crossed-chart.ts), plus a 12x12 legend square per colour. Edges may be
   * anti-aliased, so one row of pixels per bar is allowed.
   */
  function assertBarsDrawn(img: ReturnType<typeof decodePng>): void {
    const cmp = compareAb(a, b);
    const others = cmp.byType.filter((x) => x.type !== 'changing');
    const matched = [expectPaper.a.matched, expectPaper.b.matched, ...others.flatMap((x) => [x.a.em!, x.b.em!])];
    const crossed = [expectPaper.a.crossed, expectPaper.b.crossed, ...others.flatMap((x) => [x.crossed!.a.em!, x.crossed!.b.em!])];
    for (const [color, vals] of [[MATCHED_COLOR, matched], [CROSSED_COLOR, crossed]] as const) {
      const want = vals.reduce((s, v) => s + 36 * 200 * v, 0) + 144;
      const got = countColor(img, hex(color), 6);
      assert.ok(Math.abs(got - want) <= 36 * vals.length + 40, `${color}: ${got} pixels, bars say ${Math.round(want)}`);
    }
  }

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
    assert.ok(stats.inkFraction > 0.03 && stats.inkFraction < 0.9, JSON.stringify(stats));
    // The chart ends above 900 px (next test): every bar is on this 1000-px screenshot at its full height.
    assertBarsDrawn(img);
    assert.ok(countColor(img, { r: 0xe8, g: 0xf4, b: 0xea }) > 500, 'matched cells not shaded');
  });

  it("leads with the paper's experiment: changed single-fact questions only, matched and crossed per index, the paper's figures beside", () => {
    assert.ok(nPaper >= 5 && nPaper < N, `the fixture should mix other questions in (paper ${nPaper} of ${N})`);
    const cmp = compareAb(a, b);
    assert.equal(cmp.paper!.n, nPaper);
    assert.deepEqual(cmp.paper!.excludedTypes, [...new Set(questions.map((q) => q.type).filter((t) => t !== 'changing'))].sort());
    assert.deepEqual([cmp.paper!.arms[0].matched.em, cmp.paper!.arms[0].crossed.em, cmp.paper!.arms[1].matched.em, cmp.paper!.arms[1].crossed.em],
      [expectPaper.a.matched, expectPaper.a.crossed, expectPaper.b.matched, expectPaper.b.crossed]);
    // The first section is the paper's experiment; the all-questions numbers come after it.
    const h2 = [...html.matchAll(/<h2>([\s\S]*?)<\/h2>/g)].map((m) => stripTags(m[1]!));
    assert.match(h2[0]!, /^The paper's experiment: index hot-swap \(Lewis et al\. 2020, section 4\.5\)/);
    assert.equal(h2[1], `All ${N} questions of this run`);
    const rows = bodyRows(tableByClass(html, 'headline')).map((r) => r.map(stripTags));
    // [label, A ours, A paper, B ours, B paper]: th then four tds.
    assert.deepEqual(rows.map((r) => r.map((c) => c.split(' ')[0])), [
      [`${pct(expectPaper.a.matched * nPaper, nPaper)}%`, '70%', `${pct(expectPaper.b.matched * nPaper, nPaper)}%`, '68%'],
      [`${pct(expectPaper.a.crossed * nPaper, nPaper)}%`, '4%', `${pct(expectPaper.b.crossed * nPaper, nPaper)}%`, '12%'],
    ]);
    assert.match(html, /<th>matched year<\/th>/);
    assert.match(html, /<b>Matched<\/b>: each index scored against its own year's answers/);
    assert.match(html, /<b>Crossed<\/b>: each index scored against the other year's answers/);
    // The terminal says the same first.
    const t = formatAbTable(cmp).split('\n');
    assert.match(t[0]!, new RegExp(`^The paper's experiment \\(Lewis et al\\. 2020, section 4\\.5, index hot-swap\\): ${nPaper} single-fact questions whose answer changed`));
    const line = (kind: string) => t.find((l) => l.startsWith(kind))!;
    assert.match(line('matched'), new RegExp(`${pct(expectPaper.a.matched * nPaper, nPaper)}% of ${nPaper}\\s+${pct(expectPaper.b.matched * nPaper, nPaper)}% of ${nPaper}\\s+70% / 68%$`));
    assert.match(line('crossed'), new RegExp(`${pct(expectPaper.a.crossed * nPaper, nPaper)}% of ${nPaper}\\s+${pct(expectPaper.b.crossed * nPaper, nPaper)}% of ${nPaper}\\s+4% / 12%$`));
    assert.ok(t.findIndex((l) => l.startsWith('All 48 questions')) > t.findIndex((l) => l.startsWith('crossed')));
  });

  it('draws matched vs crossed as the first chart: the experiment, then each other type, with the paper marked', () => {
    const firstSvg = html.indexOf('<svg');
    assert.equal(firstSvg, html.indexOf('<svg xmlns="http://www.w3.org/2000/svg" class="matched-crossed"'));
    assert.ok(firstSvg < html.indexOf('class="summary"'), 'chart before the all-questions table');
    const values = (kind: string) => [...html.matchAll(new RegExp(`class="bar ${kind}" data-value="([^"]*)"`, 'g'))].map((m) => Number(m[1]));
    const cmp = compareAb(a, b);
    const others = cmp.byType.filter((x) => x.type !== 'changing');
    assert.deepEqual(values('matched'), [expectPaper.a.matched, expectPaper.b.matched, ...others.flatMap((x) => [x.a.em, x.b.em])]);
    assert.deepEqual(values('crossed'), [expectPaper.a.crossed, expectPaper.b.crossed, ...others.flatMap((x) => [x.crossed!.a.em, x.crossed!.b.em])]);
    assert.deepEqual([...html.matchAll(/class="paper" data-value="([^"]*)"/g)].map((m) => Number(m[1])), [0.7, 0.04, 0.68, 0.12]);
    assert.equal(count(html, 'class="bar matched"'), 2 * (1 + others.length));
  });

  it('names each arm once: side, what was asked for (when it differs) and snapshot', () => {
    assert.equal(armName({ label: 'A: w7-2016', snapshot: 'w7-2016', year: '2016' }, 'A'), 'A · w7-2016 (2016)');
    assert.equal(armName({ label: 'w7-2016', snapshot: 'w7-2016' }, 'A'), 'A · w7-2016');
    assert.equal(armName({ label: 'prod', snapshot: 'w7-2018', year: '2018' }, 'B'), 'B · prod → w7-2018 (2018)');
    for (const [la, lb] of [['A: w7-2016', 'B: w7-2018'], ['w7-2016', 'w7-2018']]) {
      const r = renderAbReport({ title: 't', a: { ...a, label: la! }, b: { ...b, label: lb! } });
      assert.match(r, /<p class="meta">A · w7-2016 \(2016\) — B · w7-2018 \(2018\)<\/p>/);
      assert.ok(!/A: A:|B: B:|w7-2016 · w7-2016|w7-2018 · w7-2018/.test(r + formatAbTable({ a: { ...a, label: la! }, b: { ...b, label: lb! } })), 'a doubled label');
    }
  });

  it("screenshot of the first screen (headless Chromium): the experiment's table and chart in view, bars as tall as their numbers", async () => {
    const W = 1300, H = 900;
    const path = join(dir, 'first-screen.html');
    await writeFile(path, html);
    // Layout, measured by the browser: both must end above the fold of a 1300x900 window.
    const probe = join(dir, 'first-screen-probe.html');
    await writeFile(probe, html.replace('</body>', `<script>for (const [k, s] of [['table', 'table.headline'], ['chart', 'svg.matched-crossed'], ['summary', 'table.summary']]) { const r = document.querySelector(s).getBoundingClientRect(); document.body.setAttribute('data-' + k, [r.left, r.top, r.right, r.bottom].map(Math.round).join(',')); }</script></body>`));
    const dom = await renderedDom(probe, { });
    const box = (k: string) => (new RegExp(`data-${k}="([-\\d,]+)"`).exec(dom)?.[1] ?? '').split(',').map(Number);
    const [table, chart, summary] = [box('table'), box('chart'), box('summary')];
    assert.equal(chart.length, 4, 'the probe measured the chart');
    assert.ok(table[3]! <= H && chart[3]! <= H && chart[2]! <= W, `headline ${table} and chart ${chart} within ${W}x${H}`);
    assert.ok(table[1]! < chart[1]! && chart[3]! <= summary[1]!, 'headline table, then chart, then the all-questions table');
    const png = join(dir, 'first-screen.png');
    await htmlToPng(path, png, { width: W, height: H });
    const img = decodePng(await readFile(png));
    assertBarsDrawn(img);
    // The paper's dashed marks and the headline cells' shading are on screen too.
    assert.ok(countColor(img, { r: 0xe8, g: 0xf4, b: 0xea }) > 500, 'matched headline cells not shaded');
    assert.ok(countColor(img, { r: 0xfb, g: 0xea, b: 0xea }) > 500, 'crossed headline cells not shaded');
  });
});
