import { exactMatch, f1 } from './answer-metrics.js';
import { posteriorHeatmapSvg } from './heatmap.js';
import { escapeHtml, htmlTable, ms, page, pct, truncate } from './html.js';
import type { QaRecord } from './qa-record.js';

/** One question, explained: the answer, the passages it was read from with their scores, which token used which. */

export interface ExplainOptions {
  /** Passage text by doc id, when the caller has it (the record only carries id, title and score). */
  passages?: Readonly<Record<string, string>>;
  title?: string;
}

export function renderExplain(record: QaRecord, opts: ExplainOptions = {}): string {
  const r = record;
  const title = opts.title ?? `Explain: ${truncate(r.question, 80)}`;
  const cols = r.docs.length;
  // Mean posterior over tokens: how much of the answer each passage carried overall.
  const mass = r.docs.map((_, i) => (r.tokens.length ? r.doc_posteriors.reduce((s, row) => s + (row[i] ?? 0), 0) / r.tokens.length : null));
  const em = r.gold?.length ? (r.error !== undefined ? 0 : r.em ?? exactMatch(r.answer, r.gold)) : r.em;
  const f = r.gold?.length ? (r.error !== undefined ? 0 : r.f1 ?? f1(r.answer, r.gold)) : r.f1;
  const facts: [string, string][] = [
    ['snapshot', escapeHtml(r.snapshot)],
    ['mode', escapeHtml(r.mode)],
    ['K', String(r.k)],
    ['latency', `${ms(r.latency_ms)} ms`],
  ];
  if (r.year) facts.push(['gold year', escapeHtml(r.year)]);
  if (r.gold) facts.push(['gold', r.gold.map(escapeHtml).join(' | ')]);
  if (em !== undefined) facts.push(['EM', em ? '<span class="ok">✓ 1</span>' : '<span class="bad">✗ 0</span>']);
  if (f !== undefined) facts.push(['F1', pct(f)]);
  if (r.type) facts.push(['type', escapeHtml(r.type)]);
  facts.push(['id', escapeHtml(`${r.id} (#${r.index})`)]);
  const passages = htmlTable(r.docs.map((d, i) => ({ d, i })), [
    { header: 'rank', num: true, cell: (x) => String(x.i + 1) },
    { header: 'title', cell: (x) => escapeHtml(x.d.title || '—') },
    { header: 'id', cell: (x) => escapeHtml(x.d.id) },
    { header: 'score', num: true, cell: (x) => x.d.score.toFixed(3) },
    { header: 'mean posterior', num: true, cell: (x) => (mass[x.i] === null ? '—' : mass[x.i]!.toFixed(3)) },
    ...(opts.passages ? [{ header: 'passage', cell: (x: { d: { id: string } }) => `<div class="passage">${escapeHtml(opts.passages![x.d.id] ?? '')}</div>` }] : []),
  ], { cls: 'passages' });
  const body = `<h1>${escapeHtml(r.question)}</h1>
${r.error !== undefined ? `<p class="err">failed: ${escapeHtml(r.error)}</p>` : `<p class="answer">${escapeHtml(r.answer || '∅')}</p>`}
<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h2>Retrieved passages (${cols})</h2>
${passages}
<h2>Document posterior per answer token</h2>
<p class="meta">Rows: passages (best first); columns: generated tokens; shade: p(passage | question, answer so far).</p>
${posteriorHeatmapSvg({ docs: r.docs, tokens: r.tokens, posteriors: r.doc_posteriors })}`;
  return page(title, body);
}
