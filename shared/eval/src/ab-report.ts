import { aggregate, latencyStats, type Aggregate } from './aggregate.js';
import { exactMatch, normalizeAnswer } from './answer-metrics.js';
import { posteriorHeatmapSvg } from './heatmap.js';
import { escapeHtml, htmlTable, ms, page, pct, textTable } from './html.js';
import type { LatencySummary, QaRecord } from './qa-record.js';

/**
 * A/B of two QA runs over the same questions, typically two snapshots (a 2016 and a 2018 index): the paper's
 * index hot-swap experiment. With both years known, each run is scored against its own year's golds (matched)
 * and the other year's (crossed): a model that reads its index answers matched well and crossed badly.
 */

export interface AbArm {
  label: string;
  snapshot: string;
  /** The index's dump year; enables the matched/crossed table. */
  year?: string;
  records: readonly QaRecord[];
}

export interface AbReportInput {
  title: string;
  a: AbArm;
  b: AbArm;
  /** Questions to draw posterior heatmaps for (default 3). */
  samples?: number;
  /** Differing questions listed at most (default 200). */
  maxDiffs?: number;
}

export interface ArmSummary {
  label: string;
  snapshot: string;
  year?: string;
  scores: Aggregate;
  latency: LatencySummary | null;
}

export interface CrossCell {
  goldYear: string;
  matched: boolean;
  scores: Aggregate;
}

export interface AbDiff {
  id: string;
  question: string;
  a: QaRecord;
  b: QaRecord;
  emA: 0 | 1 | null;
  emB: 0 | 1 | null;
}

export interface TypeRow {
  type: string;
  n: number;
  a: Aggregate;
  b: Aggregate;
  /** Each arm scored against the other arm's year, when both years are known and differ. */
  crossed?: { a: Aggregate; b: Aggregate };
}

export interface AbComparison {
  arms: [ArmSummary, ArmSummary];
  /** [arm][gold year]: present when both arms have distinct years. */
  cross: [CrossCell[], CrossCell[]] | null;
  /** Per question type (world files), EM per arm against its matched gold (and the other year's: crossed). */
  byType: TypeRow[];
  /** Questions answered by both arms (paired by id). */
  paired: number;
  /** Paired questions whose normalised answers differ (or one arm failed). */
  diffs: AbDiff[];
}

/** The gold a record has for a year: gold_by_year first, else its own gold if that is the year's. */
export function goldForYear(r: QaRecord, year: string, armYear?: string): readonly string[] | undefined {
  const byYear = r.gold_by_year?.[year];
  if (byYear?.length) return byYear;
  const own = r.year ?? armYear;
  return own === year ? r.gold : undefined;
}

function emOf(r: QaRecord, gold: readonly string[] | undefined): 0 | 1 | null {
  if (gold?.length) return r.error !== undefined ? 0 : exactMatch(r.answer, gold);
  return r.error === undefined && r.em !== undefined ? r.em : null;
}

function armGold(arm: AbArm): (r: QaRecord) => readonly string[] | undefined {
  return (r) => (arm.year ? goldForYear(r, arm.year, arm.year) : r.gold);
}

