import { BuildConflictError, type Logger } from '@rag/core';
import { GC_EXCLUSIVE_KEY, GC_EXCLUSIVE_TTL_MS, SnapshotRegistry } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import { BuildLease, type BuildLeaseRecord } from './build-lease.js';
import { buildRequestEssentials, buildRequestSha256, diffBuildRequests } from './build-request-diff.js';
import type { BuildRequest } from './job-payloads.schema.js';

export interface ClaimBuildOptions {
  logger?: Logger;
  /** Called once when another process builds the same snapshot with the same arguments and this one waits. */
  onWaiting?: (holder: BuildLeaseRecord, expiresInMs: number) => void;
  /** Called if the lease is taken over later (this process stalled past the TTL). */
  onLost?: (by: BuildLeaseRecord | null) => void;
  /** Called while a one-pass `snapshot gc --grace 0` runs and this build waits for it. */
  onGcWait?: () => void;
  ttlMs?: number;
  /** @defaultValue 2000 */
  pollMs?: number;
}

/** Who holds a lease, for messages: "pid 123 on host-a since 10:02:03Z". */
export function describeHolder(r: BuildLeaseRecord): string {
  return `pid ${r.owner.pid} on ${r.owner.host} since ${r.acquiredAt}`;
}

/**
 * Claims the right to build `req.snapshotId` in this storage. Another build of the same id with other
 * arguments is refused (BuildConflictError naming what differs); one with the same arguments is waited
 * for: it may publish (then `published`), stop (then this process takes the lease and resumes its work)
 * or die (its lease expires after the TTL, then the same).
 */
export async function claimBuild(store: ObjectStore, req: BuildRequest, o: ClaimBuildOptions = {}): Promise<{ lease: BuildLease } | { published: true }> {
  const registry = new SnapshotRegistry(store);
  const requestSha256 = buildRequestSha256(req);
  let waiting = false;
  for (;;) {
    const r = await BuildLease.acquire(store, req.snapshotId, {
      requestSha256, request: buildRequestEssentials(req), ttlMs: o.ttlMs, logger: o.logger, onLost: o.onLost,
    });
    if ('lease' in r && (await gcSweepRunning(store))) {
      // A one-pass gc (grace 0) frees every unreferenced object at once: no build may start under it.
      await r.lease.release();
      o.onGcWait?.();
      await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 2000));
      continue;
    }
    if ('lease' in r) {
      // The build waited for may have published and released just now.
      if (waiting && (await registry.isPublished(req.snapshotId))) {
        await r.lease.release();
        return { published: true };
      }
      return r;
    }
    if (r.heldBy.requestSha256 !== requestSha256) {
      const diffs = r.heldBy.request ? diffBuildRequests(r.heldBy.request, req) : [];
      throw new BuildConflictError(
        `snapshot ${req.snapshotId} is being built by ${describeHolder(r.heldBy)} with other arguments${diffs.length ? `: ${diffs.join('; ')}` : ''}`,
        { hint: `wait for that build, or build under another id; if that process is gone, its lease expires ${Math.ceil(r.expiresInMs / 1000)} s from now` },
      );
    }
    if (!waiting) {
      waiting = true;
      o.onWaiting?.(r.heldBy, r.expiresInMs);
    }
    await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 2000));
    if (await registry.isPublished(req.snapshotId)) return { published: true };
  }
}

/** True while a one-pass gc sweep (grace 0) runs: its mark is there and younger than its TTL. */
export async function gcSweepRunning(store: ObjectStore): Promise<boolean> {
  const info = await store.head(GC_EXCLUSIVE_KEY);
  return info !== null && Date.now() - info.modifiedMs < GC_EXCLUSIVE_TTL_MS;
}
