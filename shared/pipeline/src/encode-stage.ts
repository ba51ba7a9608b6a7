import { endianness } from 'node:os';
import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import type { Encoder, PassageInput } from '@rag/encoder';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, putContent, vectorRowSumsOf } from '@rag/snapshot';
import { inputsSha256, readDoneMarker, readMarker, requireMarker, writeMarker } from './build-markers.js';
import type { ReusePlan } from './shard-writer.js';
import { findWork, hasWork, recordWork, type WorkObject } from './stage-work.js';
import {
  encodeMarkerSchema,
  encodePartMarkerSchema,
  ingestMarkerSchema,
  PAYLOAD_VERSION,
  type EncodeMarker,
  type EncodePartMarker,
  type IngestShard,
  type ShardJob,
} from './job-payloads.schema.js';
import { parseCheckedPassage, parsePassageShard } from '@rag/corpus';

export interface EncodeDeps {
  store: ObjectStore;
  encoder: Encoder;
  logger: Logger;
  /** Vectors of this shard (or part) encoded so far. */
  onProgress?: (vectors: number, total: number) => Promise<void> | void;
  /**
   * Passages per encoder call (and per progress step). Batches are formed inside a chunk, so part jobs
   * split the work at chunk boundaries and a shard comes out byte-identical however it was split.
   */
  chunk?: number;
}

const DEFAULT_CHUNK = 256;

const embeddingsOf = (m: EncodeMarker): WorkObject[] => [{ key: m.key, sha256: m.sha256, kind: 'embeddings' }, ...(m.rowSums ? [{ key: m.rowSums.key, sha256: m.rowSums.sha256, kind: 'rowsums' as const }] : [])];

/** The shard's ingest entry and the sha256 of everything its embeddings depend on. */
async function shardInputs(job: ShardJob, store: ObjectStore, encoderSha: string, layout: SnapshotLayout) {
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const entry = ingest.shards.find((s) => s.shard === job.shard);
  if (!entry) throw new ShardIntegrityError(`shard ${job.shard} is not in the ingest marker of ${job.snapshotId}`);
  const inputs = inputsSha256({ passages: entry.sha256, encoder: encoderSha, reuse: entry.reuse?.sha256 ?? null });
  return { entry, inputs };
}

async function readPassages(store: ObjectStore, entry: IngestShard, shard: number) {
  const raw = await store.get(entry.key);
  if (sha256(raw) !== entry.sha256) {
    throw new ShardIntegrityError(`passages of shard ${shard} do not match their sha256`, { hint: 're-run the build; ingest will rewrite the shard' });
  }
  return parsePassageShard(raw, entry.key);
}

/**
 * Rows first..last of a shard by one range read through its offsets object; a sparse array indexed
 * by row. Each row is checked against its own passage hash (the object's sha256 needs every byte).
 */
async function readPassageRange(store: ObjectStore, entry: IngestShard, shard: number, first: number, last: number): Promise<PassageInput[]> {
  const ref = entry.offsets!;
  const raw = await store.get(ref.key);
  if (sha256(raw) !== ref.sha256 || raw.length !== (entry.passages + 1) * 4) {
    throw new ShardIntegrityError(`row offsets of shard ${shard} (${ref.key}) do not match their sha256 or row count`, { hint: 're-run the build; ingest will rewrite the shard' });
  }
  const from = raw.readUInt32LE(first * 4);
  const bytes = await store.getRange(entry.key, from, raw.readUInt32LE((last + 1) * 4));
  const out: PassageInput[] = [];
  for (let r = first; r <= last; r++) {
    const line = bytes.subarray(raw.readUInt32LE(r * 4) - from, raw.readUInt32LE((r + 1) * 4) - from).toString('utf8');
    out[r] = parseCheckedPassage(line, `row ${r} of shard ${shard} (${entry.key})`, 're-run the build; ingest will rewrite the shard');
  }
  return out;
}

/**
 * The rows a part encodes: its share of the shard's chunks of to-do rows (rows not copied from the
 * base), so that a split shard forms exactly the batches one job would.
 */
export function partRows(todo: readonly number[], chunk: number, part: number, parts: number): number[] {
  const chunks = Math.ceil(todo.length / chunk);
  const from = Math.floor((part * chunks) / parts);
  const to = Math.floor(((part + 1) * chunks) / parts);
  return todo.slice(from * chunk, to * chunk);
}

