/**
 * Building blocks of the self-contained reports: escaping, number formats, one stylesheet, the page shell.
 * Reports carry no external asset (no fonts, scripts or images) so they open from a file, offline, forever.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML and SVG, in element content and in quoted attributes. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A fraction in [0, 1] as a percentage with one decimal ('—' for none). */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : (x * 100).toFixed(1);
}

export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1a1a1a;background:#fff;margin:24px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.crossed{background:#fbeaea}td.matched,tr.best td{background:#e8f4ea}
.ok{color:#1a7f37;font-weight:700}.bad{color:#cf222e;font-weight:700}.na{color:#888}
.answer{font-size:18px;font-weight:600;margin:4px 0 12px}
.err{color:#cf222e;font-weight:600}
.note{color:#666;font-size:12px}
.pair{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.pair>div{min-width:0}
figure{margin:8px 0}figcaption{font-size:12px;color:#555}
svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
.passage{color:#333;font-size:13px;max-width:900px}
table.headline td,table.headline th{padding:6px 12px}table.headline td b{font-size:20px}
td.paper,th.paper{color:#444;background:#f6f8fa;font-style:italic}
ul.meaning{margin:4px 0 8px;padding-left:20px;color:#333;max-width:1000px}ul.meaning li{margin:2px 0}
`;

/** A whole HTML document around already-escaped body markup. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export interface Column<R> {
  header: string;
  cell: (row: R) => string;
  /** Right-aligned, tabular digits. */
  num?: boolean;
  /** Extra class for the cell (already safe). */
  cls?: (row: R) => string | undefined;
}

/** An HTML table; cells return escaped markup. */
export function htmlTable<R>(rows: readonly R[], cols: readonly Column<R>[], opts: { cls?: string; rowCls?: (r: R) => string | undefined } = {}): string {
  const head = cols.map((c) => `<th${c.num ? ' class="num"' : ''}>${escapeHtml(c.header)}</th>`).join('');
  const body = rows.map((r) => {
    const rc = opts.rowCls?.(r);
    const tds = cols.map((c) => {
      const cls = [c.num ? 'num' : '', c.cls?.(r) ?? ''].filter(Boolean).join(' ');
      return `<td${cls ? ` class="${cls}"` : ''}>${c.cell(r)}</td>`;
    }).join('');
    return `<tr${rc ? ` class="${rc}"` : ''}>${tds}</tr>`;
  }).join('\n');
  return `<table${opts.cls ? ` class="${opts.cls}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A plain-text table for terminals; numeric columns right-aligned. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}
