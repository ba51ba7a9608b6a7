import { z } from 'zod';
import { sha256, type Logger } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { WORK_PREFIX, putContent, type ContentKind } from '@rag/snapshot';
import { readMarker, writeMarker } from './build-markers.js';

/**
 * Stage results found by content, whatever snapshot id made them. A stage's marker lives under its
 * snapshot (`snapshots/<id>/_build/…`) and goes when gc tidies a published build, so a second build
 * of the same dump under another id (the demo's `enwiki-2016-sample`, then the README's `enwiki-2016`)
 * would find nothing and encode everything again. Every finished encode, index and train stage is
 * therefore also recorded under `work/<stage>/<ab>/<inputsSha256>.json`: the same marker, plus the
 * snapshot that made it. A stage whose own marker is missing looks there before doing the work.
 *
 * Entries are hints, not roots: gc keeps no object for them (it drops the entries whose objects it
 * frees), and an entry whose object is gone or no longer matches its sha256 is ignored and the work
 * redone. An object taken from an entry is read and checked in full, and rewritten when old, so gc's
 * grace period covers it until this build's own marker names it (as putContent does for new work).
 */
export type WorkStage = 'encode' | 'index' | 'train';

export function workKey(stage: WorkStage, inputsSha256: string): string {
  return `${WORK_PREFIX}${stage}/${inputsSha256.slice(0, 2)}/${inputsSha256}.json`;
}

/** An object a stage result names, with the kind it is stored as (its content key's extension). */
export interface WorkObject {
  key: string;
  sha256: string;
  kind: ContentKind;
}

const madeBySchema = z.object({ madeBy: z.string() });

/** Records a finished stage's marker as work anyone may find by its inputs. Best effort: a failure costs only reuse. */
export async function recordWork(store: ObjectStore, stage: WorkStage, snapshotId: string, marker: { inputsSha256: string }, logger?: Logger): Promise<void> {
  try {
    await writeMarker(store, workKey(stage, marker.inputsSha256), { ...marker, madeBy: snapshotId });
  } catch (err) {
    logger?.warn({ event: 'work.record.failed', stage, err: (err as Error).message }, 'could not record stage work for reuse');
  }
}

/**
 * The result of a stage made from `inputsSha256` by any earlier build, with its objects checked
 * (present, sha256) and refreshed; null when there is none or it no longer holds.
 */
export async function findWork<S extends z.ZodTypeAny>(
  store: ObjectStore,
  stage: WorkStage,
  inputsSha256: string,
  schema: S,
  objectsOf: (marker: z.infer<S>) => WorkObject[],
): Promise<(z.infer<S> & { madeBy: string }) | null> {
  const raw = await readMarker(store, workKey(stage, inputsSha256), z.unknown()).catch(() => null);
  const parsed = schema.safeParse(raw);
  const who = madeBySchema.safeParse(raw);
  if (!parsed.success || !who.success) return null;
  const marker = parsed.data as z.infer<S>;
  if ((marker as { inputsSha256?: string }).inputsSha256 !== inputsSha256) return null;
  for (const o of objectsOf(marker)) {
    const bytes = await store.get(o.key).catch(() => null);
    if (!bytes || sha256(bytes) !== o.sha256) {
      // A stale hint (its object freed or damaged): drop it, so parts of a split shard stop trusting it too.
      await store.delete(workKey(stage, inputsSha256)).catch(() => undefined);
      return null;
    }
    await putContent(store, bytes, o.kind);
  }
  return { ...(marker as object), madeBy: who.data.madeBy } as z.infer<S> & { madeBy: string };
}

/**
 * Whether a stage result for these inputs is on record and its objects exist (no read): what the part
 * jobs of a split shard check before encoding, leaving the full check to the shard's own job.
 */
export async function hasWork<S extends z.ZodTypeAny>(store: ObjectStore, stage: WorkStage, inputsSha256: string, schema: S, objectsOf: (marker: z.infer<S>) => WorkObject[]): Promise<boolean> {
  const m = await readMarker(store, workKey(stage, inputsSha256), schema).catch(() => null);
  if (!m || (m as { inputsSha256?: string }).inputsSha256 !== inputsSha256) return false;
  for (const o of objectsOf(m)) if (!(await store.exists(o.key).catch(() => false))) return false;
  return true;
}