export function compareAb(a: AbArm, b: AbArm): AbComparison {
  const summary = (arm: AbArm): ArmSummary => ({
    label: arm.label, snapshot: arm.snapshot, ...(arm.year ? { year: arm.year } : {}),
    scores: aggregate(arm.records, { gold: armGold(arm) }),
    latency: latencyStats(arm.records),
  });
  let cross: AbComparison['cross'] = null;
  if (a.year && b.year && a.year !== b.year) {
    const years = [a.year, b.year];
    const cells = (arm: AbArm): CrossCell[] =>
      years.map((y) => ({ goldYear: y, matched: y === arm.year, scores: aggregate(arm.records, { gold: (r) => goldForYear(r, y, arm.year) }) }));
    cross = [cells(a), cells(b)];
  }
  const types = new Map<string, { a: QaRecord[]; b: QaRecord[] }>();
  for (const [arm, key] of [[a, 'a'], [b, 'b']] as const) {
    for (const r of arm.records) {
      if (r.type === undefined) continue;
      const t = types.get(r.type) ?? { a: [], b: [] };
      t[key].push(r);
      types.set(r.type, t);
    }
  }
  const byType: TypeRow[] = [...types.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([type, t]) => ({
    type, n: Math.max(t.a.length, t.b.length),
    a: aggregate(t.a, { gold: armGold(a) }), b: aggregate(t.b, { gold: armGold(b) }),
    ...(cross ? {
      crossed: {
        a: aggregate(t.a, { gold: (r) => goldForYear(r, b.year!, a.year) }),
        b: aggregate(t.b, { gold: (r) => goldForYear(r, a.year!, b.year) }),
      },
    } : {}),
  }));
  const bById = new Map(b.records.map((r) => [r.id, r]));
  const diffs: AbDiff[] = [];
  let paired = 0;
  for (const ra of a.records) {
    const rb = bById.get(ra.id);
    if (!rb) continue;
    paired++;
    const failedOne = (ra.error === undefined) !== (rb.error === undefined);
    if (!failedOne && normalizeAnswer(ra.answer) === normalizeAnswer(rb.answer)) continue;
    diffs.push({ id: ra.id, question: ra.question, a: ra, b: rb, emA: emOf(ra, armGold(a)(ra)), emB: emOf(rb, armGold(b)(rb)) });
  }
  return { arms: [summary(a), summary(b)], cross, byType, paired, diffs };
}

function mark(em: 0 | 1 | null): string {
  return em === null ? '<span class="na">–</span>' : em ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>';
}

function golds(g: readonly string[] | undefined): string {
  return g?.length ? g.map(escapeHtml).join(' | ') : '<span class="na">—</span>';
}

function answerCell(r: QaRecord): string {
  return r.error !== undefined ? `<span class="err">error: ${escapeHtml(r.error)}</span>` : escapeHtml(r.answer || '∅');
}

function armHeading(arm: { label: string; snapshot: string; year?: string }, side: string): string {
  return `${side} · ${arm.label} · ${arm.snapshot}${arm.year ? ` (${arm.year})` : ''}`;
}

