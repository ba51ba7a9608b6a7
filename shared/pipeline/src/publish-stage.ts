import { ShardIntegrityError, SnapshotExistsError, sha256, type Logger } from '@rag/core';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, MANIFEST_VERSION, assertObjectsPresent, holdKey, parseManifest, shardEntrySchema, type ShardEntry, type SnapshotManifest } from '@rag/snapshot';
import { inputsSha256, requireMarker } from './build-markers.js';
import { assertFence } from './build-lease.js';
import { buildRequestSha256 } from './build-request-diff.js';
import { indexInputsSha256 } from './index-stage.js';
import { encodeMarkerSchema, indexMarkerSchema, ingestMarkerSchema, trainMarkerSchema, type BuildRequest, type IngestMarker, type IndexMarker, type TrainedIndex, type TrainMarker } from './job-payloads.schema.js';
import { trainedForSnapshot } from '@rag/index';
import { shardsToIndex, trainedIndexOf } from './train-stage.js';

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
  let dim = 0;
  let encoder: SnapshotManifest['encoder'] | undefined;
  let encoded = 0;
  let reusedRows = 0;
  const work = { passagesFound: 0, shardsEncodeFound: 0, shardsIndexFound: 0, foundIn: new Set<string>() };
  const noteFound = (m: { foundIn?: string }) => m.foundIn !== undefined && work.foundIn.add(m.foundIn);
  const stagesMs = { ingest: ingest.durationMs, encode: 0, index: 0 };
  const spans = { ingest: new Span(), encode: new Span(), index: new Span() };
  spans.ingest.add(ingest.finishedAt, ingest.durationMs);
  const sameEncoder = (sha: string, shard: number) => {
    if (encoder && encoder.sha256 !== sha) {
      throw new ShardIntegrityError(`shard ${shard} was encoded with a different encoder (${sha.slice(0, 12)})`, { hint: 're-run the build; the shard will be re-encoded' });
    }
  };
  // Kinds decided for the whole snapshot: the train stage's marker says what every shard got.
  let train: TrainMarker | undefined;
  let trained: TrainedIndex | undefined;
  let reindexedKept = new Set<number>();
  if (trainedForSnapshot(req.index.kind)) {
    train = await requireMarker(store, layout.trainMarker(), trainMarkerSchema, 'train marker');
    trained = trainedIndexOf(train);
    reindexedKept = new Set(shardsToIndex(ingest, trained, train.dim).filter((x) => x.embeddings).map((x) => x.shard));
    stagesMs.index += train.durationMs;
    spans.index.add(train.finishedAt, train.durationMs);
    noteFound(train);
  }
  const expectedIndex = (embeddings: string) => indexInputsSha256(req.index, embeddings, ingest.passages, trained);
  const indexEntry = (idx: IndexMarker) => ({ key: idx.key, sha256: idx.sha256, bytes: idx.bytes, index: { kind: idx.kind, params: idx.params } });
  for (const s of ingest.shards) {
    if (s.kept) {
      // A shard of the base snapshot, reused as it is (with this build's deleted rows), or with an
      // index made again when the build's quantizer is not the one its lists were encoded with.
      let entry: ShardEntry = { ...shardEntrySchema.parse(s.kept.entry), shard: s.shard, deleted: s.deleted };
      if (!s.deleted) delete entry.deleted;
      if (reindexedKept.has(s.shard)) {
        const idx = await requireMarker(store, layout.indexMarker(s.shard), indexMarkerSchema, `index marker of shard ${s.shard}`);
        if (idx.inputsSha256 !== expectedIndex(entry.embeddingsSha256) || idx.vectors !== entry.vectors) {
          throw new ShardIntegrityError(`shard ${s.shard} (kept from ${s.kept.from}): its new index was made from other inputs than this build's`, { hint: 're-run the build; the stale stages are redone' });
        }
        entry = { ...entry, ...indexEntry(idx) };
        if (noteFound(idx)) work.shardsIndexFound++;
        stagesMs.index += idx.durationMs;
        spans.index.add(idx.finishedAt, idx.durationMs);
      }
      if (!(await store.exists(entry.key)) || !(await store.exists(entry.embeddingsKey)) || !(await store.exists(entry.passagesKey))) {
        throw new ShardIntegrityError(`shard ${s.shard} (reused from ${s.kept.from}) is missing an object in storage`, { hint: 'the base snapshot was removed and collected meanwhile; build without --base' });
      }
      shards.push(entry);
      continue;
    }
    const enc = await requireMarker(store, layout.encodeMarker(s.shard), encodeMarkerSchema, `encode marker of shard ${s.shard}`);
    const idx = await requireMarker(store, layout.indexMarker(s.shard), indexMarkerSchema, `index marker of shard ${s.shard}`);
    // Markers chain by content: each must have been made from the output before it.
    const encInputs = inputsSha256({ passages: s.sha256, encoder: enc.encoder.sha256, reuse: s.reuse?.sha256 ?? null });
    if (enc.inputsSha256 !== encInputs || idx.inputsSha256 !== expectedIndex(enc.sha256)) {
      throw new ShardIntegrityError(`shard ${s.shard}: its embeddings or index were made from other inputs than this build's`, { hint: 're-run the build; the stale stages are redone' });
    }
    if (enc.vectors !== s.passages || idx.vectors !== s.passages) {
      throw new ShardIntegrityError(`shard ${s.shard}: ${s.passages} passages, ${enc.vectors} vectors, ${idx.vectors} indexed`);
    }
    sameEncoder(enc.encoder.sha256, s.shard);
    if (!(await store.exists(idx.key)) || !(await store.exists(enc.key)) || !(await store.exists(s.key))) {
      throw new ShardIntegrityError(`shard ${s.shard} is missing an object in storage`, { hint: 're-run the build to rewrite it' });
    }
    encoder = { ...enc.encoder, dim: enc.dim };
    dim = enc.dim;
    if (noteFound(enc)) {
      // Found whole: nothing was encoded or copied from a base by this build.
      work.passagesFound += enc.vectors;
      work.shardsEncodeFound++;
    } else {
      encoded += enc.encoded;
      reusedRows += enc.reused;
    }
    if (noteFound(idx)) work.shardsIndexFound++;
    stagesMs.encode += enc.durationMs;
    stagesMs.index += idx.durationMs;
    spans.encode.add(enc.finishedAt, enc.durationMs);
    spans.index.add(idx.finishedAt, idx.durationMs);
    shards.push({
      shard: s.shard,
      ...indexEntry(idx),
      passages: s.passages,
      vectors: enc.vectors,
      passagesKey: s.key,
      passagesSha256: s.sha256,
      embeddingsKey: enc.key,
      embeddingsSha256: enc.sha256,
      firstPassageId: s.firstPassageId,
      lastPassageId: s.lastPassageId,
      ...(s.bytes !== undefined ? { passagesBytes: s.bytes } : {}),
      embeddingsBytes: enc.bytes,
      ...(s.offsets ? { offsets: s.offsets } : {}),
      ...(s.rowSums ? { passagesRowSums: s.rowSums } : {}),
      ...(enc.rowSums ? { embeddingsRowSums: enc.rowSums } : {}),
    });
  }
  let base: SnapshotManifest['base'];
  if (ingest.base) {
    // The base is held by this build (snapshot rm refuses it), and must still be the one ingest read:
    // an id removed and built again since would lend this snapshot another encoder and dim.
    const bytes = await store.get(new SnapshotLayout(ingest.base.id).manifest).catch((err: unknown) => {
      throw new ShardIntegrityError(`base snapshot ${ingest.base!.id} is no longer published`, { cause: err, hint: 'build without --base (or with another base)' });
    });
    if (sha256(bytes) !== ingest.base.manifestSha256) {
      throw new ShardIntegrityError(`base snapshot ${ingest.base.id} is not the one this build started from (its manifest changed: removed and built again?)`, {
        hint: 'build again: ingest is redone against the base as it is now',
      });
    }
    const b = parseManifest(bytes, ingest.base.id);
    sameEncoder(b.encoder.sha256, -1);
    encoder ??= b.encoder;
    dim ||= b.dim;
    base = {
      id: ingest.base.id,
      manifestSha256: ingest.base.manifestSha256,
      passagesReused: countKeptRows(ingest) + reusedRows,
      passagesEncoded: encoded,
      shardsReused: ingest.base.shardsReused,
      shardsBuilt: ingest.shards.filter((s) => !s.kept).length,
    };
  }
  const vectors = shards.reduce((n, s) => n + s.vectors - (s.deleted?.count ?? 0), 0);
  if (!encoder || vectors !== ingest.passages) {
    throw new ShardIntegrityError(`snapshot ${req.snapshotId}: ${ingest.passages} passages but ${vectors} vectors`);
  }
  const q = train?.kind === 'ivfpq' ? train.quantizer : undefined;
  const manifest: SnapshotManifest = {
    format: 'rag-snapshot',
    // Version 3 only where there is a quantizer: older readers refuse what they cannot search, and
    // every other snapshot stays readable by them.
    version: q ? MANIFEST_VERSION : 2,
    id: req.snapshotId,
    status: 'ready',
    createdAt: new Date().toISOString(),
    passages: ingest.passages,
    vectors,
    dim,
    shardSize: ingest.shardSize,
    // What was asked for; each shard says what it got (a small shard may fall back to Flat).
    index: { kind: req.index.kind, metric: 'ip', params: req.index.params },
    shards,
    ...(q ? {
      quantizer: {
        key: q.key, sha256: q.sha256, bytes: q.bytes, nlist: q.nlist, pqM: q.pqM, pqBits: q.pqBits, nprobe: q.nprobe, rerank: q.rerank,
        ...(q.reusedFrom ? { reusedFrom: q.reusedFrom } : { trainedOn: q.trainedOn!, trainMs: q.trainMs! }),
        fit: q.fit,
      },
    } : {}),
    encoder,
    source: {
      path: ingest.source.path,
      sha256: ingest.source.sha256,
      bytes: ingest.source.bytes,
      format: req.source.format,
      wordsPerPassage: ingest.wordsPerPassage,
      ...(ingest.badLinesSkipped ? { badLinesSkipped: ingest.badLinesSkipped } : {}),
    },
    pages: ingest.pages,
    ingestVersion: ingest.ingestVersion,
    ...(base ? { base } : {}),
    build: {
      durationMs: deps.startedAt ? Date.now() - deps.startedAt : Date.now() - Date.parse(req.requestedAt),
      stagesMs,
      stagesWallMs: { ingest: spans.ingest.ms(), encode: spans.encode.ms(), index: spans.index.ms() },
      ...(deps.workers !== undefined ? { workers: deps.workers } : {}),
      work: {
        passagesEncoded: encoded,
        passagesFound: work.passagesFound,
        shardsEncodeFound: work.shardsEncodeFound,
        shardsIndexFound: work.shardsIndexFound,
        ...(train?.foundIn ? { trainFound: true } : {}),
        foundIn: [...work.foundIn].sort(),
      },
      requestSha256: buildRequestSha256(req),
    },
  };
  // Nothing half there is published: every object the manifest names, checked last.
  await assertObjectsPresent(store, manifest, `snapshot ${req.snapshotId}'s manifest`);
  await assertFence(store, req);
  const written = await store.putIfAbsent(layout.manifest, JSON.stringify(manifest, null, 2) + '\n');
  if (!written) {
    // A retried publish of the same build finds its own manifest: return what is there. Another
    // build's (a takeover under the same id with other arguments) is not this build's result.
    const existing = parseManifest(await store.get(layout.manifest), layout.manifest);
    if (existing.build.requestSha256 && existing.build.requestSha256 !== manifest.build.requestSha256) {
      throw new SnapshotExistsError(`snapshot ${req.snapshotId} was published by another build of that id, with other arguments`, {
        hint: 'build under another id, or remove that snapshot first (./rag snapshot rm)',
      });
    }
    logger.warn({ event: 'snapshot.exists', snapshotId: req.snapshotId }, 'manifest already present; keeping it');
    return existing;
  }
  // The build's holds on its base and quantizer source have done their job.
  for (const id of new Set([req.base, req.quantizerFrom])) if (id) await store.delete(holdKey(id, { kind: 'build', build: req.snapshotId })).catch(() => undefined);
  logger.info({ event: 'snapshot.published', snapshotId: req.snapshotId, passages: manifest.passages, shards: shards.length, base }, 'snapshot published');
  return manifest;
}

/** Live rows of the kept base shards. */
function countKeptRows(ingest: IngestMarker): number {
  return ingest.shards.filter((s) => s.kept).reduce((n, s) => n + s.passages - (s.deleted?.count ?? 0), 0);
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
