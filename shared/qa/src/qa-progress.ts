import type { Redis } from 'ioredis';

/** A Redis hash per run: field c<chunk> is set once the chunk's results are stored. */
export function qaProgressKey(prefix: string, runId: string): string {
  return `${prefix}:qa-progress:${runId}`;
}

export async function readQaProgress(redis: Redis, prefix: string, runId: string): Promise<number> {
  return redis.hlen(qaProgressKey(prefix, runId));
}
