import { Redis, type RedisOptions } from 'ioredis';
import { QueueUnavailableError, redactUrl } from '@rag/core';

/** ioredis as BullMQ requires it: no per-request retry limit (workers block on BRPOPLPUSH). */
export function createRedisConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...extra });
}

/**
 * Fails fast with an actionable error when Redis cannot be reached, instead of letting
 * BullMQ retry forever in the background.
 */
export async function assertRedisReachable(url: string, timeoutMs = 5000): Promise<void> {
  const probe = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const policy = await probe.config('GET', 'maxmemory-policy').catch(() => null);
    const value = Array.isArray(policy) ? policy[1] : undefined;
    if (value && value !== 'noeviction') {
      throw new QueueUnavailableError(`Redis at ${redactUrl(url)} has maxmemory-policy=${value}; BullMQ needs noeviction`, {
        retryable: false,
        hint: 'run: redis-cli CONFIG SET maxmemory-policy noeviction',
      });
    }
  } catch (err) {
    if (err instanceof QueueUnavailableError) throw err;
    throw new QueueUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`, {
      cause: err,
      hint: 'start Redis or fix REDIS_URL; unset REDIS_URL to use a private embedded redis-server',
    });
  } finally {
    probe.disconnect();
  }
}
