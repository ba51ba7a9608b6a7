import type { Redis } from 'ioredis';
import { QA_QUEUE, STAGES } from '@rag/queue';

/** Queues the project itself defines: always shown, also before their first job. */
export const KNOWN_QUEUES: readonly string[] = [...STAGES, QA_QUEUE];

/** Keys BullMQ keeps per queue (`<prefix>:<queue>:<suffix>`); any one of them means the queue exists. */
const QUEUE_SUFFIXES = new Set(['meta', 'id', 'events', 'wait', 'active', 'completed', 'failed', 'delayed', 'paused', 'prioritized', 'waiting-children']);
/** Our own non-queue keys of the same shape (`<prefix>:progress:<snapshot>`, `<prefix>:alias-lock:<alias>`). */
const NOT_QUEUES = new Set(['progress', 'alias-lock']);

/**
 * Every BullMQ queue under `prefix`: the known ones plus any other that has keys in Redis
 * (queues added later, or by other tools), sorted. One SCAN over the prefix, so call it rarely.
 */
export async function discoverQueues(redis: Redis, prefix: string, known: readonly string[] = KNOWN_QUEUES): Promise<string[]> {
  const names = new Set(known);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const parts = key.slice(prefix.length + 1).split(':');
      if (parts.length === 2 && parts[0] && !NOT_QUEUES.has(parts[0]) && QUEUE_SUFFIXES.has(parts[1]!)) names.add(parts[0]);
    }
  } while (cursor !== '0');
  return [...names].sort();
}
