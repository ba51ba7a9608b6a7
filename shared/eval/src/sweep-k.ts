import { escapeHtml, htmlTable, ms, page, pct, textTable } from './html.js';
import { formatTaskMetric, TASK_METRICS, type TaskSummary } from './task-metrics.js';

/**
 * EM/F1 as the number of retrieved passages K grows, one run per K over the same questions: the paper's
 * Figure 3 (left), with latency beside it because K is also the cost knob.
 */

export interface SweepRow {
  k: number;
  /** Fractions in [0, 1]; null when nothing was scored. */
  em: number | null;
  f1: number | null;
  n: number;
  /** Mean per-question latency. */
  latencyMs: number | null;
  /** The paper's other tasks (MS-MARCO, Jeopardy, FEVER): this K's task metrics, shown as extra columns. */
  task?: TaskSummary;
}

/** The task metric columns of a sweep (one question file, so one task): [key, label]. */
function sweepTaskColumns(rows: readonly SweepRow[]): { key: string; label: string; cell: (r: SweepRow) => string }[] {
  const name = rows.find((r) => r.task)?.task?.name;
  return name ? TASK_METRICS[name].map((m) => ({ ...m, cell: (r: SweepRow) => (r.task ? formatTaskMetric(r.task.name, r.task.metrics[m.key]) : '—') })) : [];
}

export interface SweepInput {
  snapshot: string;
  rows: readonly SweepRow[];
  title?: string;
  /** Decoding mode, shown in the subtitle. */
  mode?: string;
}

export interface PlotSeries {
  name: string;
  color: string;
  cls: string;
  points: { x: number; y: number | null }[];
  fmt: (v: number) => string;
}

