import { ShardIntegrityError, UsageError, sha256, type Logger } from '@rag/core';
import {
  encodeShardLists,
  MergedIvfIndex,
  minQuantizerVectors,
  planQuantizer,
  resolveAutoKind,
  resolveIndexOptions,
  trainQuantizer,
  type QuantizerPlan,
} from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, holdPublished, parseManifest, putContent, shardEntrySchema, type SnapshotManifest } from '@rag/snapshot';
import { inputsSha256, readDoneMarker, readMarker, requireMarker, writeMarker } from './build-markers.js';
import { leBytesToFloat32 } from './encode-stage.js';
import { findWork, recordWork } from './stage-work.js';
import {
  encodeMarkerSchema,
  ingestMarkerSchema,
  PAYLOAD_VERSION,
  trainMarkerSchema,
  type BuildRequest,
  type IngestMarker,
  type ShardJob,
  type TrainedIndex,
  type TrainMarker,
} from './job-payloads.schema.js';

export interface TrainDeps {
  store: ObjectStore;
  logger: Logger;
  /** FAISS threads for k-means. */
  threads: number;
}

/** Vectors of the fit check: queries are its first FIT_QUERIES rows, the corpus all of it. */
const FIT_SAMPLE = 20_000;
const FIT_QUERIES = 200;
const FIT_K = 10;

/** One shard's embeddings as the train stage reads them: its object, rows and dim. */
interface ShardVectors {
  shard: number;
  key: string;
  sha256: string;
  rows: number;
  dim: number;
}

/** The embeddings of every shard of the build: encode markers for new shards, the base's entries for kept ones. */
async function shardVectors(store: ObjectStore, layout: SnapshotLayout, ingest: IngestMarker): Promise<ShardVectors[]> {
  const out: ShardVectors[] = [];
  for (const s of ingest.shards) {
    if (s.kept) {
      const e = s.kept.entry as { embeddingsKey: string; embeddingsSha256: string; vectors: number };
      out.push({ shard: s.shard, key: e.embeddingsKey, sha256: e.embeddingsSha256, rows: e.vectors, dim: 0 });
      continue;
    }
    const enc = await requireMarker(store, layout.encodeMarker(s.shard), encodeMarkerSchema, `encode marker of shard ${s.shard}`);
    out.push({ shard: s.shard, key: enc.key, sha256: enc.sha256, rows: enc.vectors, dim: enc.dim });
  }
  const dim = out.find((v) => v.dim > 0)?.dim;
  if (!dim) throw new ShardIntegrityError('no shard of this build was encoded', { hint: 're-run the build' });
  for (const v of out) v.dim = dim;
  return out;
}

/** A deterministic pseudo-random offset for a shard's sample window (same build, same sample). */
function windowStart(snapshotId: string, shard: number, span: number): number {
  if (span <= 0) return 0;
  return parseInt(sha256(`${snapshotId}:${shard}`).slice(0, 8), 16) % (span + 1);
}

/**
 * About `n` vectors drawn across all shards in proportion to their rows: one contiguous window per
 * shard at a seeded offset, so the sample costs one range read per shard (not one per row).
 */
export async function sampleVectors(store: ObjectStore, snapshotId: string, shards: ShardVectors[], n: number): Promise<{ vectors: Float32Array; rows: number }> {
  const total = shards.reduce((a, s) => a + s.rows, 0);
  const dim = shards[0]!.dim;
  const take = shards.map((s) => Math.min(s.rows, Math.round((n * s.rows) / total)));
  const rows = take.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * dim);
  let at = 0;
  for (const [i, s] of shards.entries()) {
    const t = take[i]!;
    if (t === 0) continue;
    const first = windowStart(snapshotId, s.shard, s.rows - t);
    const bytes = await store.getRange(s.key, first * dim * 4, (first + t) * dim * 4);
    if (bytes.length !== t * dim * 4) throw new ShardIntegrityError(`embeddings ${s.key} end before row ${first + t}`, { hint: 're-run the build; the shard will be re-encoded' });
    out.set(leBytesToFloat32(bytes), at * dim);
    at += t;
  }
  return { vectors: out, rows };
}

/**
 * How well a quantizer fits vectors like these: recall@10 of the served search (nprobe lists, the
 * best k·rerank re-scored exactly) against an exact scan, the first FIT_QUERIES rows of `sample` as
 * queries over all of it. Measured for a freshly trained quantizer and for one taken from a base
 * snapshot, so a nightly build can say when its base's quantizer no longer fits (retrain).
 */
