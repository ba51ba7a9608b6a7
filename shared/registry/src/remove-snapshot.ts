import { REMOVED_PREFIX, SnapshotLayout, SnapshotRegistry, contentKeysIn } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import type { AliasRegistry } from './alias-registry.js';
import { SnapshotInUseError } from './alias-errors.js';

/**
 * Unpublishes a snapshot: refused while an alias points at it; else the manifest goes first (from
 * then on the snapshot does not exist for readers), then its own prefix. Content objects it shared
 * with other snapshots stay; `snapshot gc` frees the ones nothing references any more.
 */
export async function removeSnapshot(store: ObjectStore, aliases: AliasRegistry, id: string): Promise<{ deletedKeys: number }> {
  await new SnapshotRegistry(store).read(id); // not published → the usual clear error
  const pointing = (await aliases.list()).filter((a) => a.snapshot === id);
  if (pointing.length > 0) {
    throw new SnapshotInUseError(`snapshot ${id} is what alias ${pointing.map((a) => a.name).join(', ')} points at; removing it would break readers`, {
      hint: `point the alias elsewhere first (./rag alias set ${pointing[0]!.name} OTHER-SNAPSHOT), then remove it`,
    });
  }
  const layout = new SnapshotLayout(id);
  // What it held, for gc to tell the bytes this removal frees from leftovers of earlier builds.
  const manifest = (await store.get(layout.manifest)).toString('utf8');
  const removedAt = new Date().toISOString();
  await store.put(`${REMOVED_PREFIX}${id}.${removedAt.replace(/[:.]/g, '-')}.json`, JSON.stringify({ id, removedAt, objects: [...new Set(contentKeysIn(manifest))] }) + '\n');
  await store.delete(layout.manifest);
  const deletedKeys = 1 + (await store.deletePrefix(`${layout.root}/`));
  return { deletedKeys };
}
