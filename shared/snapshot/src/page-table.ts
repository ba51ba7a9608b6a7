import { ShardIntegrityError } from '@rag/core';

/**
 * One row per page (document) of a snapshot, in the order the build met them. Incremental builds
 * read the base snapshot's table to tell unchanged pages (same source text) from changed ones
 * without re-cleaning or re-encoding them; `snapshot diff` compares two tables.
 *
 *   p    page id (passage ids are `${p}-${ordinal}`; DPR rows are pages of one passage)
 *   t    title
 *   r    sha256 prefix of the page's source text before cleaning (what the dump says)
 *   h    passage hashes, in order (Passage.hash)
 *   loc  where the passages are: [shard, first row, count] runs (a page may straddle shards)
 */
export interface PageRow {
  p: string;
  t: string;
  r: string;
  h: string[];
  loc: [number, number, number][];
}

export function pageRowLine(row: PageRow): string {
  return JSON.stringify({ p: row.p, t: row.t, r: row.r, h: row.h, loc: row.loc }) + '\n';
}

export function parsePageTable(raw: Uint8Array, key: string): PageRow[] {
  const out: PageRow[] = [];
  let lineNo = 0;
  for (const line of Buffer.from(raw).toString('utf8').split('\n')) {
    lineNo++;
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as PageRow);
    } catch (err) {
      throw new ShardIntegrityError(`page table ${key} line ${lineNo} is not JSON`, { cause: err });
    }
  }
  return out;
}

/** Passage ids of a page row, in order. */
export function pagePassageIds(row: PageRow, format: 'wikixml' | 'dpr-tsv' | 'jsonl'): string[] {
  if (format === 'dpr-tsv') return [row.p];
  return row.h.map((_, i) => `${row.p}-${i}`);
}
