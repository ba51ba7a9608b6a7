/** Tiny regex helpers for reading back our own generated HTML in tests (no parser dependency). */

export function tableByClass(html: string, cls: string): string {
  const m = new RegExp(`<table class="${cls}">([\\s\\S]*?)</table>`).exec(html);
  if (!m) throw new Error(`no table.${cls}`);
  return m[1]!;
}

/** Body rows of a table, each as its cells' inner HTML. */
export function bodyRows(tableHtml: string): string[][] {
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(tableHtml)?.[1] ?? '';
  return [...tbody.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!));
}

export function headers(tableHtml: string): string[] {
  return [...tableHtml.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((c) => c[1]!);
}

export function count(html: string, needle: string | RegExp): number {
  return typeof needle === 'string' ? html.split(needle).length - 1 : [...html.matchAll(new RegExp(needle.source, 'g'))].length;
}

export function stripTags(s: string): string {
  return s.replace(/<[^>]+>/g, '').trim();
}