export async function quantizerFit(quantizer: Buffer, sample: Float32Array, dim: number, plan: Pick<QuantizerPlan, 'nprobe' | 'rerank'>, threads: number): Promise<{ recall10: number; queries: number; corpus: number }> {
  const n = sample.length / dim;
  const nq = Math.min(FIT_QUERIES, n);
  const queries = sample.subarray(0, nq * dim);
  const index = MergedIvfIndex.fromQuantizer(quantizer);
  try {
    index.addLists(await encodeShardLists(quantizer, sample, dim, threads), 0);
    const approx = index.search(queries, nq, FIT_K * plan.rerank, plan.nprobe);
    let hits = 0;
    for (let q = 0; q < nq; q++) {
      const qv = queries.subarray(q * dim, (q + 1) * dim);
      const score = (row: number) => dot(qv, sample.subarray(row * dim, (row + 1) * dim));
      const exact = topRows(n, FIT_K, score);
      const cands = [...approx.labels.subarray(q * FIT_K * plan.rerank, (q + 1) * FIT_K * plan.rerank)].filter((l) => l >= 0);
      const served = new Set(cands.map((row) => ({ row, s: score(row) })).sort((a, b) => b.s - a.s || a.row - b.row).slice(0, FIT_K).map((x) => x.row));
      hits += exact.filter((r) => served.has(r)).length;
    }
    return { recall10: Math.round((hits / (nq * FIT_K)) * 1e4) / 1e4, queries: nq, corpus: n };
  } finally {
    index.release();
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Rows of the k highest scores among 0..n-1 (ties to the lower row). */
function topRows(n: number, k: number, score: (row: number) => number): number[] {
  const best: { row: number; s: number }[] = [];
  for (let row = 0; row < n; row++) {
    const s = score(row);
    if (best.length === k && s <= best[k - 1]!.s) continue;
    best.push({ row, s });
    best.sort((a, b) => b.s - a.s || a.row - b.row);
    if (best.length > k) best.pop();
  }
  return best.map((b) => b.row);
}

/** What every index job of the build is told: flat, or lists under the snapshot's quantizer. */
export function trainedIndexOf(marker: TrainMarker): TrainedIndex {
  if (marker.kind === 'ivfpq' && marker.quantizer) {
    const { key, sha256: sha, bytes, nlist, pqM, pqBits, nprobe, rerank } = marker.quantizer;
    return { kind: 'ivfpq-lists', quantizer: { key, sha256: sha, bytes, nlist, pqM, pqBits, nprobe, rerank } };
  }
  return { kind: 'flat', ...(marker.reason ? { reason: marker.reason } : {}) };
}

/**
 * The shards that need an index job after the train stage: every shard the build made, and every
 * shard kept from the base whose index does not fit the decision (lists under another quantizer,
 * or lists where the snapshot is Flat): those are indexed again from the base's embeddings.
 */
export function shardsToIndex(ingest: IngestMarker, trained: TrainedIndex, dim: number): { shard: number; embeddings?: ShardJob['embeddings'] }[] {
  const out: { shard: number; embeddings?: ShardJob['embeddings'] }[] = [];
  for (const s of ingest.shards) {
    if (!s.kept) {
      out.push({ shard: s.shard });
      continue;
    }
    const e = shardEntrySchema.parse(s.kept.entry);
    const isLists = e.index?.kind === 'ivfpq-lists';
    const fits = trained.kind === 'ivfpq-lists' ? isLists && e.index?.params.quantizer === trained.quantizer.sha256 : !isLists;
    if (!fits) out.push({ shard: s.shard, embeddings: { key: e.embeddingsKey, sha256: e.embeddingsSha256, vectors: e.vectors, dim } });
  }
  return out;
}

/** The quantizer a build must reuse: named by --quantizer-from, else its base's (unless --retrain). */
async function reusableQuantizer(store: ObjectStore, req: BuildRequest): Promise<SnapshotManifest | undefined> {
  const from = req.quantizerFrom ?? (req.retrain ? undefined : req.base);
  if (!from) return undefined;
  await holdPublished(store, from, { v: 1, kind: 'build', build: req.snapshotId, at: new Date().toISOString() }, `cannot take the quantizer of ${from} for ${req.snapshotId}`);
  const m = parseManifest(await store.get(new SnapshotLayout(from).manifest), from);
  if (!m.quantizer) {
    if (req.quantizerFrom) throw new UsageError(`snapshot ${from} has no trained quantizer to reuse (its index is ${m.index.kind})`, { hint: 'name a snapshot built with --index ivfpq, or leave out --quantizer-from' });
    return undefined;
  }
  return m;
}

/**
 * The train stage, between encoding and indexing: decides the snapshot's index (`auto` by its size),
 * and for IVF-PQ trains one quantizer on a sample of every shard's vectors, or takes the base's (an
 * incremental build: new shards are encoded with the quantizer the kept ones were, no retraining),
 * and measures how well it fits. Skips when its marker was made from the same inputs.
 */
export async function runTrain(req: BuildRequest, deps: TrainDeps): Promise<TrainMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(req.snapshotId);
  const started = Date.now();
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const shards = await shardVectors(store, layout, ingest);
  const dim = shards[0]!.dim;
  const source = await reusableQuantizer(store, req);
  const inputs = inputsSha256({
    embeddings: shards.map((s) => s.sha256),
    index: req.index,
    passages: ingest.passages,
    quantizerFrom: source?.quantizer?.sha256 ?? null,
  });
  const done = await readDoneMarker(store, layout.trainMarker(), trainMarkerSchema, logger);
  if (done && done.inputsSha256 === inputs) return done;
  // The same vectors and request trained (or planned) by any earlier build: k-means is the costly part.
  const found = await findWork(store, 'train', inputs, trainMarkerSchema, (m) => (m.quantizer ? [{ key: m.quantizer.key, sha256: m.quantizer.sha256, kind: 'quantizer' }] : []));
  if (found) {
    const { madeBy, ...made } = found;
    const marker: TrainMarker = { ...made, foundIn: madeBy, durationMs: Date.now() - started, finishedAt: Date.now() };
    await writeMarker(store, layout.trainMarker(), marker, req);
    logger.info({ event: 'snapshot.train.found', snapshotId: req.snapshotId, kind: marker.kind, foundIn: madeBy }, 'index plan found from an earlier build');
    return marker;
  }

  const opts = resolveIndexOptions({ kind: req.index.kind, ...req.index.params });
  const auto = resolveAutoKind(opts, ingest.passages, dim);
  const base: Omit<TrainMarker, 'kind'> = { v: PAYLOAD_VERSION, inputsSha256: inputs, dim, durationMs: 0, finishedAt: 0 };
  let marker: TrainMarker;
  if (auto.kind !== 'ivfpq') {
    // The train stage runs for `auto` and `ivfpq` only: anything but IVF-PQ here is Flat.
    marker = { ...base, kind: 'flat', ...(auto.reason ? { reason: auto.reason } : {}) };
  } else if (source?.quantizer) {
    const q = source.quantizer;
    if (source.dim !== dim) throw new UsageError(`snapshot ${source.id}'s quantizer is for ${source.dim}-d vectors; this build's are ${dim}-d`, { hint: 'use --retrain' });
    const raw = await store.get(q.key);
    if (sha256(raw) !== q.sha256) throw new ShardIntegrityError(`quantizer ${q.key} of ${source.id} does not match its sha256`, { hint: 'use --retrain' });
    const sample = await sampleVectors(store, req.snapshotId, shards, Math.min(FIT_SAMPLE, ingest.passages));
    const fit = await quantizerFit(raw, sample.vectors, dim, q, deps.threads);
    marker = { ...base, kind: 'ivfpq', quantizer: { ...q, fit, reusedFrom: source.id } };
  } else {
    const plan = planQuantizer(ingest.passages, dim, opts);
    if (!plan) {
      const need = (bits: number) => minQuantizerVectors(bits);
      const hint = opts.pqBits > 4 ? `; --pq-bits 4 trains on ${need(4)}` : '';
      marker = { ...base, kind: 'flat', reason: `ivfpq needs at least ${need(opts.pqBits)} passages to train its quantizers; the snapshot has ${ingest.passages} (Flat is exact and small at this size${hint})` };
    } else {
      const sample = await sampleVectors(store, req.snapshotId, shards, plan.trainVectors);
      const trainStarted = Date.now();
      const bytes = await trainQuantizer(sample.vectors, dim, plan, deps.threads);
      const trainMs = Date.now() - trainStarted;
      const stored = await putContent(store, bytes, 'quantizer');
      const fitSample = sample.rows > FIT_SAMPLE ? sample.vectors.subarray(0, FIT_SAMPLE * dim) : sample.vectors;
      const fit = await quantizerFit(bytes, fitSample, dim, plan, deps.threads);
      const { factory: _factory, trainIterations, ...params } = plan;
      marker = {
        ...base,
        kind: 'ivfpq',
        quantizer: { key: stored.key, sha256: stored.sha256, bytes: stored.bytes, ...params, trainIterations, trainedOn: sample.rows, trainMs, fit },
      };
    }
  }
  marker.durationMs = Date.now() - started;
  marker.finishedAt = Date.now();
  await writeMarker(store, layout.trainMarker(), marker, req);
  await recordWork(store, 'train', req.snapshotId, marker, logger);
  logger.info({ event: 'snapshot.trained', snapshotId: req.snapshotId, kind: marker.kind, quantizer: marker.quantizer, ms: marker.durationMs }, 'index planned for the snapshot');
  return marker;
}
