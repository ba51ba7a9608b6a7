import { ShardIntegrityError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { contentKeysIn } from './snapshot-gc.js';

/** Every content object a manifest (or marker) names, with its size where the JSON states one next to the key. */
export function namedObjects(doc: unknown): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    // `{key, bytes}` and the shard entry's `passagesKey/passagesBytes`, `embeddingsKey/embeddingsBytes`.
    for (const [k, val] of Object.entries(o)) {
      if (typeof val !== 'string' || !(k === 'key' || k.endsWith('Key'))) continue;
      const size = o[k === 'key' ? 'bytes' : `${k.slice(0, -3)}Bytes`];
      for (const c of contentKeysIn(val)) out.set(c, typeof size === 'number' ? size : out.get(c));
    }
    Object.values(o).forEach(visit);
  };
  visit(doc);
  // Anything else that looks like a content key (a field this walk does not know) is checked for presence.
  for (const c of contentKeysIn(JSON.stringify(doc))) if (!out.has(c)) out.set(c, undefined);
  return out;
}

/**
 * Checks that every object `doc` names exists (with the size stated for it): publish runs it on the
 * manifest before writing it, so a manifest never names a missing object, whatever went missing
 * while the build ran (offsets, deleted-rows lists and the page table included).
 */
export async function assertObjectsPresent(store: ObjectStore, doc: unknown, what: string): Promise<number> {
  const named = [...namedObjects(doc)];
  const bad: string[] = [];
  const limit = 16;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, named.length) }, async () => {
    while (next < named.length) {
      const [key, size] = named[next++]!;
      const info = await store.head(key);
      if (!info) bad.push(`${key} is missing`);
      else if (size !== undefined && info.size !== size) bad.push(`${key} has ${info.size} bytes, not ${size}`);
    }
  }));
  if (bad.length) {
    throw new ShardIntegrityError(`${what} names ${bad.length} object(s) that storage does not hold as named: ${bad.sort().slice(0, 3).join('; ')}${bad.length > 3 ? '; …' : ''}`, {
      hint: 're-run the build: stages whose objects are gone are redone (an object may have been collected by `snapshot gc` while the build was stopped)',
    });
  }
  return named.length;
}
