import { randomUUID } from 'node:crypto';
import { ObjectNotFoundError, SnapshotNotReadyError, SnapshotRetiringError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { z } from 'zod';
import { SnapshotLayout } from './snapshot-layout.js';

/**
 * Removing a snapshot is a state change that the writers which depend on it check, not a delete
 * that races them. Two kinds of objects under the snapshot's own prefix:
 *
 *   snapshots/<id>/retiring.json          `snapshot rm` is removing it (written first, before any check)
 *   snapshots/<id>/holds/<holder>.json    something is about to depend on it: an alias flip to it
 *                                         (`alias.<name>.<version>`) or a build that reads it as its base
 *                                         or quantizer source (`build.<build id>`)
 *
 * A dependent writes its hold and then checks `retiring.json`; `snapshot rm` writes `retiring.json`
 * and then reads every hold. Each writes before it reads, so on a store with read-after-write
 * consistency (local disks, AWS S3, MinIO) at least one of the two sees the other: either the
 * dependent backs off or rm refuses (or fences the dependent, see remove-snapshot.ts), never both
 * go ahead. Holds are never trusted by age: rm decides from the alias history and the build's own
 * state whether a hold is live.
 */
export const holdRecordSchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1), kind: z.literal('alias'), alias: z.string(), version: z.number().int().min(1), at: z.string() }),
  z.object({ v: z.literal(1), kind: z.literal('build'), build: z.string(), at: z.string() }),
]);
export type HoldRecord = z.infer<typeof holdRecordSchema>;

export const retiringRecordSchema = z.object({ v: z.literal(1), token: z.string(), at: z.string(), by: z.string() });
export type RetiringRecord = z.infer<typeof retiringRecordSchema>;

export function retiringKey(id: string): string {
  return `${new SnapshotLayout(id).root}/retiring.json`;
}

export function holdsPrefix(id: string): string {
  return `${new SnapshotLayout(id).root}/holds/`;
}

export function holdKey(id: string, hold: Pick<HoldRecord, 'kind'> & { alias?: string; version?: number; build?: string }): string {
  const name = hold.kind === 'alias' ? `alias.${hold.alias}.${String(hold.version).padStart(12, '0')}` : `build.${hold.build}`;
  return `${holdsPrefix(id)}${name}.json`;
}

/** Writes a hold on `id` (idempotent: same holder, same key). */
export async function placeHold(store: ObjectStore, id: string, hold: HoldRecord): Promise<string> {
  const key = holdKey(id, hold);
  await store.put(key, JSON.stringify(hold) + '\n');
  return key;
}

export async function readRetiring(store: ObjectStore, id: string): Promise<RetiringRecord | undefined> {
  let bytes: Buffer;
  try {
    bytes = await store.get(retiringKey(id));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  // Unreadable bytes still mean "being removed": fail closed.
  const parsed = retiringRecordSchema.safeParse(safeJson(bytes));
  return parsed.success ? parsed.data : { v: 1, token: '?', at: '?', by: '?' };
}

/** Every hold on `id`, parsed; a hold that does not parse is returned as undefined (and counts as live). */
export async function listHolds(store: ObjectStore, id: string): Promise<Array<{ key: string; hold: HoldRecord | undefined }>> {
  const out: Array<{ key: string; hold: HoldRecord | undefined }> = [];
  for (const key of await store.list(holdsPrefix(id))) {
    let bytes: Buffer;
    try {
      bytes = await store.get(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) continue; // released meanwhile
      throw err;
    }
    const parsed = holdRecordSchema.safeParse(safeJson(bytes));
    out.push({ key, hold: parsed.success ? parsed.data : undefined });
  }
  return out;
}

/**
 * Holds `id` for `hold`, then checks that it is published and not being removed; on failure the
 * hold is taken back and the error says why. On success the caller may depend on `id` until it
 * releases the hold (or, for an alias, until the alias points elsewhere).
 */
export async function holdPublished(store: ObjectStore, id: string, hold: HoldRecord, what: string): Promise<string> {
  const key = await placeHold(store, id, hold);
  try {
    const retiring = await readRetiring(store, id);
    if (retiring) {
      throw new SnapshotRetiringError(`${what}: snapshot ${id} is being removed (snapshot rm ${retiring.at !== '?' ? `since ${retiring.at}` : 'in progress'})`, {
        hint: 'choose another snapshot; if that removal died, run ./rag snapshot rm again to finish it',
      });
    }
    if (!(await store.exists(new SnapshotLayout(id).manifest))) {
      throw new SnapshotNotReadyError(`${what}: snapshot ${id} is not published in ${store.description}`, {
        hint: './rag snapshot list shows what exists',
      });
    }
    return key;
  } catch (err) {
    await store.delete(key).catch(() => undefined);
    throw err;
  }
}

/** A fresh token for a removal, so that rm only ever takes back its own retiring mark. */
export function newRetiringRecord(by: string): RetiringRecord {
  return { v: 1, token: randomUUID(), at: new Date().toISOString(), by };
}

function safeJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}