/** Encodes `rows` of `passages` chunk by chunk into out[k * dim] (k = index in rows). */
async function encodeRows(rows: readonly number[], passages: PassageInput[], deps: EncodeDeps, chunk: number, out: Float32Array, done0: number, total: number): Promise<void> {
  const dim = deps.encoder.dim;
  for (let i = 0; i < rows.length; i += chunk) {
    const slice = rows.slice(i, i + chunk);
    const vecs = await deps.encoder.encodePassages(slice.map((r) => passages[r]!));
    out.set(vecs, i * dim);
    await deps.onProgress?.(done0 + Math.min(i + chunk, rows.length), total);
  }
}

/**
 * Encode one shard: passages JSONL → float32 little-endian matrix [passages, dim], stored as a
 * content-addressed object. Rows with a reuse plan entry (incremental builds) copy the base
 * snapshot's embedding instead of running the encoder. Skips when a marker for the same inputs
 * (passages sha256, encoder sha256, reuse plan) exists (resume, retries). A shard split into
 * `encodeParts` part jobs is merged here from their outputs instead of encoded: the same bytes.
 */
export async function runEncode(job: ShardJob, deps: EncodeDeps): Promise<EncodeMarker> {
  const { store, encoder, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const { entry, inputs } = await shardInputs(job, store, encoder.sha256, layout);
  const done = await readDoneMarker(store, layout.encodeMarker(job.shard), encodeMarkerSchema, logger);
  if (done && done.inputsSha256 === inputs) {
    await deps.onProgress?.(done.vectors, done.vectors);
    return done;
  }
  // The same passages under the same encoder (and reuse plan), encoded by any earlier build.
  const found = await findWork(store, 'encode', inputs, encodeMarkerSchema, embeddingsOf);
  if (found && found.vectors === entry.passages) {
    const { madeBy, ...made } = found;
    const marker: EncodeMarker = { ...made, shard: job.shard, foundIn: madeBy, durationMs: Date.now() - started, finishedAt: Date.now() };
    await writeMarker(store, layout.encodeMarker(job.shard), marker, job);
    await deps.onProgress?.(marker.vectors, marker.vectors);
    logger.info({ event: 'shard.encode.found', snapshotId: job.snapshotId, shardId: job.shard, vectors: marker.vectors, foundIn: madeBy }, 'shard embeddings found from an earlier build');
    return marker;
  }
  const parts = job.encodeParts ?? 1;
  const chunk = deps.chunk ?? DEFAULT_CHUNK;
  const dim = encoder.dim;
  const rowsInShard = entry.passages;
  const out = new Float32Array(rowsInShard * dim);
  const plan = await readReusePlan(store, entry.reuse);
  const copied = await copyReusedRows(store, plan, encoder.sha256, dim, out);
  const todo = todoRows(rowsInShard, copied);
  if (parts <= 1) {
    const passages = await readPassages(store, entry, job.shard);
    if (passages.length !== rowsInShard) throw new ShardIntegrityError(`shard ${job.shard} has ${passages.length} passages, the ingest marker says ${rowsInShard}`, { hint: 're-run the build' });
    const vecs = new Float32Array(todo.length * dim);
    await encodeRows(todo, passages, deps, chunk, vecs, copied.size, rowsInShard);
    todo.forEach((r, k) => out.set(vecs.subarray(k * dim, (k + 1) * dim), r * dim));
  } else {
    for (let part = 0; part < parts; part++) {
      const rows = partRows(todo, chunk, part, parts);
      const vecs = await readPart(store, layout, job, part, parts, partInputs(inputs, part, parts, chunk), rows.length, dim);
      rows.forEach((r, k) => out.set(vecs.subarray(k * dim, (k + 1) * dim), r * dim));
    }
  }
  if (todo.length === 0 || parts > 1) await deps.onProgress?.(rowsInShard, rowsInShard);
  const bytes = float32ToLeBytes(out);
  const stored = await putContent(store, bytes, 'embeddings');
  const rowBytes = dim * 4;
  const sums = await putContent(store, vectorRowSumsOf(rowsInShard, (r) => bytes.subarray(r * rowBytes, (r + 1) * rowBytes)), 'rowsums');
  const marker: EncodeMarker = {
    v: PAYLOAD_VERSION,
    inputsSha256: inputs,
    shard: job.shard,
    key: stored.key,
    sha256: stored.sha256,
    bytes: stored.bytes,
    vectors: rowsInShard,
    encoded: todo.length,
    reused: copied.size,
    dim,
    encoder: { name: encoder.name, sha256: encoder.sha256, pooling: encoder.settings.pooling, maxLength: encoder.maxLength, passageFormat: encoder.settings.passageFormat },
    rowSums: { key: sums.key, sha256: sums.sha256, bytes: sums.bytes },
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, layout.encodeMarker(job.shard), marker, job);
  await recordWork(store, 'encode', job.snapshotId, marker, logger);
  logger.info({ event: 'shard.encoded', snapshotId: job.snapshotId, shardId: job.shard, vectors: rowsInShard, encoded: todo.length, reused: copied.size, parts, ms: marker.durationMs }, 'shard encoded');
  return marker;
}

function partInputs(shardInputsSha: string, part: number, parts: number, chunk: number): string {
  return inputsSha256({ shard: shardInputsSha, part, parts, chunk });
}

/** A finished part's vectors, checked against its marker, the inputs it was made from and its row count. */
async function readPart(store: ObjectStore, layout: SnapshotLayout, job: ShardJob, part: number, parts: number, inputs: string, rows: number, dim: number): Promise<Float32Array> {
  const m = await requireMarker(store, layout.encodePartMarker(job.shard, part), encodePartMarkerSchema, `encode part ${part} of shard ${job.shard}`);
  if (m.inputsSha256 !== inputs || m.rows !== rows || (rows > 0 && m.dim !== dim)) {
    throw new ShardIntegrityError(`encode part ${part} of shard ${job.shard} was made from other inputs`, { hint: 're-run the build; the part will be encoded again' });
  }
  const bytes = await store.get(m.key);
  if (sha256(bytes) !== m.sha256) throw new ShardIntegrityError(`encode part ${part} of shard ${job.shard} does not match its sha256`, { hint: 're-run the build' });
  const vecs = leBytesToFloat32(bytes);
  if (vecs.length !== rows * dim) throw new ShardIntegrityError(`encode part ${part} of shard ${job.shard} holds ${vecs.length / dim} vectors, expected ${rows}`);
  return vecs;
}

/**
 * One part of a split shard: encodes its slice of the to-do rows and stores them as a content-addressed
 * object named in a part marker. Skips when the marker for the same inputs exists; any worker may run it.
 */
export async function runEncodePart(job: ShardJob, deps: EncodeDeps): Promise<EncodePartMarker> {
  const { store, encoder, logger } = deps;
  const part = job.part;
  const parts = job.encodeParts ?? 1;
  if (part === undefined || part >= parts) throw new ShardIntegrityError(`encode part ${part} of ${parts} is not a part job`, { hint: 'the job payload is damaged; re-run the build' });
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const chunk = deps.chunk ?? DEFAULT_CHUNK;
  const { entry, inputs: shardSha } = await shardInputs(job, store, encoder.sha256, layout);
  const inputs = partInputs(shardSha, part, parts, chunk);
  const markerKey = layout.encodePartMarker(job.shard, part);
  const done = await readDoneMarker(store, markerKey, encodePartMarkerSchema, logger);
  if (done && done.inputsSha256 === inputs) {
    await deps.onProgress?.(done.rows, done.rows);
    return done;
  }
  if (await hasWork(store, 'encode', shardSha, encodeMarkerSchema, embeddingsOf)) {
    // The whole shard was encoded by an earlier build: its own job takes that, no part is needed.
    // Nothing is written, so if that check fails the re-run encodes this part.
    await deps.onProgress?.(0, 0);
    return { v: PAYLOAD_VERSION, inputsSha256: inputs, shard: job.shard, part, parts, rows: 0, key: '', sha256: '', bytes: 0, dim: encoder.dim, durationMs: 0, finishedAt: Date.now() };
  }
  const plan = await readReusePlan(store, entry.reuse);
  const todo = todoRows(entry.passages, plannedRows(plan, encoder.sha256));
  const rows = partRows(todo, chunk, part, parts);
  const dim = encoder.dim;
  const vecs = new Float32Array(rows.length * dim);
  if (rows.length > 0) {
    // A part reads only its rows (one range read) when the shard has row offsets: reading the whole
    // shard per part would cost parts × shard bytes (100 × 35 MB for a 50,000-passage shard).
    const passages = entry.offsets ? await readPassageRange(store, entry, job.shard, rows[0]!, rows[rows.length - 1]!) : await readPassages(store, entry, job.shard);
    await encodeRows(rows, passages, deps, chunk, vecs, 0, rows.length);
  } else {
    await deps.onProgress?.(0, 0);
  }
  const stored = await putContent(store, float32ToLeBytes(vecs), 'embeddings');
  const marker: EncodePartMarker = {
    v: PAYLOAD_VERSION,
    inputsSha256: inputs,
    shard: job.shard,
    part,
    parts,
    rows: rows.length,
    key: stored.key,
    sha256: stored.sha256,
    bytes: stored.bytes,
    dim,
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, markerKey, marker, job);
  logger.info({ event: 'shard.part.encoded', snapshotId: job.snapshotId, shardId: job.shard, part, parts, rows: rows.length, ms: marker.durationMs }, 'encode part done');
  return marker;
}

/** Rows not copied from the base, in row order: what the encoder runs on. */
function todoRows(count: number, copied: ReadonlySet<number>): number[] {
  const todo: number[] = [];
  for (let i = 0; i < count; i++) if (!copied.has(i)) todo.push(i);
  return todo;
}

async function readReusePlan(store: ObjectStore, ref: { key: string; sha256: string } | undefined): Promise<ReusePlan | undefined> {
  if (!ref) return undefined;
  const raw = await store.get(ref.key);
  if (sha256(raw) !== ref.sha256) throw new ShardIntegrityError(`reuse plan ${ref.key} does not match its sha256`, { hint: 're-run the build; ingest will rewrite it' });
  return JSON.parse(raw.toString('utf8')) as ReusePlan;
}

/** Rows the plan copies from the base; none when the base was encoded by another encoder (another space). */
function plannedRows(plan: ReusePlan | undefined, encoderSha: string): Set<number> {
  const rows = new Set<number>();
  if (!plan || plan.encoderSha256 !== encoderSha) return rows;
  for (const [row] of plan.rows) rows.add(row);
  return rows;
}

/** Copies the rows a reuse plan names from the base's embeddings; returns the rows filled. */
async function copyReusedRows(store: ObjectStore, plan: ReusePlan | undefined, encoderSha: string, dim: number, out: Float32Array): Promise<Set<number>> {
  const filled = new Set<number>();
  if (!plan || plan.encoderSha256 !== encoderSha) return filled;
  for (let si = 0; si < plan.sources.length; si++) {
    const src = plan.sources[si]!;
    const bytes = await store.get(src.key);
    if (sha256(bytes) !== src.sha256) throw new ShardIntegrityError(`base embeddings ${src.key} do not match their sha256`, { hint: 'the base snapshot was altered; build without --base' });
    const vecs = leBytesToFloat32(bytes);
    for (const [row, s, from] of plan.rows) {
      if (s !== si) continue;
      if ((from + 1) * dim > vecs.length) throw new ShardIntegrityError(`reuse plan row ${from} is outside ${src.key}`);
      out.set(vecs.subarray(from * dim, (from + 1) * dim), row * dim);
      filled.add(row);
    }
  }
  const planned = plannedRows(plan, encoderSha);
  if (filled.size !== planned.size) throw new ShardIntegrityError(`reuse plan names ${planned.size} rows but its sources hold ${filled.size}`, { hint: 're-run the build without --base' });
  return filled;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Embeddings are stored little-endian whatever the host, so files are portable. */
export function float32ToLeBytes(v: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf;
}

export function leBytesToFloat32(buf: Uint8Array): Float32Array {
  if (buf.byteLength % 4 !== 0) throw new ShardIntegrityError(`embedding file of ${buf.byteLength} bytes is not a float32 matrix`);
  const out = new Float32Array(buf.byteLength / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(buf);
    return out;
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}
