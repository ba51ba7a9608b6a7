import { ShardIntegrityError, type Logger } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, MANIFEST_VERSION, parseManifest, type SnapshotManifest } from '@rag/snapshot';
import { requireMarker } from './build-markers.js';
import { encodeMarkerSchema, indexMarkerSchema, ingestMarkerSchema, type BuildRequest } from './job-payloads.schema.js';

export interface PublishDeps {
  store: ObjectStore;
  logger: Logger;
  /** Build start, for the recorded duration. */
  startedAt?: number;
  workers?: number;
}

/**
 * Publish: check every shard's markers and counts, then write manifest.json — last, and
 * only if absent, so a snapshot is either fully there or not there at all, and never changes.
 */
export async function runPublish(req: BuildRequest, deps: PublishDeps): Promise<SnapshotManifest> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(req.snapshotId);
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const shards: SnapshotManifest['shards'] = [];
  let vectors = 0;
  let dim = 0;
  let encoder: SnapshotManifest['encoder'] | undefined;
  let indexKind = req.index.kind;
  let indexParams: Record<string, number | string> = {};
  const stagesMs = { ingest: ingest.durationMs, encode: 0, index: 0 };
  const spans = { ingest: new Span(), encode: new Span(), index: new Span() };
  spans.ingest.add(ingest.finishedAt, ingest.durationMs);
  for (const s of ingest.shards) {
    const enc = await requireMarker(store, layout.encodeMarker(s.shard), encodeMarkerSchema, `encode marker of shard ${s.shard}`);
    const idx = await requireMarker(store, layout.indexMarker(s.shard), indexMarkerSchema, `index marker of shard ${s.shard}`);
    if (enc.vectors !== s.passages || idx.vectors !== s.passages) {
      throw new ShardIntegrityError(`shard ${s.shard}: ${s.passages} passages, ${enc.vectors} vectors, ${idx.vectors} indexed`);
    }
    if (encoder && encoder.sha256 !== enc.encoder.sha256) {
      throw new ShardIntegrityError(`shard ${s.shard} was encoded with a different encoder (${enc.encoder.sha256.slice(0, 12)})`);
    }
    if (!(await store.exists(idx.key)) || !(await store.exists(enc.key)) || !(await store.exists(s.key))) {
      throw new ShardIntegrityError(`shard ${s.shard} is missing an object in storage`, { hint: 're-run the build to rewrite it' });
    }
    encoder = { ...enc.encoder, dim: enc.dim };
    dim = enc.dim;
    indexKind = idx.kind;
    indexParams = idx.params;
    vectors += enc.vectors;
    stagesMs.encode += enc.durationMs;
    stagesMs.index += idx.durationMs;
    spans.encode.add(enc.finishedAt, enc.durationMs);
    spans.index.add(idx.finishedAt, idx.durationMs);
    shards.push({
      shard: s.shard,
      key: idx.key,
      sha256: idx.sha256,
      bytes: idx.bytes,
      passages: s.passages,
      vectors: enc.vectors,
      passagesKey: s.key,
      passagesSha256: s.sha256,
      embeddingsKey: enc.key,
      embeddingsSha256: enc.sha256,
      firstPassageId: s.firstPassageId,
      lastPassageId: s.lastPassageId,
    });
  }
  if (!encoder || vectors !== ingest.passages) {
    throw new ShardIntegrityError(`snapshot ${req.snapshotId}: ${ingest.passages} passages but ${vectors} vectors`);
  }
  const manifest: SnapshotManifest = {
    format: 'rag-snapshot',
    version: MANIFEST_VERSION,
    id: req.snapshotId,
    status: 'ready',
    createdAt: new Date().toISOString(),
    passages: ingest.passages,
    vectors,
    dim,
    shardSize: ingest.shardSize,
    index: { kind: indexKind, metric: 'ip', params: indexParams },
    shards,
    encoder,
    source: {
      path: ingest.source.path,
      sha256: ingest.source.sha256,
      bytes: ingest.source.bytes,
      format: req.source.format,
      wordsPerPassage: ingest.wordsPerPassage,
    },
    build: {
      durationMs: deps.startedAt ? Date.now() - deps.startedAt : Date.now() - Date.parse(req.requestedAt),
      stagesMs,
      stagesWallMs: { ingest: spans.ingest.ms(), encode: spans.encode.ms(), index: spans.index.ms() },
      ...(deps.workers !== undefined ? { workers: deps.workers } : {}),
    },
  };
  const written = await store.putIfAbsent(layout.manifest, JSON.stringify(manifest, null, 2) + '\n');
  if (!written) {
    // A retried publish of the same build finds its own manifest: return what is there.
    const existing = parseManifest(await store.get(layout.manifest), layout.manifest);
    logger.warn({ event: 'snapshot.exists', snapshotId: req.snapshotId }, 'manifest already present; keeping it');
    return existing;
  }
  logger.info({ event: 'snapshot.published', snapshotId: req.snapshotId, passages: manifest.passages, shards: shards.length }, 'snapshot published');
  return manifest;
}

/** Wall-clock span of a stage across its jobs: first start to last finish. */
class Span {
  private start = Infinity;
  private end = -Infinity;
  add(finishedAt: number | undefined, durationMs: number): void {
    if (finishedAt === undefined) return;
    this.start = Math.min(this.start, finishedAt - durationMs);
    this.end = Math.max(this.end, finishedAt);
  }
  ms(): number {
    return this.end >= this.start ? this.end - this.start : 0;
  }
}
