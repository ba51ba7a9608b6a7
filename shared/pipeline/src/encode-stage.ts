import { endianness } from 'node:os';
import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, putContent } from '@rag/snapshot';
import { inputsSha256, readMarker, requireMarker, writeMarker } from './build-markers.js';
import type { ReusePlan } from './shard-writer.js';
import { encodeMarkerSchema, ingestMarkerSchema, PAYLOAD_VERSION, type EncodeMarker, type ShardJob } from './job-payloads.schema.js';
import { parsePassageShard } from './passage-shard.js';

export interface EncodeDeps {
  store: ObjectStore;
  encoder: Encoder;
  logger: Logger;
  /** Vectors of this shard encoded so far. */
  onProgress?: (vectors: number, total: number) => Promise<void> | void;
  /** Passages per progress step (and per encoder call). */
  chunk?: number;
}

/**
 * Encode one shard: passages JSONL → float32 little-endian matrix [passages, dim], stored as a
 * content-addressed object. Rows with a reuse plan entry (incremental builds) copy the base
 * snapshot's embedding instead of running the encoder. Skips when a marker for the same inputs
 * (passages sha256, encoder sha256, reuse plan) exists (resume, retries).
 */
export async function runEncode(job: ShardJob, deps: EncodeDeps): Promise<EncodeMarker> {
  const { store, encoder, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const entry = ingest.shards.find((s) => s.shard === job.shard);
  if (!entry) throw new ShardIntegrityError(`shard ${job.shard} is not in the ingest marker of ${job.snapshotId}`);
  const inputs = inputsSha256({ passages: entry.sha256, encoder: encoder.sha256, reuse: entry.reuse?.sha256 ?? null });
  const done = await readMarker(store, layout.encodeMarker(job.shard), encodeMarkerSchema);
  if (done && done.inputsSha256 === inputs) {
    await deps.onProgress?.(done.vectors, done.vectors);
    return done;
  }
  const raw = await store.get(entry.key);
  if (sha256(raw) !== entry.sha256) {
    throw new ShardIntegrityError(`passages of shard ${job.shard} do not match their sha256`, { hint: 're-run the build; ingest will rewrite the shard' });
  }
  const passages = parsePassageShard(raw, entry.key);
  const dim = encoder.dim;
  const out = new Float32Array(passages.length * dim);
  const copied = await copyReusedRows(store, entry.reuse, encoder.sha256, dim, out);
  const todo = passages.map((_, i) => i).filter((i) => !copied.has(i));
  const chunk = deps.chunk ?? 256;
  for (let i = 0; i < todo.length; i += chunk) {
    const rows = todo.slice(i, i + chunk);
    const vecs = await encoder.encodePassages(rows.map((r) => passages[r]!));
    rows.forEach((r, j) => out.set(vecs.subarray(j * dim, (j + 1) * dim), r * dim));
    await deps.onProgress?.(copied.size + Math.min(i + chunk, todo.length), passages.length);
  }
  if (todo.length === 0) await deps.onProgress?.(passages.length, passages.length);
  const stored = await putContent(store, float32ToLeBytes(out), 'embeddings');
  const marker: EncodeMarker = {
    v: PAYLOAD_VERSION,
    inputsSha256: inputs,
    shard: job.shard,
    key: stored.key,
    sha256: stored.sha256,
    bytes: stored.bytes,
    vectors: passages.length,
    encoded: todo.length,
    reused: copied.size,
    dim,
    encoder: { name: encoder.name, sha256: encoder.sha256, pooling: encoder.settings.pooling, maxLength: encoder.maxLength, passageFormat: encoder.settings.passageFormat },
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, layout.encodeMarker(job.shard), marker);
  logger.info({ event: 'shard.encoded', snapshotId: job.snapshotId, shardId: job.shard, vectors: passages.length, encoded: todo.length, reused: copied.size, ms: marker.durationMs }, 'shard encoded');
  return marker;
}

/** Copies the rows a reuse plan names from the base's embeddings; returns the rows filled. */
async function copyReusedRows(store: ObjectStore, ref: { key: string; sha256: string } | undefined, encoderSha: string, dim: number, out: Float32Array): Promise<Set<number>> {
  const filled = new Set<number>();
  if (!ref) return filled;
  const raw = await store.get(ref.key);
  if (sha256(raw) !== ref.sha256) throw new ShardIntegrityError(`reuse plan ${ref.key} does not match its sha256`, { hint: 're-run the build; ingest will rewrite it' });
  const plan = JSON.parse(raw.toString('utf8')) as ReusePlan;
  // Vectors of another encoder live in another space: encode everything instead.
  if (plan.encoderSha256 !== encoderSha) return filled;
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
