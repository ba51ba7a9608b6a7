import { ShardIntegrityError, sha256, type Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout } from '@rag/snapshot';
import { readMarker, requireMarker, writeMarker } from './build-markers.js';
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
 * Encode one shard: passages JSONL → float32 little-endian matrix [passages, dim].
 * Skips when the shard is already encoded by the same encoder (resume, retries).
 */
export async function runEncode(job: ShardJob, deps: EncodeDeps): Promise<EncodeMarker> {
  const { store, encoder, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const started = Date.now();
  const done = await readMarker(store, layout.encodeMarker(job.shard), encodeMarkerSchema);
  if (done && done.encoder.sha256 === encoder.sha256) {
    await deps.onProgress?.(done.vectors, done.vectors);
    return done;
  }
  const ingest = await requireMarker(store, layout.ingestMarker(), ingestMarkerSchema, 'ingest marker');
  const entry = ingest.shards.find((s) => s.shard === job.shard);
  if (!entry) throw new ShardIntegrityError(`shard ${job.shard} is not in the ingest marker of ${job.snapshotId}`);
  const raw = await store.get(entry.key);
  if (sha256(raw) !== entry.sha256) {
    throw new ShardIntegrityError(`passages of shard ${job.shard} do not match their sha256`, { hint: 're-run the build; ingest will rewrite the shard' });
  }
  const passages = parsePassageShard(raw, entry.key);
  const out = new Float32Array(passages.length * encoder.dim);
  const chunk = deps.chunk ?? 256;
  for (let i = 0; i < passages.length; i += chunk) {
    const part = passages.slice(i, i + chunk);
    out.set(await encoder.encodePassages(part), i * encoder.dim);
    await deps.onProgress?.(Math.min(i + chunk, passages.length), passages.length);
  }
  const bytes = float32ToLeBytes(out);
  const key = layout.embeddings(job.shard);
  await store.put(key, bytes);
  const marker: EncodeMarker = {
    v: PAYLOAD_VERSION,
    shard: job.shard,
    key,
    sha256: sha256(bytes),
    vectors: passages.length,
    dim: encoder.dim,
    encoder: { name: encoder.name, sha256: encoder.sha256, pooling: encoder.settings.pooling, maxLength: encoder.maxLength, passageFormat: encoder.settings.passageFormat },
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, layout.encodeMarker(job.shard), marker);
  logger.info({ event: 'shard.encoded', snapshotId: job.snapshotId, shardId: job.shard, vectors: passages.length, ms: marker.durationMs }, 'shard encoded');
  return marker;
}

/** Embeddings are stored little-endian whatever the host, so files are portable. */
export function float32ToLeBytes(v: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf;
}

export function leBytesToFloat32(buf: Uint8Array): Float32Array {
  if (buf.byteLength % 4 !== 0) throw new ShardIntegrityError(`embedding file of ${buf.byteLength} bytes is not a float32 matrix`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}