function barChart(arms: ArmSummary[]): string {
  const W = 460, H = 190, left = 40, bottom = 30, top = 16, barW = 46;
  const y = (v: number) => top + (H - top - bottom) * (1 - v);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/><text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${t * 100}</text>`);
  }
  arms.forEach((arm, i) => {
    const gx = left + 30 + i * 200;
    [['EM', arm.scores.em, '#2f6fb3'], ['F1', arm.scores.f1, '#e08a2c']].forEach(([name, v, color], j) => {
      const val = (v as number | null) ?? 0;
      const x = gx + j * (barW + 8);
      parts.push(`<rect class="bar" x="${x}" y="${y(val)}" width="${barW}" height="${y(0) - y(val)}" fill="${color}"><title>${escapeHtml(`${arm.label} ${name as string}: ${pct(v as number | null)}`)}</title></rect>`);
      parts.push(`<text x="${x + barW / 2}" y="${y(val) - 4}" font-size="11" text-anchor="middle">${pct(v as number | null)}</text>`);
      parts.push(`<text x="${x + barW / 2}" y="${H - bottom + 14}" font-size="11" text-anchor="middle">${name}</text>`);
    });
    parts.push(`<text x="${gx + barW + 4}" y="${H - 4}" font-size="12" font-weight="600" text-anchor="middle">${escapeHtml(arm.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function crossTable(cmp: AbComparison): string {
  if (!cmp.cross) return '';
  const years = cmp.cross[0].map((c) => c.goldYear);
  const rows = cmp.arms.map((arm, i) => ({ arm, side: i ? 'B' : 'A', cells: cmp.cross![i as 0 | 1] }));
  const cols = [
    { header: 'arm', cell: (r: (typeof rows)[number]) => escapeHtml(`${r.side} · ${r.arm.label}`) },
    { header: 'index', cell: (r: (typeof rows)[number]) => escapeHtml(`${r.arm.snapshot} (${r.arm.year})`) },
    ...years.flatMap((y, j) => [
      {
        header: `EM gold ${y}`, num: true,
        cell: (r: (typeof rows)[number]) => `${pct(r.cells[j]!.scores.em)} <span class="note">${r.cells[j]!.matched ? 'matched' : 'crossed'}</span>`,
        cls: (r: (typeof rows)[number]) => (r.cells[j]!.matched ? 'matched' : 'crossed'),
      },
      { header: `F1 gold ${y}`, num: true, cell: (r: (typeof rows)[number]) => pct(r.cells[j]!.scores.f1), cls: (r: (typeof rows)[number]) => (r.cells[j]!.matched ? 'matched' : 'crossed') },
      { header: `n ${y}`, num: true, cell: (r: (typeof rows)[number]) => String(r.cells[j]!.scores.scored) },
    ]),
  ];
  return `<h2>Matched vs crossed year</h2>
<p class="meta">Each run scored against its own index year's answers (matched) and the other year's (crossed).</p>
${htmlTable(rows, cols, { cls: 'cross' })}`;
}

export function renderAbReport(input: AbReportInput): string {
  const cmp = compareAb(input.a, input.b);
  const samples = input.samples ?? 3;
  const maxDiffs = input.maxDiffs ?? 200;
  const armRows = cmp.arms.map((arm, i) => ({ arm, side: i ? 'B' : 'A' }));
  const summary = htmlTable(armRows, [
    { header: 'arm', cell: (r) => r.side },
    { header: 'label', cell: (r) => escapeHtml(r.arm.label) },
    { header: 'snapshot', cell: (r) => escapeHtml(r.arm.snapshot) },
    { header: 'year', cell: (r) => escapeHtml(r.arm.year ?? '—') },
    { header: 'n', num: true, cell: (r) => String(r.arm.scores.n) },
    { header: 'failed', num: true, cell: (r) => String(r.arm.scores.failed) },
    { header: 'scored', num: true, cell: (r) => String(r.arm.scores.scored) },
    { header: 'EM', num: true, cell: (r) => pct(r.arm.scores.em) },
    { header: 'F1', num: true, cell: (r) => pct(r.arm.scores.f1) },
    { header: 'latency mean ms', num: true, cell: (r) => ms(r.arm.latency?.mean) },
    { header: 'p50 ms', num: true, cell: (r) => ms(r.arm.latency?.p50) },
    { header: 'p95 ms', num: true, cell: (r) => ms(r.arm.latency?.p95) },
  ], { cls: 'summary' });

  const byType = cmp.byType.length
    ? `<h2>By question type</h2>${htmlTable(cmp.byType, [
      { header: 'type', cell: (t) => escapeHtml(t.type) },
      { header: 'n', num: true, cell: (t) => String(t.n) },
      { header: `EM A`, num: true, cell: (t) => pct(t.a.em) },
      ...(cmp.cross ? [{ header: `EM A crossed`, num: true, cell: (t: TypeRow) => pct(t.crossed?.a.em ?? null), cls: () => 'crossed' }] : []),
      { header: `EM B`, num: true, cell: (t) => pct(t.b.em) },
      ...(cmp.cross ? [{ header: `EM B crossed`, num: true, cell: (t: TypeRow) => pct(t.crossed?.b.em ?? null), cls: () => 'crossed' }] : []),
      { header: `F1 A`, num: true, cell: (t) => pct(t.a.f1) },
      { header: `F1 B`, num: true, cell: (t) => pct(t.b.f1) },
    ], { cls: 'by-type' })}`
    : '';

  const goldA = armGold(input.a), goldB = armGold(input.b);
  const shown = cmp.diffs.slice(0, maxDiffs);
  const diffs = `<h2>Answers that differ (${cmp.diffs.length} of ${cmp.paired} paired)</h2>
${shown.length ? htmlTable(shown, [
    { header: '#', num: true, cell: (d) => String(d.a.index) },
    { header: 'question', cell: (d) => escapeHtml(d.question) },
    { header: `gold A${input.a.year ? ` (${input.a.year})` : ''}`, cell: (d) => golds(goldA(d.a)) },
    { header: `gold B${input.b.year ? ` (${input.b.year})` : ''}`, cell: (d) => golds(goldB(d.b)) },
    { header: `answer A`, cell: (d) => `${mark(d.emA)} ${answerCell(d.a)}` },
    { header: `answer B`, cell: (d) => `${mark(d.emB)} ${answerCell(d.b)}` },
  ], { cls: 'diffs' }) : '<p class="note">The two runs give the same normalised answer to every paired question.</p>'}
${cmp.diffs.length > shown.length ? `<p class="note">… and ${cmp.diffs.length - shown.length} more.</p>` : ''}`;

  // Heatmaps: differing questions first (that is where the index matters), then any paired question.
  const bById = new Map(input.b.records.map((r) => [r.id, r]));
  const picks: { a: QaRecord; b: QaRecord }[] = cmp.diffs.filter((d) => d.a.tokens.length || d.b.tokens.length).slice(0, samples);
  for (const ra of input.a.records) {
    if (picks.length >= samples) break;
    const rb = bById.get(ra.id);
    if (rb && !picks.some((p) => p.a.id === ra.id) && (ra.tokens.length || rb.tokens.length)) picks.push({ a: ra, b: rb });
  }
  const heatmaps = picks.length
    ? `<h2>Document posteriors per answer token</h2>
<p class="meta">Rows: retrieved passages (best first); columns: generated tokens; shade: p(passage | question, answer so far).</p>
${picks.map((p) => `<section class="sample"><h3>${escapeHtml(p.a.question)}</h3><div class="pair">
<div><div><b>A</b> ${answerCell(p.a)}</div>${posteriorHeatmapSvg({ docs: p.a.docs, tokens: p.a.tokens, posteriors: p.a.doc_posteriors, caption: armHeading(input.a, 'A') })}</div>
<div><div><b>B</b> ${answerCell(p.b)}</div>${posteriorHeatmapSvg({ docs: p.b.docs, tokens: p.b.tokens, posteriors: p.b.doc_posteriors, caption: armHeading(input.b, 'B') })}</div>
</div></section>`).join('\n')}`
    : '';

  const body = `<h1>${escapeHtml(input.title)}</h1>
<p class="meta">A: ${escapeHtml(armHeading(input.a, 'A').slice(4))} — B: ${escapeHtml(armHeading(input.b, 'B').slice(4))}</p>
<h2>Summary</h2>
${summary}
${barChart(cmp.arms)}
${crossTable(cmp)}
${byType}
${diffs}
${heatmaps}`;
  return page(input.title, body);
}

/** The A/B summary for a terminal: per-arm scores, then matched vs crossed by gold year (when years are known). */
export function formatAbTable(input: { a: AbArm; b: AbArm } | AbComparison): string {
  const cmp = 'arms' in input ? input : compareAb(input.a, input.b);
  const out: string[] = [];
  out.push(textTable(
    ['arm', 'label', 'snapshot', 'year', 'n', 'failed', 'EM', 'F1', 'p50 ms', 'p95 ms'],
    cmp.arms.map((arm, i) => [
      i ? 'B' : 'A', arm.label, arm.snapshot, arm.year ?? '-', String(arm.scores.n), String(arm.scores.failed),
      pct(arm.scores.em), pct(arm.scores.f1), ms(arm.latency?.p50), ms(arm.latency?.p95),
    ]),
    [false, false, false, false, true, true, true, true, true, true],
  ));
  if (cmp.cross) {
    const years = cmp.cross[0].map((c) => c.goldYear);
    out.push('');
    out.push('EM by gold year (matched = the index year\'s own answers, crossed = the other year\'s)');
    out.push(textTable(
      ['index', ...years.map((y) => `gold ${y}`)],
      cmp.arms.map((arm, i) => [
        `${i ? 'B' : 'A'} ${arm.snapshot} (${arm.year})`,
        ...cmp.cross![i as 0 | 1].map((c) => `${pct(c.scores.em)} ${c.matched ? 'matched' : 'crossed'}`),
      ]),
      [false, ...years.map(() => true)],
    ));
  }
  if (cmp.byType.length > 1 || (cmp.byType.length === 1 && cmp.cross)) {
    out.push('');
    out.push(cmp.cross ? 'EM by question type (matched / crossed)' : 'EM by question type');
    const cell = (m: Aggregate, c: Aggregate | undefined) => (c ? `${pct(m.em)} / ${pct(c.em)}` : pct(m.em));
    out.push(textTable(
      ['type', 'n', `A ${cmp.arms[0].snapshot}`, `B ${cmp.arms[1].snapshot}`],
      cmp.byType.map((t) => [t.type, String(t.n), cell(t.a, t.crossed?.a), cell(t.b, t.crossed?.b)]),
      [false, true, true, true],
    ));
  }
  out.push('');
  out.push(`${cmp.diffs.length} of ${cmp.paired} paired questions answered differently`);
  return out.join('\n');
}