function niceStep(range: number): number {
  const raw = range / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** A line plot with numeric x (K) and auto y range; every point carries a <title> with its value. */
export function linePlotSvg(opts: { series: PlotSeries[]; xLabel: string; yLabel: string; yMin?: number; yMax?: number; width?: number; height?: number; cls: string }): string {
  const W = opts.width ?? 560, H = opts.height ?? 320;
  const L = 56, R = 16, T = 28, B = 44;
  const xs = [...new Set(opts.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = opts.series.flatMap((s) => s.points.map((p) => p.y).filter((y): y is number => y !== null && Number.isFinite(y)));
  const x0 = xs[0] ?? 0, x1 = xs[xs.length - 1] ?? 1;
  let y0 = Math.min(...ys, opts.yMax ?? Infinity), y1 = Math.max(...ys, opts.yMin ?? -Infinity);
  if (!ys.length) { y0 = 0; y1 = 1; }
  const pad = (y1 - y0) * 0.1 || Math.abs(y1) * 0.1 || 1;
  const step = niceStep(y1 - y0 + 2 * pad);
  y0 = Math.floor((y0 - pad) / step) * step;
  y1 = Math.ceil((y1 + pad) / step) * step;
  if (opts.yMin !== undefined) y0 = Math.max(opts.yMin, y0);
  if (opts.yMax !== undefined) y1 = Math.min(opts.yMax, y1);
  // K usually grows geometrically (1, 2, 5, 10, 20, 50): a log axis keeps the small K apart.
  const log = x0 > 0 && x1 / x0 >= 8;
  const fx = (x: number) => (log ? Math.log(x) : x);
  const px = (x: number) => (x1 === x0 ? L + (W - L - R) / 2 : L + ((fx(x) - fx(x0)) / (fx(x1) - fx(x0))) * (W - L - R));
  const py = (y: number) => T + (1 - (y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="plot ${opts.cls}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="#fff" stroke="#ccc"/>`);
  for (let v = y0; v <= y1 + 1e-9; v += step) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/><text x="${L - 6}" y="${py(v) + 4}" font-size="11" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  for (const x of xs) parts.push(`<text x="${px(x)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${x}</text>`);
  parts.push(`<text x="${L + (W - L - R) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${escapeHtml(opts.xLabel + (log ? ', log scale' : ''))}</text>`);
  parts.push(`<text x="14" y="${T + (H - T - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${T + (H - T - B) / 2})">${escapeHtml(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const pts = s.points.filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    // Later series are drawn thinner, dashed and with smaller markers, so one that coincides with an earlier one
    // (F1 = EM when answers are all-or-nothing, as on the synthetic world) leaves the earlier one visible.
    const dash = i ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) parts.push(`<polyline class="line ${s.cls}" fill="none" stroke="${s.color}" stroke-width="${i ? 2 : 3}"${dash} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle class="pt ${s.cls}" cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="${i ? 3.5 : 6}" fill="${s.color}"><title>${escapeHtml(`${s.name} at K=${p.x}: ${s.fmt(p.y)}`)}</title></circle>`);
    parts.push(`<rect x="${L + 10 + i * 90}" y="8" width="14" height="4" fill="${s.color}"/><text x="${L + 28 + i * 90}" y="14" font-size="12">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function sorted(rows: readonly SweepRow[]): SweepRow[] {
  return [...rows].sort((a, b) => a.k - b.k);
}

export function renderSweepK(input: SweepInput): string {
  const rows = sorted(input.rows);
  const title = input.title ?? `EM/F1 vs K — ${input.snapshot}`;
  const toPct = (v: number | null) => (v === null ? null : v * 100);
  const quality = linePlotSvg({
    cls: 'quality', xLabel: 'K (retrieved passages)', yLabel: 'score (%)', yMin: 0, yMax: 100,
    series: [
      { name: 'EM', color: '#2f6fb3', cls: 'em', points: rows.map((r) => ({ x: r.k, y: toPct(r.em) })), fmt: (v) => v.toFixed(1) },
      { name: 'F1', color: '#e08a2c', cls: 'f1', points: rows.map((r) => ({ x: r.k, y: toPct(r.f1) })), fmt: (v) => v.toFixed(1) },
    ],
  });
  const latency = linePlotSvg({
    cls: 'latency', xLabel: 'K (retrieved passages)', yLabel: 'latency (ms/question)', yMin: 0,
    series: [{ name: 'mean ms', color: '#6a4c93', cls: 'lat', points: rows.map((r) => ({ x: r.k, y: r.latencyMs })), fmt: (v) => ms(v) }],
  });
  const best = rows.reduce<SweepRow | null>((b, r) => (r.em !== null && (b === null || b.em === null || r.em > b.em) ? r : b), null);
  const table = htmlTable(rows, [
    { header: 'K', num: true, cell: (r) => String(r.k) },
    { header: 'n', num: true, cell: (r) => String(r.n) },
    { header: 'EM', num: true, cell: (r) => pct(r.em) },
    { header: 'F1', num: true, cell: (r) => pct(r.f1) },
    ...sweepTaskColumns(rows).map((c) => ({ header: c.label, num: true, cell: c.cell })),
    { header: 'latency ms', num: true, cell: (r) => ms(r.latencyMs) },
  ], { cls: 'sweep', rowCls: (r) => (r === best ? 'best' : undefined) });
  const body = `<h1>${escapeHtml(title)}</h1>
<p class="meta">snapshot ${escapeHtml(input.snapshot)}${input.mode ? ` · mode ${escapeHtml(input.mode)}` : ''} · ${rows.length} runs${best ? ` · best EM ${pct(best.em)} at K=${best.k}` : ''}</p>
<div class="pair"><div>${quality}</div><div>${latency}</div></div>
${table}`;
  return page(title, body);
}

/** The sweep as a terminal table. */
export function formatSweepTable(rows: readonly SweepRow[]): string {
  const task = sweepTaskColumns(rows);
  return textTable(
    ['K', 'n', 'EM', 'F1', ...task.map((c) => c.label), 'latency ms'],
    sorted(rows).map((r) => [String(r.k), String(r.n), pct(r.em), pct(r.f1), ...task.map((c) => c.cell(r)), ms(r.latencyMs)]),
    [true, true, true, true, ...task.map(() => true), true],
  );
}
