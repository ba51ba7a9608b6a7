import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '@rag/core';

/**
 * Which model fingerprints live generate workers can answer with, kept in Redis so that a worker
 * holding a chunk queued for other models knows whether to leave it for a matching worker (one is
 * alive, however busy) or to fail it (none is). Without it a mismatched worker could only guess
 * with a clock, and a busy matching worker, slower than that clock, lost chunks to it.
 *
 * One sorted set per fingerprint: member = worker id, score = when its announcement expires (epoch
 * ms). Workers refresh well inside the TTL, withdraw on a clean stop, and a killed worker's entry
 * simply runs out.
 */
export const MODEL_PRESENCE_TTL_MS = 30_000;

export function modelPresenceKey(prefix: string, fingerprint: string): string {
  return `${prefix}:qa:models:${fingerprint}`;
}

/** Whether some live worker announced these models (an expired announcement does not count). */
export async function modelsServed(redis: Redis, prefix: string, fingerprint: string, now = Date.now()): Promise<boolean> {
  return (await redis.zcount(modelPresenceKey(prefix, fingerprint), now, '+inf')) > 0;
}

export interface ModelPresenceOptions {
  redis: Redis;
  prefix: string;
  logger: Logger;
  ttlMs?: number;
}

export class ModelPresence {
  readonly id = randomUUID();
  private readonly ttlMs: number;
  private fingerprints: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ModelPresenceOptions) {
    this.ttlMs = o.ttlMs ?? MODEL_PRESENCE_TTL_MS;
  }

  /** Announces these fingerprints now and every third of the TTL until stop(). */
  async start(fingerprints: readonly string[]): Promise<void> {
    this.fingerprints = [...new Set(fingerprints)];
    await this.refresh();
    if (this.stopped) return;
    this.o.logger.info({ event: 'qa.models.announced', fingerprints: this.fingerprints, worker: this.id }, 'answering with these models');
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.o.logger.warn({ event: 'qa.models.announce_failed', err: (err as Error).message }, 'could not refresh the models this worker serves'));
    }, Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    if (this.stopped || this.fingerprints.length === 0) return;
    const now = Date.now();
    const m = this.o.redis.multi();
    for (const fp of this.fingerprints) {
      const key = modelPresenceKey(this.o.prefix, fp);
      m.zremrangebyscore(key, '-inf', now); // others' expired entries
      m.zadd(key, now + this.ttlMs, this.id);
      m.pexpire(key, this.ttlMs * 2); // the whole set goes once nobody refreshes it
    }
    await m.exec();
  }

  /** Withdraws the announcement (a clean stop): mismatched workers stop waiting for this one at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.fingerprints.length === 0) return;
    const m = this.o.redis.multi();
    for (const fp of this.fingerprints) m.zrem(modelPresenceKey(this.o.prefix, fp), this.id);
    await m.exec().catch(() => undefined); // Redis gone: the entries run out by themselves
  }
}
