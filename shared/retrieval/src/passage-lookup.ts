import { ShardIntegrityError, sha256 } from '@rag/core';
import { parseCheckedPassage, parsePassageShard, type Passage } from '@rag/corpus';
import type { ObjectStore } from '@rag/storage';
import { checkRowSum, parsePageTable, type PageRow, type ShardEntry, type SnapshotManifest } from '@rag/snapshot';
import { readDeleted, SnapshotRetriever } from './snapshot-retriever.js';

/**
 * Passages of a snapshot by id (`snapshot passage`, `qa run --with-text`). The page table says where
 * each page's passages are ([shard, first row, count] runs), so a lookup reads the page table once and
 * then one row per id (a range read through the shard's offsets); a snapshot without a page table
 * (built before it existed) is scanned. Ids the snapshot does not hold (or holds as deleted rows) are
 * absent from the result.
 */
export async function lookupPassages(store: ObjectStore, manifest: SnapshotManifest, ids: readonly string[]): Promise<Map<string, Passage>> {
  const want = new Set(ids);
  const out = new Map<string, Passage>();
  if (want.size === 0) return out;
  if (!manifest.pages || manifest.source.format === 'dpr-tsv') {
    for await (const p of SnapshotRetriever.readPassages(store, manifest)) if (want.has(p.id)) out.set(p.id, p);
    return out;
  }
  const raw = await store.get(manifest.pages.key);
  if (sha256(raw) !== manifest.pages.sha256) throw new ShardIntegrityError(`page table ${manifest.pages.key} does not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
  const pages = new Map<string, PageRow>();
  for (const row of parsePageTable(raw, manifest.pages.key)) pages.set(row.p, row);
  const byShard = new Map<number, ShardEntry>(manifest.shards.map((s) => [s.shard, s]));
  const rowsOf = new Map<number, Map<number, string>>();
  for (const id of want) {
    const at = locate(pages, id);
    if (!at) continue;
    const m = rowsOf.get(at.shard) ?? new Map<number, string>();
    m.set(at.row, id);
    rowsOf.set(at.shard, m);
  }
  for (const [shardNo, rows] of rowsOf) {
    const s = byShard.get(shardNo);
    if (!s) throw new ShardIntegrityError(`the page table of ${manifest.id} names shard ${shardNo}, which the manifest does not have`);
    const deleted = await readDeleted(store, s);
    // Without row offsets (older snapshots) the shard is read once for all its ids.
    const whole = s.offsets ? undefined : parsePassageShard(await store.get(s.passagesKey), s.passagesKey);
    const sums = s.offsets && s.passagesRowSums ? await store.get(s.passagesRowSums.key) : undefined;
    if (sums && sha256(sums) !== s.passagesRowSums!.sha256) throw new ShardIntegrityError(`row digests ${s.passagesRowSums!.key} do not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
    for (const [row, id] of rows) {
      if (deleted.has(row)) continue;
      const p = whole ? whole[row] : await readShardRow(store, s, row, sums);
      if (!p) throw new ShardIntegrityError(`shard ${shardNo} has no row ${row}`, { hint: 'the snapshot is damaged; rebuild it' });
      if (p.id !== id) throw new ShardIntegrityError(`row ${row} of shard ${shardNo} holds ${p.id}, the page table says ${id}`, { hint: 'the snapshot is damaged; rebuild it' });
      out.set(id, p);
    }
  }
  return out;
}

/** Where passage `${page}-${ordinal}` is, by its page's runs of rows. */
function locate(pages: Map<string, PageRow>, id: string): { shard: number; row: number } | undefined {
  const dash = id.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const page = pages.get(id.slice(0, dash));
  const ordinal = Number(id.slice(dash + 1));
  if (!page || !Number.isInteger(ordinal) || ordinal < 0 || ordinal >= page.h.length) return undefined;
  let n = ordinal;
  for (const [shard, first, count] of page.loc) {
    if (n < count) return { shard, row: first + n };
    n -= count;
  }
  return undefined;
}

/** One row through the shard's offsets: two range reads, the row checked against its own hash. */
async function readShardRow(store: ObjectStore, s: ShardEntry, row: number, sums: Buffer | undefined): Promise<Passage> {
  const raw = await store.getRange(s.offsets!.key, row * 4, (row + 2) * 4);
  const bytes = await store.getRange(s.passagesKey, raw.readUInt32LE(0), raw.readUInt32LE(4));
  if (sums) checkRowSum(sums, row, bytes, s.passagesKey);
  return parseCheckedPassage(bytes.toString('utf8'), `row ${row} of ${s.passagesKey}`, 'the object was altered; rebuild the snapshot');
}
