import { aggregate, latencyStats, type Aggregate } from './aggregate.js';
import { exactMatch, normalizeAnswer } from './answer-metrics.js';
import { posteriorHeatmapSvg } from './heatmap.js';
import { escapeHtml, htmlTable, ms, page, pct, textTable } from './html.js';
import { goldForYear } from './gold-year.js';
import { matchedCrossedChart, type ChartGroup } from './matched-crossed-chart.js';
import { findPaperExperiment, PAPER_CITATION, PAPER_QUESTION_TYPE, type PaperArm, type PaperExperiment } from './paper-experiment.js';
import type { LatencySummary, QaRecord } from './qa-record.js';
import { formatTaskMetric, summarizeTask, TASK_METRICS, TASK_NAMES, type TaskSummary } from './task-metrics.js';

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
  /** The paper's other tasks (MS-MARCO, Jeopardy, FEVER): this arm's task metrics. */
  task?: TaskSummary;
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
  /** The paper's index hot-swap experiment on the questions that test it; null without two distinct years. */
  paper: PaperExperiment | null;
  /** [arm][gold year]: present when both arms have distinct years. */
  cross: [CrossCell[], CrossCell[]] | null;
  /** Per question type (world files), EM per arm against its matched gold (and the other year's: crossed). */
  byType: TypeRow[];
  /** Questions answered by both arms (paired by id). */
  paired: number;
  /** Paired questions whose normalised answers differ (or one arm failed). */
  diffs: AbDiff[];
}

function emOf(r: QaRecord, gold: readonly string[] | undefined): 0 | 1 | null {
  if (gold?.length) return r.error !== undefined ? 0 : exactMatch(r.answer, gold);
  if (r.error === undefined && r.em !== undefined) return r.em;
  // FEVER: a label is right or wrong like an exact match; BLEU/ROUGE outputs get no mark.
  if (r.task === 'fever' && r.references?.length) return r.error === undefined && r.task_scores?.correct === 1 ? 1 : 0;
  return null;
}

function armGold(arm: AbArm): (r: QaRecord) => readonly string[] | undefined {
  return (r) => (arm.year ? goldForYear(r, arm.year, arm.year) : r.gold);
}

export function compareAb(a: AbArm, b: AbArm): AbComparison {
  const summary = (arm: AbArm): ArmSummary => {
    const task = summarizeTask(arm.records);
    return {
      label: arm.label, snapshot: arm.snapshot, ...(arm.year ? { year: arm.year } : {}),
      scores: aggregate(arm.records, { gold: armGold(arm) }),
      latency: latencyStats(arm.records),
      ...(task ? { task } : {}),
    };
  };
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
  return { arms: [summary(a), summary(b)], paper: findPaperExperiment(a, b), cross, byType, paired, diffs };
}

function mark(em: 0 | 1 | null): string {
  return em === null ? '<span class="na">–</span>' : em ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>';
}

/** The task metric columns both arms share (one task per question file): [key, header]. */
function taskColumns(cmp: AbComparison): { key: string; label: string }[] {
  const name = cmp.arms[0].task?.name ?? cmp.arms[1].task?.name;
  return name ? [...TASK_METRICS[name]] : [];
}

function taskCell(arm: ArmSummary, key: string): string {
  return arm.task ? formatTaskMetric(arm.task.name, arm.task.metrics[key]) : '—';
}

function golds(g: readonly string[] | undefined): string {
  return g?.length ? g.map(escapeHtml).join(' | ') : '<span class="na">—</span>';
}

function answerCell(r: QaRecord): string {
  return r.error !== undefined ? `<span class="err">error: ${escapeHtml(r.error)}</span>` : escapeHtml(r.answer || '∅');
}

/**
 * "A · prod → world-142-2016 (2016)": the side, what was asked for and the snapshot it resolved to, each once
 * (a label that is the snapshot id, or that already starts with the side, is not repeated).
 */
