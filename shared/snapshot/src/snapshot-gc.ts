import { GcAbortedError, ObjectNotFoundError } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { LEASES_PREFIX, isLeaseLive, readLease, readTopLease } from './lease-state.js';
import { OBJECTS_PREFIX, WORK_PREFIX } from './content-objects.js';
import { SNAPSHOTS_PREFIX } from './snapshot-layout.js';

/** Content keys named anywhere in a manifest or marker (their JSON text is scanned, so no schema can hide one). */
const CONTENT_KEY_RE = /objects\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9.]+/g;

export function contentKeysIn(text: string): string[] {
  return text.match(CONTENT_KEY_RE) ?? [];
}

/**
 * `snapshot rm` leaves `removed/<id>.<time>.json` naming the objects the snapshot held, so gc can say
 * which of the bytes it frees a removal freed and which earlier builds left behind. Dropped by gc once
 * none of those objects waits on the grace period.
 */
export const REMOVED_PREFIX = 'removed/';

/** What gc frees (or would), split by why nothing references it any more. */
export interface GcFreed {
  /** Objects that removed snapshots held, by snapshot id. */
  removed: Record<string, { objects: number; bytes: number }>;
  /** Objects no removed snapshot held: leftovers of unfinished, failed or superseded builds, by kind (extension). */
  leftovers: { objects: number; bytes: number; byKind: Record<string, { objects: number; bytes: number }> };
}

export interface GcOptions {
  /**
   * An unreferenced object is deleted only if it was already unreferenced in a gc run at least this
   * long ago (gc/pending.json) and not written since. 0: one pass, allowed only while no build holds
   * a live lease, and builds wait while such a sweep runs (gc/exclusive.json).
   */
  graceMs: number;
  /** An unfinished build whose markers are all older than this, and whose lease is not live, is abandoned. */
  abandonedAfterMs: number;
  dryRun: boolean;
  now?: number;
}

export interface GcReport {
  dryRun: boolean;
  published: number;
  unfinishedBuilds: string[];
  abandonedBuilds: string[];
  objects: number;
  referenced: number;
  /** Unreferenced objects not yet unreferenced for a whole grace period (first pass, or rewritten since): kept this time. */
  keptInGrace: number;
  deleted: number;
  bytesFreed: number;
  deletedKeys: string[];
  freed: GcFreed;
  /** Records of work done (stage-work.ts) that named an object deleted now or already gone: dropped with it. */
  workEntriesDropped: number;
}

export const DEFAULT_GC_GRACE_MS = 24 * 3600 * 1000;
export const DEFAULT_ABANDONED_AFTER_MS = 7 * 24 * 3600 * 1000;

/** Where gc remembers which objects it found unreferenced, and since when (its first pass). */
export const GC_PENDING_KEY = 'gc/pending.json';
/** A one-pass sweep (grace 0) in progress: builds wait for it (claim-build.ts). */
export const GC_EXCLUSIVE_KEY = 'gc/exclusive.json';
/** An exclusive sweep older than this is a dead one: builds stop waiting for it, and a live sweep stops deleting. */
export const GC_EXCLUSIVE_TTL_MS = 10 * 60 * 1000;

/**
 * Mark and sweep. Roots: every published manifest, every marker of an unfinished build, and,
 * through them, every reuse plan (which names the base embeddings a compacted shard copies rows
 * from). Every root is read before anything is judged, and any read that fails aborts the run
 * with nothing deleted (GcAbortedError): a transient error must not make a build's objects look
 * unreferenced. An object goes only once it stayed unreferenced across two runs at least the grace
 * period apart and was not rewritten in between (putContent rewrites an old object it reuses,
 * see content-objects.ts). Then markers of published snapshots and of abandoned builds go.
 */
export async function collectGarbage(store: ObjectStore, o: GcOptions): Promise<GcReport> {
  const now = o.now ?? Date.now();
  const exclusive = o.graceMs <= 0;
  if (exclusive && !o.dryRun) await store.put(GC_EXCLUSIVE_KEY, JSON.stringify({ v: 1, at: new Date(now).toISOString() }) + '\n');
  try {
    return await collect(store, o, now, exclusive);
  } finally {
    if (exclusive && !o.dryRun) await store.delete(GC_EXCLUSIVE_KEY).catch(() => undefined);
  }
}

