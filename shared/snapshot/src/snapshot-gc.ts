import type { ObjectStore } from '@rag/storage';
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
  /** Objects written less than this long ago are kept even if nothing references them yet (a build may be about to). */
  graceMs: number;
  /** An unfinished build whose markers are all older than this is abandoned: its markers go, and so does its protection. */
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
  /** Unreferenced objects written within the grace period: kept this time. */
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

/**
 * Deletes content objects that no published manifest and no unfinished build references, once they
 * are older than the grace period; then build markers of published snapshots and of abandoned builds.
 * A manifest is read before any object is judged, and objects are never rewritten, so a published
 * snapshot or a live alias (which names a published snapshot) never loses an object.
 */
export async function collectGarbage(store: ObjectStore, o: GcOptions): Promise<GcReport> {
  const now = o.now ?? Date.now();
  const keys = await store.list(SNAPSHOTS_PREFIX);
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
  for (const [id, e] of byId) {
    if (e.manifest) {
      report.published++;
      for (const k of contentKeysIn((await store.get(e.manifest)).toString('utf8'))) referenced.add(k);
      markersToDelete.push(...e.markers);
      continue;
    }
    if (e.markers.length === 0) continue;
    const infos = await Promise.all(e.markers.map((k) => store.head(k)));
    const newest = Math.max(...infos.map((i) => i?.modifiedMs ?? 0));
    if (now - newest >= o.abandonedAfterMs) {
      report.abandonedBuilds.push(id);
      abandoned.push(`${SNAPSHOTS_PREFIX}${id}/`);
      continue;
    }
    report.unfinishedBuilds.push(id);
    for (const k of e.markers) {
      const body = await store.get(k).catch(() => undefined);
      if (body) for (const c of contentKeysIn(body.toString('utf8'))) referenced.add(c);
    }
  }
  // Which removed snapshot held what (the latest removal of an object wins the attribution).
  const heldBy = new Map<string, string>();
  const removals = await store.list(REMOVED_PREFIX);
  const removalKeys = new Map<string, string[]>();
  for (const k of removals.sort()) {
    const body = await store.get(k).catch(() => undefined);
    if (!body) continue;
    let rec: { id?: unknown; objects?: unknown };
    try { rec = JSON.parse(body.toString('utf8')) as typeof rec; } catch { continue; }
    const keys = Array.isArray(rec.objects) ? rec.objects.filter((x): x is string => typeof x === 'string') : [];
    removalKeys.set(k, keys);
    for (const c of keys) heldBy.set(c, String(rec.id));
  }
  const objects = await store.list(OBJECTS_PREFIX);
  report.objects = objects.length;
  const inGrace = new Set<string>();
  for (const k of objects) {
    if (referenced.has(k)) { report.referenced++; continue; }
    const info = await store.head(k);
    if (!info) continue;
    if (now - info.modifiedMs < o.graceMs) { report.keptInGrace++; inGrace.add(k); continue; }
    report.deleted++;
    report.bytesFreed += info.size;
    report.deletedKeys.push(k);
    const owner = heldBy.get(k);
    if (owner !== undefined) {
      const e = (report.freed.removed[owner] ??= { objects: 0, bytes: 0 });
      e.objects++;
      e.bytes += info.size;
    } else {
      // The content key's extension after the sha256 (`f32`, `range.jsonl`, …): what kind of leftover it is.
      const kind = /\/[0-9a-f]{64}\.([a-z0-9.]+)$/.exec(k)?.[1] ?? 'other';
      const l = report.freed.leftovers;
      l.objects++;
      l.bytes += info.size;
      const e = (l.byKind[kind] ??= { objects: 0, bytes: 0 });
      e.objects++;
      e.bytes += info.size;
    }
    if (!o.dryRun) await store.delete(k);
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