export function armName(arm: { label: string; snapshot: string; year?: string }, side: string): string {
  const label = arm.label.replace(new RegExp(`^${side}[:·]?\\s+`), '').trim();
  const what = !label || label === arm.snapshot ? arm.snapshot : `${label} → ${arm.snapshot}`;
  return `${side} · ${what}${arm.year ? ` (${arm.year})` : ''}`;
}

/** "2016 index" when the arm has a year, else its side and snapshot. */
function indexName(arm: { snapshot: string; year?: string }, side: string): string {
  return arm.year ? `${arm.year} index` : `${side} ${arm.snapshot}`;
}

const pc = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${pct(x)}%`);

/** The chart's groups: the paper's experiment first, then each other question type, matched and crossed per arm. */
function chartGroups(cmp: AbComparison): ChartGroup[] {
  const groups: ChartGroup[] = [];
  const sides = ['A', 'B'];
  if (cmp.paper) {
    groups.push({
      label: 'the paper\'s experiment', note: `${cmp.paper.n} changed single-fact questions`,
      arms: cmp.paper.arms.map((a, i) => ({ name: indexName(a, sides[i]!), matched: a.matched.em, crossed: a.crossed.em, ...(a.paper ? { paper: a.paper } : {}) })),
    });
  }
  for (const t of cmp.byType) {
    if (!t.crossed || (cmp.paper && t.type === PAPER_QUESTION_TYPE)) continue; // shown as the experiment
    groups.push({
      label: t.type, note: `${t.n} questions`,
      arms: [
        { name: indexName(cmp.arms[0], 'A'), matched: t.a.em, crossed: t.crossed.a.em },
        { name: indexName(cmp.arms[1], 'B'), matched: t.b.em, crossed: t.crossed.b.em },
      ],
    });
  }
  return groups;
}

/** The first screen: the paper's experiment, what each number means, ours beside the paper's, the chart. */
function paperSection(cmp: AbComparison): string {
  const p = cmp.paper;
  if (!p) return '';
  const hasPaper = p.arms.some((a) => a.paper);
  const rows: { kind: 'matched' | 'crossed'; what: (a: PaperArm) => string }[] = [
    { kind: 'matched', what: (a) => `${a.year} index, ${a.year} answers` },
    { kind: 'crossed', what: (a) => `${a.year} index, ${a.otherYear} answers` },
  ];
  const cells = rows.map((r) => `<tr><th>${r.kind === 'matched' ? 'matched year' : 'crossed year'}</th>${p.arms.map((a) => {
    const s = a[r.kind];
    return `<td class="num ${r.kind}" title="${escapeHtml(r.what(a))}"><b>${pc(s.em)}</b> <span class="note">of ${s.scored}</span></td>${hasPaper ? `<td class="num paper">${a.paper ? `${Math.round(a.paper[r.kind] * 100)}%` : '—'}</td>` : ''}`;
  }).join('')}</tr>`).join('\n');
  const head = `<tr><th>EM (exact match)</th>${p.arms.map((a, i) => `<th class="num">${escapeHtml(indexName(a, i ? 'B' : 'A'))} <span class="note">${escapeHtml(a.snapshot)}</span></th>${hasPaper ? `<th class="num paper">the paper</th>` : ''}`).join('')}</tr>`;
  const left = p.excluded
    ? ` The other ${p.excluded} question(s) of this run${p.excludedTypes.length ? ` (${escapeHtml(p.excludedTypes.join(', '))}, or answers that did not change)` : ' (answers that did not change)'} are scored below, not here.`
    : '';
  return `<h2>The paper's experiment: index hot-swap (${escapeHtml(PAPER_CITATION)})</h2>
