import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive, LeaseLostError, assertSnapshotId, type Logger } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { LEASES_PREFIX, generationOf, leaseKey, readLease, readTopLease, type BuildLeaseRecord } from '@rag/snapshot';

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
export { LEASES_PREFIX, buildLeaseSchema, type BuildLeaseRecord } from '@rag/snapshot';

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
          // A holder on this machine whose process is gone (kill -9, a crash) is not waited for.
          const deadHere = held.owner.host === hostname() && !processAlive(held.owner.pid);
          if (age < held.ttlMs && !deadHere) return { heldBy: held, expiresInMs: held.ttlMs - age };
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

  /**
   * Rewrites the heartbeat, unless the lease was taken over: a later generation exists, or this
   * generation is gone or is not this holder's (a takeover deletes older generations, so a holder
   * that stalled through two takeovers finds no n+1 but also no n of its own). Never re-creates it.
   */
  async renew(): Promise<void> {
    if (this.lost || this.released) return;
    const by = await this.takenOverBy();
    if (by !== undefined) {
      this.lost = true;
      clearInterval(this.timer);
      this.o.onLost?.(by);
      return;
    }
    const now = this.o.now ?? Date.now;
    this.record.heartbeatAt = new Date(now()).toISOString();
    await this.store.put(leaseKey(this.record.snapshotId, this.record.generation), JSON.stringify(this.record, null, 2) + '\n');
  }

  /** The record that replaced this lease (null if unreadable or gone), or undefined while it is still this holder's. */
  private async takenOverBy(): Promise<BuildLeaseRecord | null | undefined> {
    const top = await readTopLease(this.store, this.record.snapshotId);
    if (top && top.generation > this.record.generation) return top.record;
    const mine = await readLease(this.store, leaseKey(this.record.snapshotId, this.record.generation));
    if (!mine || mine.owner.token !== this.record.owner.token) return null;
    return undefined;
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

/** What a build's writes carry to show which build they belong to: the request digest of the lease holder that queued them. */
export interface BuildFence {
  requestSha256: string;
  generation: number;
}

/**
 * Fencing for stage writes: a marker or manifest write of a job queued under a lease is refused
 * once the snapshot's newest lease is for another request (a takeover by a different build of the
 * same id). Writers of the same request may go on: their work is the same bytes under the same keys
 * (stages are idempotent), which is also what lets a resumed build attach to jobs still queued.
 * Jobs without a fence (in-process builds, tests) are not checked.
 */
export async function assertFence(store: ObjectStore, job: { snapshotId: string; fence?: BuildFence }): Promise<void> {
  if (!job.fence) return;
  const top = await readTopLease(store, job.snapshotId);
  if (!top || !top.record) return;
  if (top.record.requestSha256 !== job.fence.requestSha256) {
    throw new LeaseLostError(`build of ${job.snapshotId} (lease generation ${job.fence.generation}) was taken over by another build of that id (generation ${top.generation}, pid ${top.record.owner.pid} on ${top.record.owner.host}): this job stops without writing`, {
      hint: 'the other build owns the snapshot id now; build under another id, or wait for it',
    });
  }
}
