import { RagError, ShardIntegrityError } from '@rag/core';
import { multistreamIndexNameFor, planMultistreamRanges, sha256Source, type ByteSource } from '@rag/corpus';
import { SnapshotLayout } from '@rag/snapshot';
import { readDoneMarker, readMarker, requireMarker, writeMarker } from './build-markers.js';
import { loadBase } from './base-snapshot.js';
import { PageIdSet } from './page-id-set.js';
import { ingestInputs, ingestPages, openBuildSource, sourceSize, type IngestDeps, type IngestPage } from './ingest-stage.js';
import { rangeInputs, readRangeOutput } from './ingest-range-stage.js';
import {
  ingestMarkerSchema, ingestPlanMarkerSchema, ingestRangeMarkerSchema, PAYLOAD_VERSION,
  type BuildRequest, type IngestMarker, type IngestPlanMarker, type IngestRangeJob, type IngestRangeMarker,
} from './job-payloads.schema.js';

/** What the ingest job does first: ingest in one job, nothing (already done), or queue range jobs. */
export type IngestPlanStep =
  | { kind: 'single' }
  | { kind: 'done'; marker: IngestMarker }
  | { kind: 'ranges'; plan: IngestPlanMarker; jobs: IngestRangeJob[] };

/**
 * Plans the ingest of one source. A wikixml .bz2 source with more than one ingest job asked for
 * is split at bzip2 stream boundaries (Wikipedia's index file beside the dump or given, else a
 * scan near each split point); if that gives more than one range, the whole source is hashed
 * (one sequential read, no decompression: the ranges' markers and the snapshot name this sha256)
 * and the plan is written before its range jobs are queued. Anything else is ingested by one job.
 */
export async function planIngest(req: BuildRequest, deps: IngestDeps): Promise<IngestPlanStep> {
  const jobs = req.ingest?.jobs ?? 1;
  if (jobs <= 1 || req.source.format !== 'wikixml') return { kind: 'single' };
  const startedAt = Date.now();
  const source = await openBuildSource(req.source.path, deps);
  await sourceSize(source);
  const index = await findIndex(req, source, deps);
  const plan = await planMultistreamRanges(source, { jobs, index });
  if (plan.ranges.length < 2) {
    deps.logger.info({ event: 'ingest.single_stream', snapshotId: req.snapshotId, jobs }, 'no usable bzip2 stream boundary: one ingest job');
    return { kind: 'single' };
  }
  const sourceSha256 = await sha256Source(source);
  const layout = new SnapshotLayout(req.snapshotId);
  const base = req.base ? await loadBase(deps.store, req.base, req.snapshotId) : undefined;
  const inputsFor = await ingestInputs(req, base);
  const existing = await readDoneMarker(deps.store, layout.ingestMarker(), ingestMarkerSchema, deps.logger);
  if (existing && existing.inputsSha256 === inputsFor(sourceSha256)) {
    deps.logger.info({ event: 'ingest.skipped', snapshotId: req.snapshotId, shards: existing.shards.length }, 'ingest already done for these inputs; resuming');
    return { kind: 'done', marker: existing };
  }
  const marker: IngestPlanMarker = { v: PAYLOAD_VERSION, sourceSha256, size: plan.size, boundaries: plan.boundaries, ranges: plan.ranges, startedAt };
  await writeMarker(deps.store, layout.ingestPlanMarker(), marker, req);
  const n = plan.ranges.length;
  deps.logger.info({ event: 'ingest.planned', snapshotId: req.snapshotId, ranges: n, boundaries: plan.boundaries }, 'multistream dump split into range jobs');
  return {
    kind: 'ranges',
    plan: marker,
    jobs: plan.ranges.map((r, k) => ({
      v: PAYLOAD_VERSION,
      snapshotId: req.snapshotId,
      k,
      n,
      start: r.start,
      end: r.end,
      source: { path: req.source.path, format: 'wikixml' as const },
      sourceSha256,
      wordsPerPassage: req.wordsPerPassage,
      ...(req.base ? { base: req.base } : {}),
      ...(req.fence ? { fence: req.fence } : {}),
    })),
  };
}

/** The index named in the request, else Wikipedia's name beside the dump if it exists there. */
async function findIndex(req: BuildRequest, source: ByteSource, deps: IngestDeps): Promise<ByteSource | undefined> {
  const given = req.ingest?.multistreamIndex;
  if (given) {
    const index = await openBuildSource(given, deps);
    await sourceSize(index);
    return index;
  }
  const beside = multistreamIndexNameFor(source.name);
  if (!beside) return undefined;
  try {
    const index = await openBuildSource(beside, deps);
    await index.size();
    return index;
  } catch (err) {
    // Absent: scan instead. Anything else (no access, unreachable) is for the user to see.
    const code = RagError.from(err).code;
    if (code === 'USAGE' || code === 'OBJECT_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * The ordered, cheap step after the range jobs: their outputs, in range order, go through the same
 * deduplication, base comparison and shard cutting as one-job ingest (ingestPages), so shards,
 * passage ids and the page table are byte-identical to it. Reads one page at a time.
 */
export async function runIngestMerge(req: BuildRequest, deps: IngestDeps): Promise<IngestMarker> {
  const { store } = deps;
  const layout = new SnapshotLayout(req.snapshotId);
  const plan = await requireMarker(store, layout.ingestPlanMarker(), ingestPlanMarkerSchema, 'ingest plan');
  const base = req.base ? await loadBase(store, req.base, req.snapshotId) : undefined;
  const inputsFor = await ingestInputs(req, base);
  const n = plan.ranges.length;
  const markers: IngestRangeMarker[] = [];
  for (let k = 0; k < n; k++) {
    const m = await requireMarker(store, layout.ingestRangeMarker(k), ingestRangeMarkerSchema, `ingest range ${k} marker`);
    const r = plan.ranges[k]!;
    const expected = rangeInputs({ sourceSha256: plan.sourceSha256, k, n, start: r.start, end: r.end, wordsPerPassage: req.wordsPerPassage }, base?.manifestSha256 ?? null);
    if (m.inputsSha256 !== expected) {
      throw new ShardIntegrityError(`ingest range ${k} (bytes ${r.start}-${r.end}) was made from other inputs than this build's`, { hint: 're-run the build; the stale range is ingested again' });
    }
    markers.push(m);
  }
  async function* pages(): AsyncGenerator<IngestPage> {
    for (const m of markers) {
      try {
        yield* readRangeOutput(store, m);
      } catch (err) {
        // A damaged output is made again by the next run, not trusted again.
        if (err instanceof ShardIntegrityError) await store.delete(layout.ingestRangeMarker(m.k));
        throw err;
      }
    }
  }
  return ingestPages(req, pages(), {
    base,
    seen: new PageIdSet(),
    started: plan.startedAt,
    size: plan.size,
    sourceSha: async () => plan.sourceSha256,
    inputsFor,
    ranges: { count: n, boundaries: plan.boundaries },
  }, deps);
}
