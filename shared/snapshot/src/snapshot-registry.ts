import { SnapshotNotReadyError, ShardIntegrityError, assertSnapshotId } from '@rag/core';
import { manifestSchema, type SnapshotManifest } from './snapshot-manifest.schema.js';
import { SnapshotLayout, SNAPSHOTS_PREFIX } from './snapshot-layout.js';
import type { ObjectStore } from '@rag/storage';

/**
 * Published snapshots as storage knows them: a snapshot exists iff its manifest does.
 * Storage is the source of truth; callers may cache.
 */
export class SnapshotRegistry {
  constructor(private readonly store: ObjectStore) {}

  async isPublished(id: string): Promise<boolean> {
    return this.store.exists(new SnapshotLayout(id).manifest);
  }

  async read(id: string): Promise<SnapshotManifest> {
    assertSnapshotId(id);
    const key = new SnapshotLayout(id).manifest;
    if (!(await this.store.exists(key))) {
      throw new SnapshotNotReadyError(`snapshot ${id} is not published in ${this.store.description}`, {
        hint: `build it with: ./rag snapshot build --source PATH --snapshot ${id}; ./rag snapshot list shows what exists`,
      });
    }
    return parseManifest(await this.store.get(key), key);
  }

  /** Ids of published snapshots, sorted. Unfinished builds (no manifest) are not listed. */
  async listIds(): Promise<string[]> {
    const keys = await this.store.list(SNAPSHOTS_PREFIX);
    const ids = new Set<string>();
    for (const k of keys) {
      const m = /^snapshots\/([^/]+)\/manifest\.json$/.exec(k);
      if (m?.[1]) ids.add(m[1]);
    }
    return [...ids].sort();
  }

  async list(): Promise<SnapshotManifest[]> {
    const out: SnapshotManifest[] = [];
    for (const id of await this.listIds()) out.push(await this.read(id));
    return out;
  }
}

export function parseManifest(bytes: Uint8Array, key: string): SnapshotManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ShardIntegrityError(`manifest ${key} is not valid JSON`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ShardIntegrityError(`manifest ${key} does not match the manifest schema (v1 or v2): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'the snapshot was written by an incompatible version; rebuild it under a new id',
    });
  }
  return parsed.data;
}
