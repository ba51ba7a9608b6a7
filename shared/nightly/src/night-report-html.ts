import { escapeHtml, htmlTable, page } from '@rag/eval';
import type { NightRecord } from './night-record.js';
import { causeSummary } from './what-changed.js';

const n = (x: number | undefined) => (x === undefined ? '—' : x.toLocaleString('en-US'));
const mb = (b: number | undefined) => (b === undefined ? '—' : `${(b / 1e6).toFixed(1)} MB`);

/** The one-screen summary that leads a night's report (also printed by `nightly run`). */
export function nightSummaryLines(r: NightRecord): string[] {
  const d = r.diff;
  const lines = [
    `night ${r.night} of ${r.alias}: ${r.snapshot}${r.base ? ` on ${r.base.snapshot} (version ${r.base.version})` : ' (full build)'}`,
    `decision  ${r.decision ?? r.status}${r.aliasVersion ? ` (alias version ${r.aliasVersion})` : ''}`,
    `pages     ${d ? `+${d.pages.added} added, -${d.pages.removed} removed, ~${d.pages.changed} changed` : '—'}`,
    `passages  ${r.build ? `${n(r.build.reencoded)} re-encoded of ${n(r.build.passages)}; ${r.build.reusedShards} of ${r.build.shards} shard(s) reused` : '—'}`,
    `answers   ${r.changes ? `${r.changes.changed} of ${r.changes.questions} canary question(s) changed` : '—'}`,
    `gate      ${r.gate ? r.gate.summary : r.decision === 'first' ? 'none (the alias did not exist: first night)' : '—'}`,
  ];
  if (r.retention) lines.push(`retention kept ${r.retention.kept.length} night(s), removed ${r.retention.removed.length}${r.retention.gc ? `; gc deleted ${r.retention.gc.deleted} object(s), ${mb(r.retention.gc.bytesFreed)}` : ''}`);
  if (r.error) lines.push(`error     ${r.error}`);
  return lines;
}

/** The night's HTML report: summary, gate, the answers that changed with the edits that caused them, retention. */
export function renderNightReport(r: NightRecord): string {
  const parts: string[] = [];
  const cls = r.decision === 'held' || r.status === 'failed' ? 'bad' : 'ok';
  parts.push(`<h1>Night ${escapeHtml(r.night)} of <code>${escapeHtml(r.alias)}</code>: <span class="${cls}">${escapeHtml(r.decision ?? r.status)}</span></h1>`);
  parts.push(`<p class="meta">${escapeHtml(r.snapshot)} from ${escapeHtml(r.source)}; started ${escapeHtml(r.startedAt)}${r.finishedAt ? `, finished ${escapeHtml(r.finishedAt)}` : ''}; config ${escapeHtml(r.config.path)}</p>`);
  parts.push(`<pre>${escapeHtml(nightSummaryLines(r).join('\n'))}</pre>`);
  if (r.gate) {
    parts.push('<h2>Quality gate</h2>');
    parts.push(`<p>${escapeHtml(r.gate.summary)}</p>`);
    parts.push(htmlTable(r.gate.metrics, [
      { header: 'metric', cell: (m) => escapeHtml(m.metric) },
      { header: 'n', cell: (m) => n(m.n), num: true },
      { header: 'served', cell: (m) => (m.a * 100).toFixed(1), num: true },
      { header: 'candidate', cell: (m) => (m.b * 100).toFixed(1), num: true },
      { header: 'change (pts)', cell: (m) => `${m.deltaPts >= 0 ? '+' : ''}${m.deltaPts.toFixed(1)}`, num: true },
      { header: 'limit', cell: (m) => `-${m.maxDrop}`, num: true },
      { header: 'p', cell: (m) => (m.p < 0.001 ? '&lt;0.001' : m.p.toFixed(3)), num: true },
      { header: 'test', cell: (m) => escapeHtml(m.test + (m.discordant ? ` (${m.discordant.aOnly} lost, ${m.discordant.bOnly} gained)` : '')) },
      { header: 'result', cell: (m) => (m.failed ? '<span class="bad">held</span>' : '<span class="ok">ok</span>') },
    ]));
  }
  if (r.changes) {
    parts.push(`<h2>What changed: ${r.changes.changed} of ${r.changes.questions} canary question(s)</h2>`);
    if (r.changes.shown.length < r.changes.changed) parts.push(`<p class="note">the first ${r.changes.shown.length} are shown; night.json has the same list</p>`);
    parts.push(htmlTable(r.changes.shown, [
      { header: 'question', cell: (c) => escapeHtml(c.question) },
      { header: 'served', cell: (c) => escapeHtml(c.a.answer || c.a.top?.title || '—') + (c.a.top ? `<br><span class="note">${escapeHtml(c.a.top.id)}</span>` : '') },
      { header: 'candidate', cell: (c) => escapeHtml(c.b.answer || c.b.top?.title || '—') + (c.b.top ? `<br><span class="note">${escapeHtml(c.b.top.id)}</span>` : '') },
      { header: 'caused by', cell: (c) => (c.causes.length ? escapeHtml(causeSummary(c.causes, 8)) + `<br><span class="note">passages ${escapeHtml(c.causes.map((x) => x.passage).join(', '))}</span>` : '<span class="na">ranking shift: no retrieved passage was edited</span>') },
    ]));
  }
  if (r.retention) {
    parts.push('<h2>Retention</h2>');
    parts.push(`<p>kept: ${escapeHtml(r.retention.kept.join(', ') || '—')}<br>removed: ${escapeHtml(r.retention.removed.join(', ') || '—')}${r.retention.refused.length ? `<br>not removed: ${escapeHtml(r.retention.refused.map((x) => `${x.id} (${x.reason})`).join('; '))}` : ''}</p>`);
  }
  return page(`Night ${r.night} of ${r.alias}`, parts.join('\n'));
}
