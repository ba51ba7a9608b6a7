import type { Redis } from 'ioredis';

/**
 * Build progress lives in one Redis hash per snapshot, written by workers and read by
 * the CLI's progress bars. Fields are per shard and overwritten (HSET), so retries never
 * double-count: passages, shards, encoded:<shard>, indexed:<shard>, total:shards.
 */
export function progressKey(prefix: string, snapshotId: string): string {
  return `${prefix}:progress:${snapshotId}`;
}

export interface BuildProgress {
  passages: number;
  shardsIngested: number;
  ingestDone: boolean;
  totalShards: number;
  vectors: number;
  shardsIndexed: number;
}

export async function readProgress(redis: Redis, prefix: string, snapshotId: string): Promise<BuildProgress> {
  const h = await redis.hgetall(progressKey(prefix, snapshotId));
  let vectors = 0;
  let indexed = 0;
  // Range jobs of a multistream dump count passages read (ingested:<range>) before the merge counts shards.
  let ranged = 0;
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('ingested:')) ranged += Number(v);
    else if (k.startsWith('encoded:')) vectors += Number(v);
    else if (k.startsWith('indexed:')) indexed += Number(v);
  }
  return {
    passages: Math.max(Number(h.passages ?? 0), ranged),
    shardsIngested: Number(h.shards ?? 0),
    ingestDone: h.ingestDone === '1',
    totalShards: Number(h.totalShards ?? 0),
    vectors,
    shardsIndexed: indexed,
  };
}

export async function clearProgress(redis: Redis, prefix: string, snapshotId: string): Promise<void> {
  await redis.del(progressKey(prefix, snapshotId));
}
