import type { z } from 'zod';
import { ShardIntegrityError, sha256 } from '@rag/core';
import type { ObjectStore } from '@rag/storage';

/** Reads a JSON marker if it exists and parses; a marker that does not parse is treated as absent (redo the stage). */
export async function readMarker<S extends z.ZodTypeAny>(store: ObjectStore, key: string, schema: S): Promise<z.infer<S> | null> {
  if (!(await store.exists(key))) return null;
  const parsed = schema.safeParse(safeJson(await store.get(key)));
  return parsed.success ? parsed.data : null;
}

export async function requireMarker<S extends z.ZodTypeAny>(store: ObjectStore, key: string, schema: S, what: string): Promise<z.infer<S>> {
  const m = await readMarker(store, key, schema);
  if (!m) throw new ShardIntegrityError(`${what} is missing (${key})`, { hint: 'the stage that writes it has not finished; re-run the build to resume' });
  return m;
}

export async function writeMarker(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n');
}

function safeJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** sha256 of a stage's inputs, as canonical JSON: markers count only for the inputs they were made from. */
export function inputsSha256(inputs: Record<string, unknown>): string {
  return sha256(JSON.stringify(inputs, Object.keys(inputs).sort()));
}
