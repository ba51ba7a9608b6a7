import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import { buildShardIndexAsync, encodeShardLists, getFaissThreads, perShardKind, resolveAutoKind, resolveIndexOptions, type BuiltShardIndex } from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, putContent } from '@rag/snapshot';
import { inputsSha256, readDoneMarker, readMarker, requireMarker, writeMarker } from './build-markers.js';
import { encodeMarkerSchema, indexMarkerSchema, ingestMarkerSchema, PAYLOAD_VERSION, type IndexMarker, type ShardJob, type TrainedIndex } from './job-payloads.schema.js';
import { leBytesToFloat32 } from './encode-stage.js';
import { findWork, recordWork } from './stage-work.js';

export interface IndexDeps {
  store: ObjectStore;
  logger: Logger;
}

/** The shard's embeddings: its encode marker's object, or (a kept shard re-indexed) the base's named in the job. */
async function shardEmbeddings(job: ShardJob, store: ObjectStore, layout: SnapshotLayout): Promise<{ key: string; sha256: string; vectors: number; dim: number }> {
  if (job.embeddings) return job.embeddings;
  const enc = await requireMarker(store, layout.encodeMarker(job.shard), encodeMarkerSchema, `encode marker of shard ${job.shard}`);
  return { key: enc.key, sha256: enc.sha256, vectors: enc.vectors, dim: enc.dim };
}

/**
 * Index one shard: embeddings → FAISS index bytes, or, under a snapshot-wide quantizer (the train
 * stage's), the shard's inverted lists. Checks vectors == passages before writing (DPR asserts the
 * same on load). Skips when a marker for the same inputs (embeddings sha256, index spec, quantizer)
 * exists.
 */
export async function runIndex(job: ShardJob, deps: IndexDeps): Promise<IndexMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const enc = await shardEmbeddings(job, store, layout);
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const inputs = indexInputsSha256(job.index, enc.sha256, ingest.passages, job.trained);
  const done = await readDoneMarker(store, layout.indexMarker(job.shard), indexMarkerSchema, logger);
  if (done && done.inputsSha256 === inputs) return done;
  // The same embeddings, index request and quantizer, indexed by any earlier build.
  const found = await findWork(store, 'index', inputs, indexMarkerSchema, (m) => [{ key: m.key, sha256: m.sha256, kind: m.kind === 'ivfpq-lists' ? 'lists' : 'index' }]);
  if (found && found.vectors === enc.vectors) {
    const { madeBy, ...made } = found;
    const marker: IndexMarker = { ...made, shard: job.shard, foundIn: madeBy, durationMs: Date.now() - started, finishedAt: Date.now() };
    await writeMarker(store, layout.indexMarker(job.shard), marker, job);
    logger.info({ event: 'shard.index.found', snapshotId: job.snapshotId, shardId: job.shard, foundIn: madeBy }, 'shard index found from an earlier build');
    return marker;
  }

  const entry = ingest.shards.find((s) => s.shard === job.shard);
  const passages = entry?.passages;
  const raw = await store.get(enc.key);
  if (sha256(raw) !== enc.sha256) throw new ShardIntegrityError(`embeddings of shard ${job.shard} do not match their sha256`);
  const vectors = leBytesToFloat32(raw);
  const n = vectors.length / enc.dim;
  if (n !== enc.vectors || n !== passages) {
    throw new ShardIntegrityError(`shard ${job.shard}: ${n} vectors but ${passages} passages`, { hint: 're-run the build; the shard will be re-encoded' });
  }
  let built: Pick<BuiltShardIndex, 'bytes' | 'params'> & { kind: IndexMarker['kind'] };
  let kindForKey: 'index' | 'lists' = 'index';
  if (job.trained?.kind === 'ivfpq-lists') {
    // The snapshot's quantizer, checked like every object a marker names.
    const q = job.trained.quantizer;
    const qBytes = await store.get(q.key);
    if (sha256(qBytes) !== q.sha256) throw new ShardIntegrityError(`quantizer ${q.key} does not match its sha256`, { hint: 're-run the build; the train stage will write it again' });
    const lists = await encodeShardLists(qBytes, vectors, enc.dim, getFaissThreads());
    const { key: _k, sha256: qSha, bytes: _b, ...params } = q;
    built = { bytes: lists, kind: 'ivfpq-lists', params: { ...params, quantizer: qSha } };
    kindForKey = 'lists';
  } else if (job.trained?.kind === 'flat') {
    built = await buildShardIndexAsync(vectors, enc.dim, { ...job.index.params, kind: 'flat' }, { logger });
    // Flat by auto's choice, or because an IVF-PQ was asked for a snapshot too small to train one.
    const why = job.index.kind === 'auto' ? 'autoReason' : 'fallbackReason';
    if (job.index.kind !== 'flat') built.params = { ...built.params, requestedKind: job.index.kind, ...(job.trained.reason ? { [why]: job.trained.reason } : {}) };
  } else {
    // Per-shard kinds, and index jobs queued before the train stage existed (`auto` decided here
    // from the whole snapshot's size, the same for every shard of the build). Off the event loop:
    // an HNSW build can outlast the job lock, which must keep being renewed.
    const auto = resolveAutoKind(resolveIndexOptions({ kind: job.index.kind, ...job.index.params }), ingest.passages, enc.dim);
    built = await buildShardIndexAsync(vectors, enc.dim, { ...job.index.params, kind: perShardKind(auto.kind) }, { logger });
    if (job.index.kind === 'auto') built.params = { ...built.params, requestedKind: 'auto', autoReason: auto.reason! };
  }
  const stored = await putContent(store, built.bytes, kindForKey);
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
  await writeMarker(store, layout.indexMarker(job.shard), marker, job);
  await recordWork(store, 'index', job.snapshotId, marker, logger);
  logger.info({ event: 'shard.indexed', snapshotId: job.snapshotId, shardId: job.shard, kind: built.kind, ms: marker.durationMs }, 'shard indexed');
  return marker;
}

/**
 * What an index marker is valid for: the embeddings, the requested spec, the train stage's decision
 * (quantizer included) and, for `auto` decided per shard, the snapshot's size (which decides the
 * kind). The publish stage checks markers with the same function.
 */
export function indexInputsSha256(spec: ShardJob['index'], embeddingsSha256: string, snapshotPassages: number, trained?: TrainedIndex): string {
  return inputsSha256({
    embeddings: embeddingsSha256,
    kind: spec.kind,
    params: canonicalParams(spec.params),
    ...(spec.kind === 'auto' && !trained ? { snapshotPassages } : {}),
    ...(trained ? { trained: trained.kind === 'ivfpq-lists' ? { kind: trained.kind, quantizer: trained.quantizer.sha256, nprobe: trained.quantizer.nprobe, rerank: trained.quantizer.rerank } : { kind: 'flat' } } : {}),
  });
}

/** Parameters in key order, so the same spec always hashes the same. */
export function canonicalParams(params: Record<string, number>): [string, number][] {
  return Object.keys(params).sort().map((k) => [k, params[k]!]);
}
