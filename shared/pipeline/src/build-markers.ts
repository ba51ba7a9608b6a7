import type { z } from 'zod';
import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import { assertObjectsPresent } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import { assertFence, type BuildFence } from './build-lease.js';

/** Reads a JSON marker if it exists and parses; a marker that does not parse is treated as absent (redo the stage). */
export async function readMarker<S extends z.ZodTypeAny>(store: ObjectStore, key: string, schema: S): Promise<z.infer<S> | null> {
  if (!(await store.exists(key))) return null;
  const parsed = schema.safeParse(safeJson(await store.get(key)));
  return parsed.success ? parsed.data : null;
}

/**
 * The marker that lets a stage skip its work: only if every object it names is still in storage
 * (with the size it states). A marker whose objects went missing (collected by gc while the build
 * was stopped, deleted by hand) reads as absent, so the stage is redone instead of handing on keys
 * that resolve to nothing.
 */
export async function readDoneMarker<S extends z.ZodTypeAny>(store: ObjectStore, key: string, schema: S, logger?: Logger): Promise<z.infer<S> | null> {
  const m = await readMarker(store, key, schema);
  if (!m) return null;
  try {
    await assertObjectsPresent(store, m, `marker ${key}`);
  } catch (err) {
    // A storage error is not a missing object: it fails the job (retried), rather than redoing the stage.
    if (!(err instanceof ShardIntegrityError)) throw err;
    logger?.warn({ event: 'marker.objects-missing', key, err: err.message }, 'a stage marker names objects storage no longer holds; redoing the stage');
    return null;
  }
  return m;
}

export async function requireMarker<S extends z.ZodTypeAny>(store: ObjectStore, key: string, schema: S, what: string): Promise<z.infer<S>> {
  const m = await readMarker(store, key, schema);
  if (!m) throw new ShardIntegrityError(`${what} is missing (${key})`, { hint: 'the stage that writes it has not finished; re-run the build to resume' });
  return m;
}

/**
 * Writes a stage's marker; with the job that made it, checks first that the job's build still owns
 * the snapshot id (build-lease.ts assertFence).
 */
export async function writeMarker(store: ObjectStore, key: string, value: unknown, job?: { snapshotId: string; fence?: BuildFence }): Promise<void> {
  if (job) await assertFence(store, job);
  await store.put(key, JSON.stringify(value, null, 2) + '\n');
}

function safeJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * sha256 of a stage's inputs, as canonical JSON (keys sorted at every depth): markers, and work found by
 * its inputs (stage-work.ts), count only for the inputs they were made from. Every nested field counts:
 * a replacer list of the top-level keys (as this once was) would drop nested ones, such as the quantizer
 * of an index request, and let a result made under one quantizer pass for another.
 */
export function inputsSha256(inputs: Record<string, unknown>): string {
  return sha256(canonicalJson(inputs));
}

/** JSON with object keys sorted at every depth; arrays keep their order; undefined fields are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  return `{${entries.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
