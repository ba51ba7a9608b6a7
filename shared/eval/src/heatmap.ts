import { escapeHtml, truncate } from './html.js';

/**
 * The per-token document posterior as an inline SVG heatmap: rows are the retrieved passages, columns the
 * generated answer tokens, shade = p(doc | question, answer so far). It shows which passage each token leaned
 * on, the RAG-Token paper's Figure 2 view.
 */

export interface HeatmapInput {
  docs: readonly { id: string; title: string; score: number }[];
  tokens: readonly string[];
  /** [token][doc] */
  posteriors: readonly (readonly number[])[];
  /** Columns beyond this are left out with a note (default 48). */
  maxTokens?: number;
  /** Shown in the figure caption. */
  caption?: string;
}

const CELL = 30;
const LABEL_W = 280;

/** Shade for a posterior: white at 0 to dark blue at 1, linear in RGB. Exported so tests can find it in a PNG. */
export function posteriorColor(p: number): { r: number; g: number; b: number; css: string } {
  const t = Math.min(1, Math.max(0, p));
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t);
  const r = mix(255, 8), g = mix(255, 48), b = mix(255, 107);
  return { r, g, b, css: `rgb(${r},${g},${b})` };
}

/** Token pieces as a reader would see them (BPE word-start markers shown as a space, blanks made visible). */
export function displayToken(t: string): string {
  const s = t.replace(/^[\u0120\u2581]/, ' ');
  return s.trim() ? s : s.length ? '␣' : '∅';
}

export function posteriorHeatmapSvg(input: HeatmapInput): string {
  const maxTokens = input.maxTokens ?? 48;
  const tokens = input.tokens.slice(0, maxTokens);
  const docs = input.docs;
  // Room above the grid for the rotated token labels: as much as the longest one needs.
  const longest = Math.max(1, ...tokens.map((t) => Math.min(14, displayToken(t).length)));
  const TOP = Math.round(18 + longest * 7 * Math.sin((50 * Math.PI) / 180));
  const w = LABEL_W + tokens.length * CELL + 60;
  const h = TOP + docs.length * CELL + 8;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img">`);
  tokens.forEach((t, j) => {
    const x = LABEL_W + j * CELL + CELL / 2;
    parts.push(`<text class="hm-token" x="${x}" y="${TOP - 6}" font-size="12" transform="rotate(-50 ${x} ${TOP - 6})">${escapeHtml(truncate(displayToken(t), 14))}</text>`);
  });
  docs.forEach((d, i) => {
    const y = TOP + i * CELL;
    parts.push(`<text class="hm-doc" x="${LABEL_W - 8}" y="${y + CELL / 2 + 4}" font-size="12" text-anchor="end"><title>${escapeHtml(`${d.title} (${d.id}), score ${d.score.toFixed(3)}`)}</title>${escapeHtml(`${i + 1}. ${truncate(d.title || d.id, 34)}`)}</text>`);
    tokens.forEach((t, j) => {
      const p = input.posteriors[j]?.[i] ?? 0;
      const c = posteriorColor(p);
      const x = LABEL_W + j * CELL;
      parts.push(`<rect class="hm-cell" data-p="${p.toFixed(4)}" x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="${c.css}" stroke="#fff" stroke-width="1"><title>${escapeHtml(`${displayToken(t)} ← ${d.title || d.id}: ${p.toFixed(3)}`)}</title></rect>`);
      if (p >= 0.05) {
        parts.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 4}" font-size="10" text-anchor="middle" fill="${p > 0.5 ? '#fff' : '#1a1a1a'}" pointer-events="none">${p >= 0.995 ? '1' : p.toFixed(2).replace(/^0/, '')}</text>`);
      }
    });
  });
  parts.push('</svg>');
  const notes: string[] = [];
  if (input.tokens.length > tokens.length) notes.push(`first ${tokens.length} of ${input.tokens.length} tokens shown`);
  if (!tokens.length || !docs.length) notes.push('no posteriors recorded');
  const caption = [input.caption ? escapeHtml(input.caption) : '', notes.map(escapeHtml).join('; ')].filter(Boolean).join(' — ');
  return `<figure class="hm">${parts.join('')}${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`;
}