<p class="meta">The same model with a ${escapeHtml(p.arms[0].year)} index and a ${escapeHtml(p.arms[1].year)} index, on the ${p.n} ${escapeHtml(p.questions)}.${left}</p>
<table class="headline"><thead>${head}</thead><tbody>
${cells}
</tbody></table>
<ul class="meaning">
<li><b>Matched</b>: each index scored against its own year's answers. High means the model reads its answer from the index.</li>
<li><b>Crossed</b>: each index scored against the other year's answers. Low means it does not answer from memory: swapping the index updates what it knows, with no retraining.</li>
<li>EM is exact match after SQuAD normalisation (case, punctuation, articles), best over the gold answers; "of n" counts the questions scored.${hasPaper ? ' The paper\'s figures are for its NQ-style world-leader questions with a real Wikipedia index (70% / 68% matched; 4% with the 2016 index and 2018 leaders, 12% with the 2018 index and 2016 leaders); ours come from the synthetic world and its small models, so they show the same effect, not the same task.' : ''}</li>
</ul>`;
}

function crossTable(cmp: AbComparison): string {
  if (!cmp.cross) return '';
  const years = cmp.cross[0].map((c) => c.goldYear);
  const rows = cmp.arms.map((arm, i) => ({ arm, side: i ? 'B' : 'A', cells: cmp.cross![i as 0 | 1] }));
  const cols = [
    { header: 'arm', cell: (r: (typeof rows)[number]) => escapeHtml(armName(r.arm, r.side)) },
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
  return `<h2>Matched vs crossed year, all ${Math.max(cmp.arms[0].scores.n, cmp.arms[1].scores.n)} questions</h2>
<p class="meta">Each run scored against its own index year's answers (matched) and the other year's (crossed), every question type together; n counts the questions that have a gold answer for that year.</p>
${htmlTable(rows, cols, { cls: 'cross' })}`;
}

export function renderAbReport(input: AbReportInput): string {
  const cmp = compareAb(input.a, input.b);
  const samples = input.samples ?? 3;
  const maxDiffs = input.maxDiffs ?? 200;
  const armRows = cmp.arms.map((arm, i) => ({ arm, side: i ? 'B' : 'A' }));
  const taskCols = taskColumns(cmp);
  const summary = htmlTable(armRows, [
    { header: 'arm', cell: (r) => r.side },
    { header: 'asked for', cell: (r) => escapeHtml(r.arm.label.replace(new RegExp(`^${r.side}[:·]?\\s+`), '') || r.arm.snapshot) },
    { header: 'snapshot', cell: (r) => escapeHtml(r.arm.snapshot) },
    { header: 'year', cell: (r) => escapeHtml(r.arm.year ?? '—') },
    { header: 'n', num: true, cell: (r) => String(r.arm.scores.n) },
    { header: 'failed', num: true, cell: (r) => String(r.arm.scores.failed) },
    { header: 'scored', num: true, cell: (r) => String(r.arm.scores.scored) },
    { header: 'EM', num: true, cell: (r) => pct(r.arm.scores.em) },
    { header: 'F1', num: true, cell: (r) => pct(r.arm.scores.f1) },
    ...taskCols.map((c) => ({ header: c.label, num: true, cell: (r: (typeof armRows)[number]) => taskCell(r.arm, c.key) })),
    ...(taskCols.length ? [{ header: 'task scored', num: true, cell: (r: (typeof armRows)[number]) => String(r.arm.task?.scored ?? 0) }] : []),
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

  // The paper's other tasks keep their references apart from the open-QA gold: show them in the gold columns.
  const goldA = (r: QaRecord) => armGold(input.a)(r) ?? r.references, goldB = (r: QaRecord) => armGold(input.b)(r) ?? r.references;
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
<div><div><b>A</b> ${answerCell(p.a)}</div>${posteriorHeatmapSvg({ docs: p.a.docs, tokens: p.a.tokens, posteriors: p.a.doc_posteriors, caption: armName(input.a, 'A') })}</div>
<div><div><b>B</b> ${answerCell(p.b)}</div>${posteriorHeatmapSvg({ docs: p.b.docs, tokens: p.b.tokens, posteriors: p.b.doc_posteriors, caption: armName(input.b, 'B') })}</div>
</div></section>`).join('\n')}`
    : '';

  const groups = chartGroups(cmp);
  const n = Math.max(cmp.arms[0].scores.n, cmp.arms[1].scores.n);
  const body = `<h1>${escapeHtml(input.title)}</h1>
