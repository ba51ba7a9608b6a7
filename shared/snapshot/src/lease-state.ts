import { ObjectNotFoundError, StorageError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { z } from 'zod';

/**
 * Build leases as stored (`leases/build/<id>/<generation>.json`), for the readers that must not act
 * on a build that is alive: `snapshot rm` of an unfinished build or of a build's base, and gc's
 * abandoned-build rule. @rag/pipeline's BuildLease writes them.
 */
export const LEASES_PREFIX = 'leases/build/';

export const buildLeaseSchema = z.object({
  v: z.literal(1),
  snapshotId: z.string(),
  generation: z.number().int().min(1),
  owner: z.object({ host: z.string(), pid: z.number().int(), token: z.string() }),
  /** buildRequestSha256 of what the holder builds: the same digest means the same build. */
  requestSha256: z.string(),
  /** The holder's request essentials, to tell a refused user what differs. */
  request: z.record(z.string(), z.unknown()).optional(),
  acquiredAt: z.string(),
  heartbeatAt: z.string(),
  ttlMs: z.number().int().min(1),
  /** Given up by its holder: free to take. Kept (not deleted) so that generation numbers only grow. */
  released: z.boolean().optional(),
});
export type BuildLeaseRecord = z.infer<typeof buildLeaseSchema>;

export function leaseKey(snapshotId: string, generation: number): string {
  return `${LEASES_PREFIX}${snapshotId}/${String(generation).padStart(10, '0')}.json`;
}

export function generationOf(key: string): number {
  return Number(/(\d+)\.json$/.exec(key)?.[1] ?? NaN);
}

/** Waits before reading a lease again whose bytes are not whole JSON (a PUT still in flight on s3rver). */
const TORN_RETRIES_MS = [50, 150, 400];

/**
 * The lease at `key`: null only when it does not exist. A read error is thrown (a transient GET
 * failure must not read as "expired" and hand the build to a second process); bytes that stay
 * unparsable are an error too.
 */
export async function readLease(store: ObjectStore, key: string): Promise<BuildLeaseRecord | null> {
  for (let attempt = 0; ; attempt++) {
    let bytes: Buffer;
    try {
      bytes = await store.get(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
    let json: unknown;
    try { json = JSON.parse(bytes.toString('utf8')); } catch { json = undefined; }
    const parsed = buildLeaseSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    if (attempt >= TORN_RETRIES_MS.length) {
      throw new StorageError(`build lease ${key} in ${store.description} is not a lease record`, {
        hint: 'delete it if no build of that snapshot runs (it was written by something else)',
      });
    }
    await new Promise((r) => setTimeout(r, TORN_RETRIES_MS[attempt]));
  }
}

/** The newest generation of `snapshotId`'s lease, with its key; undefined when none was ever taken. */
export async function readTopLease(store: ObjectStore, snapshotId: string): Promise<{ key: string; generation: number; record: BuildLeaseRecord | null; keys: string[] } | undefined> {
  const keys = (await store.list(`${LEASES_PREFIX}${snapshotId}/`)).filter((k) => Number.isFinite(generationOf(k)));
  if (keys.length === 0) return undefined;
  const key = keys.reduce((a, b) => (generationOf(a) > generationOf(b) ? a : b));
  return { key, generation: generationOf(key), record: await readLease(store, key), keys };
}

/** Held and renewed within its TTL (by the reader's clock). */
export function isLeaseLive(r: BuildLeaseRecord | null | undefined, now = Date.now()): r is BuildLeaseRecord {
  return !!r && !r.released && now - Date.parse(r.heartbeatAt) < r.ttlMs;
}
