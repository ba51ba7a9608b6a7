import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { assertSnapshotId, type Logger } from '@rag/core';
import type { ObjectStore } from '@rag/storage';

/**
 * A build's claim on its snapshot id, kept in storage (the one thing two deployments that do not
 * share a Redis do share): two embedded-mode CLIs building the same id would otherwise each start a
 * private Redis and write the same keys.
 *
 * Leases are numbered generations, `leases/build/<id>/<generation>.json`, each created with
 * putIfAbsent (local: link(2), which fails if the name exists, like O_EXCL; S3: If-None-Match: *).
 * Taking over an expired lease n means creating n+1, so of two CLIs that find the same expired
 * lease exactly one wins. The holder rewrites its own generation as a heartbeat and checks that no
 * n+1 exists; if one does, it has lost the lease (it stalled past the TTL) and is told so.
 * Expiry compares the heartbeat with the reader's clock: hosts' clocks must agree to well within the TTL.
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

export interface BuildLeaseOptions {
  requestSha256: string;
  request?: Record<string, unknown>;
  /** A lease not renewed for this long is free to take. @defaultValue 30000 */
  ttlMs?: number;
  /** Heartbeat period. @defaultValue ttlMs / 3 */
  renewMs?: number;
  logger?: Logger;
  /** Called once if another process took the lease over (this one stalled past the TTL). */
  onLost?: (by: BuildLeaseRecord | null) => void;
  now?: () => number;
}

export type AcquireResult = { lease: BuildLease } | { heldBy: BuildLeaseRecord; expiresInMs: number };

function leaseKey(snapshotId: string, generation: number): string {
  return `${LEASES_PREFIX}${snapshotId}/${String(generation).padStart(10, '0')}.json`;
}

function generationOf(key: string): number {
  return Number(/(\d+)\.json$/.exec(key)?.[1] ?? NaN);
}

async function readLease(store: ObjectStore, key: string): Promise<BuildLeaseRecord | null> {
  try {
    const parsed = buildLeaseSchema.safeParse(JSON.parse((await store.get(key)).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // deleted meanwhile, or torn: treated as absent/expired
  }
}

export class BuildLease {
  private timer?: NodeJS.Timeout;
  private lost = false;
  private released = false;

  private constructor(
    private readonly store: ObjectStore,
    readonly record: BuildLeaseRecord,
    private readonly o: BuildLeaseOptions,
  ) {}

  /** Takes the lease if it is free or expired; otherwise says who holds it and for how long still. */
  static async acquire(store: ObjectStore, snapshotId: string, o: BuildLeaseOptions): Promise<AcquireResult> {
    assertSnapshotId(snapshotId);
    const now = o.now ?? Date.now;
    const ttlMs = o.ttlMs ?? 30_000;
    for (let attempt = 0; attempt < 10; attempt++) {
      const keys = (await store.list(`${LEASES_PREFIX}${snapshotId}/`)).filter((k) => Number.isFinite(generationOf(k)));
      const top = keys.length ? keys.reduce((a, b) => (generationOf(a) > generationOf(b) ? a : b)) : undefined;
      let next = 1;
      if (top) {
        const held = await readLease(store, top);
        if (held && !held.released) {
          const age = now() - Date.parse(held.heartbeatAt);
          if (age < held.ttlMs) return { heldBy: held, expiresInMs: held.ttlMs - age };
        }
        next = generationOf(top) + 1;
      }
      const at = new Date(now()).toISOString();
      const record: BuildLeaseRecord = {
        v: 1, snapshotId, generation: next,
        owner: { host: hostname(), pid: process.pid, token: randomBytes(8).toString('hex') },
        requestSha256: o.requestSha256, ...(o.request ? { request: o.request } : {}),
        acquiredAt: at, heartbeatAt: at, ttlMs,
      };
      if (await store.putIfAbsent(leaseKey(snapshotId, next), JSON.stringify(record, null, 2) + '\n')) {
        // Older generations are history now; leftovers would only slow the listing.
        for (const k of keys) await store.delete(k).catch(() => undefined);
        const lease = new BuildLease(store, record, o);
        lease.startHeartbeat();
        o.logger?.debug({ event: 'build.lease-acquired', snapshotId, generation: next }, 'build lease acquired');
        return { lease };
      }
      // Someone else created that generation first: look again.
    }
    throw new Error(`could not settle the build lease of ${snapshotId} after 10 attempts`);
  }

  get isLost(): boolean {
    return this.lost;
  }

  private startHeartbeat(): void {
    const every = this.o.renewMs ?? Math.max(100, Math.floor(this.record.ttlMs / 3));
    this.timer = setInterval(() => void this.renew().catch((err) => {
      this.o.logger?.warn({ event: 'build.lease-renew-failed', snapshotId: this.record.snapshotId, err: (err as Error).message }, 'cannot renew the build lease');
    }), every);
    this.timer.unref();
  }

  /** Rewrites the heartbeat, unless a later generation exists (then the lease is lost). */
  async renew(): Promise<void> {
    if (this.lost || this.released) return;
    const nextKey = leaseKey(this.record.snapshotId, this.record.generation + 1);
    if (await this.store.exists(nextKey)) {
      this.lost = true;
      clearInterval(this.timer);
      this.o.onLost?.(await readLease(this.store, nextKey));
      return;
    }
    const now = this.o.now ?? Date.now;
    this.record.heartbeatAt = new Date(now()).toISOString();
    await this.store.put(leaseKey(this.record.snapshotId, this.record.generation), JSON.stringify(this.record, null, 2) + '\n');
  }

  /**
   * Gives the lease up, unless it was taken over. The generation stays, marked released, so that a
   * holder that stalled past the TTL still finds the later generation and knows it lost the lease.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    const nextKey = leaseKey(this.record.snapshotId, this.record.generation + 1);
    if (this.lost || (await this.store.exists(nextKey).catch(() => false))) return;
    this.record.released = true;
    this.record.heartbeatAt = new Date((this.o.now ?? Date.now)()).toISOString();
    await this.store.put(leaseKey(this.record.snapshotId, this.record.generation), JSON.stringify(this.record, null, 2) + '\n').catch(() => undefined);
  }
}