<p class="meta">${escapeHtml(armName(input.a, 'A'))} — ${escapeHtml(armName(input.b, 'B'))}</p>
${paperSection(cmp)}
${groups.length ? `<figure>${matchedCrossedChart(groups)}<figcaption>EM per index: matched (its own year's answers) and crossed (the other year's)${cmp.paper?.arms.some((a) => a.paper) ? '; dashed marks: the paper\'s figures' : ''}.</figcaption></figure>` : ''}
<h2>All ${n} questions of this run</h2>
<p class="meta">EM/F1 of each arm against its own year's answers${cmp.paper ? ', every question type together (the paper\'s experiment is above)' : ''}${taskCols.length ? `; ${escapeHtml(TASK_NAMES[(cmp.arms[0].task ?? cmp.arms[1].task)!.name])}: ${taskCols.map((c) => escapeHtml(c.label)).join(', ')} (see docs/question-answering.md)` : ''}; latency per question.</p>
${summary}
${crossTable(cmp)}
${byType}
${diffs}
${heatmaps}`;
  return page(input.title, body);
}

/** The paper's experiment for a terminal: what the questions are, matched and crossed EM per index, the paper's beside. */
export function formatPaperExperiment(p: PaperExperiment): string {
  const hasPaper = p.arms.some((a) => a.paper);
  const paperCell = (kind: 'matched' | 'crossed') => p.arms.map((a) => (a.paper ? `${Math.round(a.paper[kind] * 100)}%` : '—')).join(' / ');
  const out = [
    `The paper's experiment (${PAPER_CITATION}, index hot-swap): ${p.n} ${p.questions}`,
    textTable(
      ['EM (exact match)', ...p.arms.map((a) => `${a.year} index`), ...(hasPaper ? ['the paper'] : [])],
      (['matched', 'crossed'] as const).map((kind) => [
        kind === 'matched' ? 'matched: own year\'s answers' : 'crossed: other year\'s answers',
        ...p.arms.map((a) => `${pc(a[kind].em)} of ${a[kind].scored}`),
        ...(hasPaper ? [paperCell(kind)] : []),
      ]),
      [false, true, true, true],
    ),
    'Matched high: the model reads its answers from the index. Crossed low: it does not answer from memory, so swapping the index updates it.',
  ];
  if (p.excluded) out.push(`(${p.excluded} other question(s) of this run${p.excludedTypes.length ? `, e.g. ${p.excludedTypes.join(', ')},` : ''} are not part of this experiment: see below)`);
  return out.join('\n');
}

/**
 * The A/B summary for a terminal: the paper's experiment first (when both years are known), then per-arm scores
 * over every question, matched vs crossed by gold year, and EM per question type.
 */
export function formatAbTable(input: { a: AbArm; b: AbArm } | AbComparison): string {
  const cmp = 'arms' in input ? input : compareAb(input.a, input.b);
  const out: string[] = [];
  if (cmp.paper) {
    out.push(formatPaperExperiment(cmp.paper));
    out.push('');
    out.push(`All ${Math.max(cmp.arms[0].scores.n, cmp.arms[1].scores.n)} questions of this run, every type (EM/F1 against each arm's own year):`);
  }
  const taskCols = taskColumns(cmp);
  out.push(textTable(
    ['arm', 'n', 'failed', 'EM', 'F1', ...taskCols.map((c) => c.label), 'p50 ms', 'p95 ms'],
    cmp.arms.map((arm, i) => [
      armName(arm, i ? 'B' : 'A'), String(arm.scores.n), String(arm.scores.failed),
      pct(arm.scores.em), pct(arm.scores.f1), ...taskCols.map((c) => taskCell(arm, c.key)), ms(arm.latency?.p50), ms(arm.latency?.p95),
    ]),
    [false, true, true, true, true, ...taskCols.map(() => true), true, true],
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
