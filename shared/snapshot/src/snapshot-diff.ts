import { UsageError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { parsePageTable, pagePassageIds, type PageRow } from './page-table.js';
import type { SnapshotManifest } from './snapshot-manifest.schema.js';

export interface SnapshotDiff {
  a: string;
  b: string;
  pages: { added: number; removed: number; changed: number; unchanged: number };
  passages: { added: number; removed: number; changed: number; unchanged: number };
  shards: { a: number; b: number; reused: number };
  bytes: { a: number; b: number; shared: number; onlyB: number };
  /** A few examples of each kind of page change, by title. */
  examples: { added: string[]; removed: string[]; changed: string[] };
}

const EXAMPLES = 5;

/** Pages and passages added, removed and changed from A to B; shards and bytes the two share. */
export async function diffSnapshots(store: ObjectStore, a: SnapshotManifest, b: SnapshotManifest): Promise<SnapshotDiff> {
  const [pa, pb] = await Promise.all([pageTable(store, a), pageTable(store, b)]);
  const out: SnapshotDiff = {
    a: a.id,
    b: b.id,
    pages: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    passages: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    shards: { a: a.shards.length, b: b.shards.length, reused: 0 },
    bytes: { a: 0, b: 0, shared: 0, onlyB: 0 },
    examples: { added: [], removed: [], changed: [] },
  };
  const fmtA = a.source.format;
  const fmtB = b.source.format;
  for (const [id, rb] of pb) {
    const ra = pa.get(id);
    if (!ra) {
      out.pages.added++;
      out.passages.added += rb.h.length;
      if (out.examples.added.length < EXAMPLES) out.examples.added.push(rb.t);
      continue;
    }
    const idsA = new Map(pagePassageIds(ra, fmtA).map((pid, i) => [pid, ra.h[i]]));
    const idsB = pagePassageIds(rb, fmtB);
    let changed = false;
    idsB.forEach((pid, i) => {
      const ha = idsA.get(pid);
      if (ha === undefined) { out.passages.added++; changed = true; }
      else if (ha !== rb.h[i]) { out.passages.changed++; changed = true; }
      else out.passages.unchanged++;
      idsA.delete(pid);
    });
    out.passages.removed += idsA.size;
    if (changed || idsA.size > 0 || ra.t !== rb.t) {
      out.pages.changed++;
      if (out.examples.changed.length < EXAMPLES) out.examples.changed.push(rb.t);
    } else out.pages.unchanged++;
  }
  for (const [id, ra] of pa) {
    if (pb.has(id)) continue;
    out.pages.removed++;
    out.passages.removed += ra.h.length;
    if (out.examples.removed.length < EXAMPLES) out.examples.removed.push(ra.t);
  }
  const indexKeysA = new Set(a.shards.map((s) => s.key));
  out.shards.reused = b.shards.filter((s) => indexKeysA.has(s.key)).length;
  const objA = await objectSizes(store, a);
  const objB = await objectSizes(store, b);
  for (const [, n] of objA) out.bytes.a += n;
  for (const [k, n] of objB) {
    out.bytes.b += n;
    if (objA.has(k)) out.bytes.shared += n;
    else out.bytes.onlyB += n;
  }
  return out;
}

/** One passage that differs from A to B: what happened to it, and its page. */
export interface PassageChange {
  kind: 'added' | 'removed' | 'changed';
  page: string;
  title: string;
}

/**
 * Every passage id that was added, removed or whose text changed from A to B (by the page tables'
 * per-passage hashes): what a night's "what changed" report joins with the passages questions retrieved.
 */
export async function passageChanges(store: ObjectStore, a: SnapshotManifest, b: SnapshotManifest): Promise<Map<string, PassageChange>> {
  const [pa, pb] = await Promise.all([pageTable(store, a), pageTable(store, b)]);
  const out = new Map<string, PassageChange>();
  for (const [id, rb] of pb) {
    const ra = pa.get(id);
    const idsA = new Map(ra ? pagePassageIds(ra, a.source.format).map((pid, i) => [pid, ra.h[i]]) : []);
    pagePassageIds(rb, b.source.format).forEach((pid, i) => {
      const ha = idsA.get(pid);
      if (ha === undefined) out.set(pid, { kind: 'added', page: id, title: rb.t });
      else if (ha !== rb.h[i]) out.set(pid, { kind: 'changed', page: id, title: rb.t });
      idsA.delete(pid);
    });
    for (const pid of idsA.keys()) out.set(pid, { kind: 'removed', page: id, title: ra!.t });
  }
  for (const [id, ra] of pa) {
    if (pb.has(id)) continue;
    for (const pid of pagePassageIds(ra, a.source.format)) out.set(pid, { kind: 'removed', page: id, title: ra.t });
  }
  return out;
}

async function pageTable(store: ObjectStore, m: SnapshotManifest): Promise<Map<string, PageRow>> {
  if (!m.pages) {
    throw new UsageError(`snapshot ${m.id} has no page table (built before page tables existed)`, { hint: 'diff compares snapshots built by this version; rebuild the older one' });
  }
  const rows = parsePageTable(await store.get(m.pages.key), m.pages.key);
  return new Map(rows.map((r) => [r.p, r]));
}

/** Every object a manifest references, with its size (from the manifest, else a HEAD request). */
export async function objectSizes(store: ObjectStore, m: SnapshotManifest): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = async (key: string, bytes?: number) => {
    if (out.has(key)) return;
    out.set(key, bytes ?? (await store.head(key))?.size ?? 0);
  };
  for (const s of m.shards) {
    await add(s.key, s.bytes);
    await add(s.passagesKey, s.passagesBytes);
    await add(s.embeddingsKey, s.embeddingsBytes);
    if (s.deleted) await add(s.deleted.key, s.deleted.bytes);
    if (s.offsets) await add(s.offsets.key, s.offsets.bytes);
  }
  if (m.pages) await add(m.pages.key, m.pages.bytes);
  return out;
}