async function collect(store: ObjectStore, o: GcOptions, now: number, exclusive: boolean): Promise<GcReport> {
  const started = Date.now();
  const keys = await read('list snapshots/', () => store.list(SNAPSHOTS_PREFIX));
  const byId = new Map<string, { manifest?: string; markers: string[] }>();
  for (const k of keys) {
    const m = /^snapshots\/([^/]+)\/(.+)$/.exec(k);
    if (!m) continue;
    const e = byId.get(m[1]!) ?? { markers: [] };
    if (m[2] === 'manifest.json') e.manifest = k;
    else if (m[2]!.startsWith('_build/')) e.markers.push(k);
    byId.set(m[1]!, e);
  }
  const referenced = new Set<string>();
  const report: GcReport = { dryRun: o.dryRun, published: 0, unfinishedBuilds: [], abandonedBuilds: [], objects: 0, referenced: 0, keptInGrace: 0, deleted: 0, bytesFreed: 0, deletedKeys: [], workEntriesDropped: 0, freed: { removed: {}, leftovers: { objects: 0, bytes: 0, byKind: {} } } };
  const markersToDelete: string[] = [];
  const abandoned: string[] = [];
  const text = async (key: string): Promise<string> => (await read(key, () => store.get(key))).toString('utf8');
  for (const [id, e] of byId) {
    if (e.manifest) {
      report.published++;
      for (const k of contentKeysIn(await text(e.manifest))) referenced.add(k);
      markersToDelete.push(...e.markers);
      continue;
    }
    if (e.markers.length === 0) continue;
    const live = isLeaseLive((await read(`leases of ${id}`, () => readTopLease(store, id)))?.record, now);
    const infos = await Promise.all(e.markers.map((k) => read(k, () => store.head(k))));
    const newest = Math.max(...infos.map((i) => i?.modifiedMs ?? 0));
    if (!live && now - newest >= o.abandonedAfterMs) {
      report.abandonedBuilds.push(id);
      abandoned.push(`${SNAPSHOTS_PREFIX}${id}/`);
      continue;
    }
    report.unfinishedBuilds.push(id);
    for (const k of e.markers) for (const c of contentKeysIn(await text(k))) referenced.add(c);
  }
  if (exclusive) {
    // After gc/exclusive.json is written (builds that take a lease from now on see it and wait): no lease may be live.
    for (const k of await read('list leases/', () => store.list(LEASES_PREFIX))) {
      const lease = await read(k, () => readLease(store, k));
      if (isLeaseLive(lease, Date.now())) {
        throw new GcAbortedError(`a one-pass gc (grace 0) cannot run while build ${lease.snapshotId} runs (pid ${lease.owner.pid} on ${lease.owner.host})`, {
          hint: 'wait for the build, or run gc with a grace period (it is safe while builds run)',
        });
      }
    }
  }
  // Reuse plans name the base embeddings their rows are copied from: follow them (and anything they name).
  const queue = [...referenced].filter((k) => k.endsWith('.reuse.json'));
  while (queue.length) {
    const k = queue.pop()!;
    for (const c of contentKeysIn(await text(k))) {
      if (referenced.has(c)) continue;
      referenced.add(c);
      if (c.endsWith('.reuse.json')) queue.push(c);
    }
  }
  // Which removed snapshot held what (the latest removal of an object wins the attribution).
  const heldBy = new Map<string, string>();
  const removals = await read(`list ${REMOVED_PREFIX}`, () => store.list(REMOVED_PREFIX));
  const removalKeys = new Map<string, string[]>();
  for (const k of removals.sort()) {
    let rec: { id?: unknown; objects?: unknown };
    try { rec = JSON.parse(await text(k)) as typeof rec; } catch (err) { if (err instanceof GcAbortedError) throw err; continue; }
    const keys = Array.isArray(rec.objects) ? rec.objects.filter((x): x is string => typeof x === 'string') : [];
    removalKeys.set(k, keys);
    for (const c of keys) heldBy.set(c, String(rec.id));
  }
  const pending = await readPending(store);
  const nextPending: Record<string, number> = {};
  const objects = await read(`list ${OBJECTS_PREFIX}`, () => store.list(OBJECTS_PREFIX));
  report.objects = objects.length;
  const inGrace = new Set<string>();
  const toDelete: Array<{ key: string; size: number; since: number }> = [];
  for (const k of objects) {
    if (referenced.has(k)) { report.referenced++; continue; }
    const info = await read(k, () => store.head(k));
    if (!info) continue;
    // First seen unreferenced now, or rewritten since it was: the grace period starts (again).
    const since = pending[k] !== undefined && info.modifiedMs <= pending[k]! ? pending[k]! : now;
    if (now - since < o.graceMs) {
      report.keptInGrace++;
      inGrace.add(k);
      nextPending[k] = since;
      continue;
    }
    toDelete.push({ key: k, size: info.size, since });
  }
  if (!o.dryRun) {
    // Remember what waits, before deleting anything: a run that dies half way loses no grace period.
    await store.put(GC_PENDING_KEY, JSON.stringify({ v: 1, at: new Date(now).toISOString(), candidates: nextPending }) + '\n');
  }
  for (const { key: k, size, since } of toDelete) {
    if (!o.dryRun) {
      if (exclusive && Date.now() - started > GC_EXCLUSIVE_TTL_MS / 2) {
        throw new GcAbortedError('a one-pass gc ran longer than builds wait for it; stopped deleting', { hint: 'run gc again (with a grace period while builds may start)' });
      }
      // A build that reused the object since it was judged rewrote it (putContent): then it stays.
      if (!(await store.deleteIfUnmodifiedSince(k, exclusive ? now : since))) { report.keptInGrace++; inGrace.add(k); continue; }
    }
    report.deleted++;
    report.bytesFreed += size;
    report.deletedKeys.push(k);
    const owner = heldBy.get(k);
    if (owner !== undefined) {
      const e = (report.freed.removed[owner] ??= { objects: 0, bytes: 0 });
      e.objects++;
      e.bytes += size;
    } else {
      // The content key's extension after the sha256 (`f32`, `range.jsonl`, …): what kind of leftover it is.
      const kind = /\/[0-9a-f]{64}\.([a-z0-9.]+)$/.exec(k)?.[1] ?? 'other';
      const l = report.freed.leftovers;
      l.objects++;
      l.bytes += size;
      const e = (l.byKind[kind] ??= { objects: 0, bytes: 0 });
      e.objects++;
      e.bytes += size;
    }
  }
  // A removal record has done its job once none of its objects waits on the grace period.
  if (!o.dryRun) for (const [k, keys] of removalKeys) if (!keys.some((c) => inGrace.has(c))) await store.delete(k);
  // Work records are hints for later builds, not roots: one whose object goes (or is gone) goes too.
  const present = new Set(objects);
  for (const k of report.deletedKeys) present.delete(k);
  for (const k of await store.list(WORK_PREFIX)) {
    const body = await store.get(k).catch(() => undefined);
    if (!body || contentKeysIn(body.toString('utf8')).every((c) => present.has(c))) continue;
    report.workEntriesDropped++;
    if (!o.dryRun) await store.delete(k);
  }
  if (!o.dryRun) {
    for (const k of markersToDelete) await store.delete(k);
    // An abandoned build's own prefix (markers, and objects of builds from before content addressing).
    for (const p of abandoned) await store.deletePrefix(p);
  }
  return report;
}

/** gc's first-pass record: object key → when a run first found it unreferenced (epoch ms). */
async function readPending(store: ObjectStore): Promise<Record<string, number>> {
  let bytes: Buffer;
  try {
    bytes = await store.get(GC_PENDING_KEY);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return {};
    throw new GcAbortedError(`gc cannot read ${GC_PENDING_KEY}: ${(err as Error).message}`, { cause: err, hint: 'nothing was deleted; run gc again' });
  }
  try {
    const rec = JSON.parse(bytes.toString('utf8')) as { candidates?: Record<string, number> };
    return rec.candidates ?? {};
  } catch {
    return {}; // unreadable: every candidate starts its grace period again (only ever keeps more)
  }
}

/** A read gc depends on: any failure aborts the run before anything is deleted. */
async function read<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GcAbortedError) throw err;
    throw new GcAbortedError(`gc could not read ${what}: ${(err as Error).message}; nothing was deleted`, {
      cause: err,
      hint: 'run gc again once storage answers (a failed read must not make objects look unreferenced)',
    });
  }
}
