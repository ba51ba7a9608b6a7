import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import { buildShardIndexAsync, resolveAutoKind, resolveIndexOptions } from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, putContent } from '@rag/snapshot';
import { inputsSha256, readMarker, requireMarker, writeMarker } from './build-markers.js';
import { encodeMarkerSchema, indexMarkerSchema, ingestMarkerSchema, PAYLOAD_VERSION, type IndexMarker, type ShardJob } from './job-payloads.schema.js';
import { leBytesToFloat32 } from './encode-stage.js';

export interface IndexDeps {
  store: ObjectStore;
  logger: Logger;
}

/**
 * Index one shard: embeddings → FAISS index bytes. Checks vectors == passages before
 * writing (DPR asserts the same on load). Skips when a marker for the same inputs (embeddings
 * sha256, index kind and parameters) exists.
 */
export async function runIndex(job: ShardJob, deps: IndexDeps): Promise<IndexMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const enc = await requireMarker(store, layout.encodeMarker(job.shard), encodeMarkerSchema, `encode marker of shard ${job.shard}`);
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const inputs = indexInputsSha256(job.index, enc.sha256, ingest.passages);
  const done = await readMarker(store, layout.indexMarker(job.shard), indexMarkerSchema);
  if (done && done.inputsSha256 === inputs) return done;

  const passages = ingest.shards.find((s) => s.shard === job.shard)?.passages;
  const raw = await store.get(enc.key);
  if (sha256(raw) !== enc.sha256) throw new ShardIntegrityError(`embeddings of shard ${job.shard} do not match their sha256`);
  const vectors = leBytesToFloat32(raw);
  const n = vectors.length / enc.dim;
  if (n !== enc.vectors || n !== passages) {
    throw new ShardIntegrityError(`shard ${job.shard}: ${n} vectors but ${passages} passages`, { hint: 're-run the build; the shard will be re-encoded' });
  }
  // Off the event loop: an HNSW build can outlast the job lock, which must keep being renewed.
  // `auto` is decided from the whole snapshot's size, the same for every shard of the build.
  const auto = resolveAutoKind(resolveIndexOptions({ kind: job.index.kind, ...job.index.params }), ingest.passages, enc.dim);
  const built = await buildShardIndexAsync(vectors, enc.dim, { ...job.index.params, kind: auto.kind }, { logger });
  if (job.index.kind === 'auto') built.params = { ...built.params, requestedKind: 'auto', autoReason: auto.reason! };
  const stored = await putContent(store, built.bytes, 'index');
  const marker: IndexMarker = {
    v: PAYLOAD_VERSION,
    inputsSha256: inputs,
    shard: job.shard,
    key: stored.key,
    sha256: stored.sha256,
    bytes: built.bytes.length,
    vectors: n,
    kind: built.kind,
    params: built.params,
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, layout.indexMarker(job.shard), marker);
  logger.info({ event: 'shard.indexed', snapshotId: job.snapshotId, shardId: job.shard, kind: built.kind, ms: marker.durationMs }, 'shard indexed');
  return marker;
}

/**
 * What an index marker is valid for: the embeddings, the requested spec and, for `auto`, the
 * snapshot's size (which decides the kind). The publish stage checks markers with the same function.
 */
export function indexInputsSha256(spec: ShardJob['index'], embeddingsSha256: string, snapshotPassages: number): string {
  return inputsSha256({
    embeddings: embeddingsSha256,
    kind: spec.kind,
    params: canonicalParams(spec.params),
    ...(spec.kind === 'auto' ? { snapshotPassages } : {}),
  });
}

/** Parameters in key order, so the same spec always hashes the same. */
export function canonicalParams(params: Record<string, number>): [string, number][] {
  return Object.keys(params).sort().map((k) => [k, params[k]!]);
}
