import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive, ObjectNotFoundError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { NightRunningError } from './nightly-errors.js';
import { nightLockKey } from './night-record.js';

interface LockBody {
  token: string;
  pid: number;
  host: string;
  night: string;
  startedAt: string;
}

/**
 * One nightly run per alias at a time, whoever starts it (a cron CLI, any number of coordinators): a
 * create-if-absent object refreshed while the night runs. A holder that stopped refreshing for `staleMs`
 * (killed, its machine gone) is taken over, by a delete that only succeeds if nobody refreshed it since.
 */
export class NightLock {
  private timer: NodeJS.Timeout | undefined;
  /** The heartbeat under way, if any: release waits for it, so it cannot rewrite the lock after the delete. */
  private refreshing: Promise<void> | undefined;

  private constructor(private readonly store: ObjectStore, private readonly key: string, private readonly body: LockBody, private readonly heartbeatMs: number) {}

  static async acquire(store: ObjectStore, alias: string, night: string, o: { staleMs?: number; heartbeatMs?: number } = {}): Promise<NightLock> {
    const staleMs = o.staleMs ?? 2 * 60_000;
    const heartbeatMs = o.heartbeatMs ?? Math.floor(staleMs / 5);
    const key = nightLockKey(alias);
    const body: LockBody = { token: randomUUID(), pid: process.pid, host: hostname(), night, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await store.putIfAbsent(key, JSON.stringify(body))) {
        const lock = new NightLock(store, key, body, heartbeatMs);
        lock.start();
        return lock;
      }
      const info = await store.head(key);
      if (!info) continue; // released meanwhile
      const holder = await readBody(store, key);
      // A holder on this machine whose process is gone (kill -9, a crash) is taken over at once.
      const deadHere = holder !== undefined && holder.host === body.host && !processAlive(holder.pid);
      if (!deadHere && Date.now() - info.modifiedMs < staleMs) {
        throw new NightRunningError(`a nightly run of ${alias} is already running${holder ? ` (night ${holder.night}, pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})` : ''}`, {
          hint: `it is not started twice; if that process is gone, its lock ${key} is taken over ${Math.round(staleMs / 60_000)} min after its last refresh`,
        });
      }
      await store.deleteIfUnmodifiedSince(key, info.modifiedMs);
    }
    throw new NightRunningError(`could not take the nightly lock ${key}: other runs are taking it at the same time`);
  }

  private start(): void {
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh().catch(() => undefined).finally(() => { this.refreshing = undefined; });
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Rewrites the lock (its modification time is the heartbeat), unless another run took it over. */
  private async refresh(): Promise<void> {
    const cur = await readBody(this.store, this.key);
    if (cur?.token !== this.body.token) return;
    await this.store.put(this.key, JSON.stringify(this.body));
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    const cur = await readBody(this.store, this.key).catch(() => undefined);
    if (cur?.token === this.body.token) await this.store.delete(this.key);
  }
}

async function readBody(store: ObjectStore, key: string): Promise<LockBody | undefined> {
  try {
    return JSON.parse((await store.get(key)).toString('utf8')) as LockBody;
  } catch (err) {
    if (err instanceof ObjectNotFoundError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
