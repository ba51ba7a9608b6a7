import { ShardIntegrityError, UsageError, sha256 } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, SnapshotRegistry, holdPublished, parseManifest, parsePageTable, type PageRow, type SnapshotManifest } from '@rag/snapshot';

/** A published snapshot read as the base of an incremental build: manifest, page table, deleted rows. */
export interface BaseSnapshot {
  manifest: SnapshotManifest;
  /** sha256 of the manifest bytes: part of the ingest inputs, so another base redoes ingest. */
  manifestSha256: string;
  /** Page id → row. */
  pages: Map<string, PageRow>;
  /** Deleted rows per shard (index = shard position in the manifest). */
  deleted: (number[] | undefined)[];
  getVerified(key: string, sha: string): Promise<Buffer>;
}

/**
 * With `build`, the base is held for that build first (snapshot-holds.ts): `snapshot rm` of the base
 * is refused until the build publishes or is given up, and a base being removed is refused here.
 */
export async function loadBase(store: ObjectStore, id: string, build?: string): Promise<BaseSnapshot> {
  await new SnapshotRegistry(store).read(id); // the clear "not published" error
  if (build) await holdPublished(store, id, { v: 1, kind: 'build', build, at: new Date().toISOString() }, `cannot build ${build} on base ${id}`);
  const key = new SnapshotLayout(id).manifest;
  const bytes = await store.get(key);
  const manifest = parseManifest(bytes, key);
  if (!manifest.pages) {
    throw new UsageError(`base snapshot ${id} has no page table (it was built before incremental builds existed)`, {
      hint: `build the next snapshot once without --base; that one can be the base of later builds`,
    });
  }
  const getVerified = async (k: string, sha: string): Promise<Buffer> => {
    const b = await store.get(k);
    if (sha256(b) !== sha) throw new ShardIntegrityError(`${k} of base snapshot ${id} does not match its sha256`, { hint: 'the base snapshot was altered; build without --base' });
    return b;
  };
  const pages = new Map<string, PageRow>();
  for (const row of parsePageTable(await getVerified(manifest.pages.key, manifest.pages.sha256), manifest.pages.key)) pages.set(row.p, row);
  const deleted: (number[] | undefined)[] = [];
  for (const s of manifest.shards) {
    deleted.push(s.deleted ? (JSON.parse((await getVerified(s.deleted.key, s.deleted.sha256)).toString('utf8')) as number[]) : undefined);
  }
  return { manifest, manifestSha256: sha256(bytes), pages, deleted, getVerified };
}
