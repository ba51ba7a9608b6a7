import {
  REMOVED_PREFIX, SnapshotLayout, SnapshotRegistry, contentKeysIn, isLeaseLive, listHolds, newRetiringRecord, readRetiring, readTopLease, retiringKey,
} from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import { SnapshotNotReadyError } from '@rag/core';
import type { AliasRegistry } from './alias-registry.js';
import { SnapshotInUseError } from './alias-errors.js';

export interface RemoveResult {
  deletedKeys: number;
  /** What was removed: a published snapshot, or the state of a build that never published. */
  kind: 'snapshot' | 'unfinished-build';
}

/**
 * Unpublishes a snapshot, as a state change that alias flips and builds check (snapshot-holds.ts):
 *
 *   1. write `retiring.json` (from now on no flip and no build may start to depend on it);
 *   2. read every hold and every alias: an alias that points at it, or a build that reads it as its
 *      base and has not finished, refuses the removal (the mark is taken back); a flip that holds it
 *      but has not claimed its alias version yet is fenced by claiming that version as void;
 *   3. record what it held (for gc's report), delete the manifest (it no longer exists for readers),
 *      then its own prefix.
 *
 * Content objects it shared stay; `snapshot gc` frees the ones nothing references any more. An id
 * with no manifest but build markers is an unfinished build: its state is removed unless its lease
 * is live. A removal that died after step 3 started is finished by running it again.
 */
export async function removeSnapshot(store: ObjectStore, aliases: AliasRegistry, id: string, o: { by?: string } = {}): Promise<RemoveResult> {
  const layout = new SnapshotLayout(id);
  const registry = new SnapshotRegistry(store);
  if (!(await registry.isPublished(id))) return removeUnpublished(store, registry, id);
  const mark = newRetiringRecord(o.by ?? `pid ${process.pid}`);
  await store.put(retiringKey(id), JSON.stringify(mark) + '\n');
  try {
    const why = await liveDependents(store, aliases, id);
    if (why.length > 0) {
      throw new SnapshotInUseError(`snapshot ${id} is in use: ${why.map((w) => w.what).join('; ')}; removing it would break ${why.some((w) => w.alias) ? 'readers' : 'that build'}`, {
        hint: why.find((w) => w.hint)?.hint,
      });
    }
  } catch (err) {
    // Take back our own mark only (a later rm may have written its own meanwhile).
    const now = await readRetiring(store, id).catch(() => undefined);
    if (now?.token === mark.token) await store.delete(retiringKey(id)).catch(() => undefined);
    throw err;
  }
  // What it held, for gc to tell the bytes this removal frees from leftovers of earlier builds.
  const manifest = (await store.get(layout.manifest)).toString('utf8');
  const removedAt = new Date().toISOString();
  await store.put(`${REMOVED_PREFIX}${id}.${removedAt.replace(/[:.]/g, '-')}.json`, JSON.stringify({ id, removedAt, objects: [...new Set(contentKeysIn(manifest))] }) + '\n');
  await store.delete(layout.manifest);
  const deletedKeys = 1 + (await store.deletePrefix(`${layout.root}/`));
  return { deletedKeys, kind: 'snapshot' };
}

interface Dependent {
  what: string;
  alias?: string;
  hint?: string;
}

/** Aliases that point at `id` and builds that depend on it, after fencing flips still in flight. */
async function liveDependents(store: ObjectStore, aliases: AliasRegistry, id: string): Promise<Dependent[]> {
  const out: Dependent[] = [];
  const registry = new SnapshotRegistry(store);
  for (const { key, hold } of await listHolds(store, id)) {
    if (!hold) {
      out.push({ what: `hold ${key} is unreadable`, hint: `look at it; delete it if nothing depends on ${id}, then remove again` });
      continue;
    }
    if (hold.kind === 'alias') {
      // A flip that held `id` but has not claimed its version: claim it as void, so the flip fails.
      const rec = await aliases.voidVersion(hold.alias, hold.version, `snapshot rm ${id} fenced a flip to it that had not finished`);
      if (rec.voided || rec.snapshot !== id) await store.delete(key).catch(() => undefined);
      // A flip that did claim is judged below, by what the alias points at now.
      continue;
    }
    if (await registry.isPublished(hold.build)) {
      await store.delete(key).catch(() => undefined);
      continue;
    }
    const markers = await store.list(new SnapshotLayout(hold.build).buildPrefix);
    const lease = await readTopLease(store, hold.build);
    if (markers.length > 0 || isLeaseLive(lease?.record)) {
      out.push({
        what: `build ${hold.build} reads it as its base${isLeaseLive(lease?.record) ? ' and is running' : ' and has not finished'}`,
        hint: `let that build finish (re-run its ./rag snapshot build), or give it up with ./rag snapshot rm ${hold.build}, then remove ${id}`,
      });
    } else {
      await store.delete(key).catch(() => undefined);
    }
  }
  for (const a of await aliases.list()) {
    if (a.snapshot === id) out.push({ what: `alias ${a.name} points at it`, alias: a.name, hint: `point the alias elsewhere first (./rag alias set ${a.name} OTHER-SNAPSHOT), then remove it` });
  }
  return out;
}

/** A removal that died half way (finish it), or an unfinished build's state (drop it, unless it runs). */
async function removeUnpublished(store: ObjectStore, registry: SnapshotRegistry, id: string): Promise<RemoveResult> {
  const layout = new SnapshotLayout(id);
  const keys = await store.list(`${layout.root}/`);
  const retiring = await readRetiring(store, id);
  const markers = keys.filter((k) => k.startsWith(layout.buildPrefix));
  if (!retiring && markers.length === 0) {
    await registry.read(id); // the usual "not published" error
    throw new SnapshotNotReadyError(`snapshot ${id} is not published`);
  }
  if (!retiring) {
    const lease = await readTopLease(store, id);
    if (isLeaseLive(lease?.record)) {
      throw new SnapshotInUseError(`snapshot ${id} is an unfinished build that is running now (pid ${lease!.record!.owner.pid} on ${lease!.record!.owner.host})`, {
        hint: 'stop that build first (Ctrl-C lets it give up its lease), then remove it',
      });
    }
  }
  const deletedKeys = await store.deletePrefix(`${layout.root}/`);
  return { deletedKeys, kind: retiring ? 'snapshot' : 'unfinished-build' };
}
