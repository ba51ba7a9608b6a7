import { escapeHtml, pct } from './html.js';

/**
 * The A/B report's first chart: EM of each index against its own year's answers (matched, green) and the other
 * year's (crossed, red), per arm, in groups (the paper's experiment first, then the other question types), with
 * the paper's figures drawn as dashed marks over the bars they correspond to. Plain SVG, no script.
 */

export const MATCHED_COLOR = '#2da44e';
export const CROSSED_COLOR = '#cf222e';

export interface ChartArm {
  /** e.g. "2016 index". */
  name: string;
  matched: number | null;
  crossed: number | null;
  /** The paper's figures for this arm, drawn as marks. */
  paper?: { matched: number; crossed: number };
}

export interface ChartGroup {
  label: string;
  /** Second line under the label, e.g. "n = 71". */
  note?: string;
  arms: ChartArm[];
}

const BAR = 36, IN_PAIR = 4, BETWEEN_ARMS = 22, BETWEEN_GROUPS = 56, LEFT = 48, RIGHT = 16, TOP = 46, PLOT = 200, BOTTOM = 64;

export function matchedCrossedChart(groups: readonly ChartGroup[]): string {
  const pairW = 2 * BAR + IN_PAIR;
  const groupW = (g: ChartGroup) => g.arms.length * pairW + (g.arms.length - 1) * BETWEEN_ARMS;
  const plotW = groups.reduce((s, g) => s + groupW(g), 0) + Math.max(0, groups.length - 1) * BETWEEN_GROUPS + 24;
  const hasPaper = groups.some((g) => g.arms.some((a) => a.paper));
  // Legend first: it decides the width when there are few groups (about 6.4 px per character at 12 px).
  const legend: [string, string][] = [[MATCHED_COLOR, 'matched: the index\'s own year\'s answers'], [CROSSED_COLOR, 'crossed: the other year\'s answers']];
  const paperText = 'the paper (Lewis et al. 2020, §4.5)';
  const legendParts: string[] = [];
  let lx = LEFT;
  for (const [color, text] of legend) {
    legendParts.push(`<rect x="${lx}" y="10" width="12" height="12" fill="${color}"/><text x="${lx + 17}" y="20" font-size="12">${escapeHtml(text)}</text>`);
    lx += 17 + text.length * 6.4 + 18;
  }
  if (hasPaper) {
    legendParts.push(`<line x1="${lx}" x2="${lx + 22}" y1="16" y2="16" stroke="#111" stroke-width="2" stroke-dasharray="4 3"/><text x="${lx + 27}" y="20" font-size="12">${escapeHtml(paperText)}</text>`);
    lx += 27 + paperText.length * 6.4;
  }
  const W = Math.ceil(Math.max(LEFT + plotW + RIGHT, lx + RIGHT));
  const H = TOP + PLOT + BOTTOM;
  const y = (v: number) => TOP + PLOT * (1 - v);
  const p: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="matched-crossed" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="EM matched vs crossed year, per index">`, ...legendParts];
  // Axis and grid: EM in percent.
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    p.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(t)}" y2="${y(t)}" stroke="${t ? '#e3e3e3' : '#888'}"/><text x="${LEFT - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${t * 100}</text>`);
  }
  p.push(`<text x="12" y="${TOP + PLOT / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${TOP + PLOT / 2})">EM %</text>`);
  let x = LEFT + 16;
  for (const g of groups) {
    const gx = x;
    g.arms.forEach((arm, i) => {
      const ax = gx + i * (pairW + BETWEEN_ARMS);
      const bars: [string, number | null, string, number | undefined][] = [
        ['matched', arm.matched, MATCHED_COLOR, arm.paper?.matched],
        ['crossed', arm.crossed, CROSSED_COLOR, arm.paper?.crossed],
      ];
      bars.forEach(([kind, v, color, paper], j) => {
        const bx = ax + j * (BAR + IN_PAIR);
        const val = v ?? 0;
        p.push(`<rect class="bar ${kind}" data-value="${v ?? ''}" x="${bx}" y="${y(val)}" width="${BAR}" height="${y(0) - y(val)}" fill="${color}"><title>${escapeHtml(`${g.label}, ${arm.name}, ${kind}: ${pct(v)}%`)}</title></rect>`);
        // The value sits above the bar, or above the paper's mark when that is just over the bar (no overlap).
        const labelAt = paper !== undefined && paper > val && y(val) - y(paper) < 16 ? paper : val;
        p.push(`<text x="${bx + BAR / 2}" y="${y(labelAt) - 5}" font-size="11" text-anchor="middle">${pct(v)}</text>`);
        if (paper !== undefined) {
          p.push(`<line class="paper" data-value="${paper}" x1="${bx - 3}" x2="${bx + BAR + 3}" y1="${y(paper)}" y2="${y(paper)}" stroke="#111" stroke-width="2" stroke-dasharray="4 3"><title>${escapeHtml(`the paper, ${arm.name}, ${kind}: ${Math.round(paper * 100)}%`)}</title></line>`);
        }
      });
      p.push(`<text x="${ax + pairW / 2}" y="${TOP + PLOT + 16}" font-size="12" text-anchor="middle">${escapeHtml(arm.name)}</text>`);
    });
    const cx = gx + groupW(g) / 2;
    p.push(`<text x="${cx}" y="${TOP + PLOT + 36}" font-size="12" font-weight="600" text-anchor="middle">${escapeHtml(g.label)}</text>`);
    if (g.note) p.push(`<text x="${cx}" y="${TOP + PLOT + 52}" font-size="11" fill="#555" text-anchor="middle">${escapeHtml(g.note)}</text>`);
    x += groupW(g) + BETWEEN_GROUPS;
  }
  p.push('</svg>');
  return p.join('');
}
