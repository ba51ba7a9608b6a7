import { endianness } from 'node:os';
import { ShardIntegrityError, UsageError, sha256, type Logger } from '@rag/core';
import { parseCheckedPassage, parsePassageShard, type Passage } from '@rag/corpus';
import type { Encoder } from '@rag/encoder';
import { MergedIvfIndex, ShardIndex, compareHits, mergeTopK, type MergedHit } from '@rag/index';
import { objectRanges, type ObjectCache, type ObjectRanges, type ObjectStore } from '@rag/storage';
import { ROW_SUM_BYTES, SnapshotRegistry, checkRowSum, checkVectorRowSum, type ObjectRef, type ShardEntry, type SnapshotManifest } from '@rag/snapshot';

export interface RetrievedPassage {
  id: string;
  title: string;
  text: string;
  /** Inner product question·passage: the paper's doc score before the softmax. */
  score: number;
  shard: number;
}

interface LoadedShard {
  shard: number;
  /** The shard's own index; absent under a snapshot-wide quantizer (its lists are in the merged index). */
  index?: ShardIndex;
  /** Every row's passage, for snapshots without an offsets object (built before v2). */
  passages?: Passage[];
  /** Byte offset of every row in the passages object (rows + 1): passages are read on demand. */
  offsets?: Uint32Array;
  passagesKey: string;
  /** Rows that are not part of this snapshot (a shard reused from a base snapshot). */
  deleted: Set<number>;
  /**
   * Compressed (IVF-PQ) shards: candidates fetched per result, whose approximate scores are replaced
   * by exact inner products with the stored fp32 embeddings. 0 for exact indexes.
   */
  rerank: number;
  embeddingsKey: string;
  /** Range reads of the shard's embeddings and passages (local files, the disk cache, or the store). */
  embeddingRows: ObjectRanges;
  passageRows: ObjectRanges;
  /** Per-row digests (row-sums.ts) each range-read row is checked against; absent for snapshots built before them. */
  passageSums?: Buffer;
  embeddingSums?: Buffer;
}

/** Every shard's inverted lists in one IVF-PQ under the snapshot's quantizer (manifest version 3). */
interface MergedShards {
  index: MergedIvfIndex;
  /** Global row of each shard's row 0, in manifest order, plus the total (rows, deleted ones included). */
  firstRow: number[];
  /** Bit r set: global row r is deleted (rows of kept shards whose pages changed or went away). */
  excluded?: Uint8Array;
  nprobe: number;
  rerank: number;
}

export interface LoadOptions {
  logger?: Logger;
  /** Shards loaded at once (each holds its index and one object read in flight). Default 4. */
  concurrency?: number;
  /** Passages kept in memory after a read, most recent first (a hot set across questions). Default 4096. */
  cacheSize?: number;
  /**
   * A local disk cache for a remote store: every object a question reads (embeddings for re-ranking,
   * passages) is copied there, verified, while the snapshot loads, so questions then make no request.
   * Local storage is read in place and needs none.
   */
  objectCache?: ObjectCache;
}

/**
 * A published snapshot loaded for search: every shard's FAISS index, verified against the
 * manifest's sha256 and counts. Passage text is not held: each shard's row offsets are, and a
 * search reads just the passages it returns (a range read each, verified against the passage's
 * own hash), so memory is the indexes plus 4 bytes a passage. Loading is separate from
 * construction so a new snapshot can be loaded fully before a reference is swapped.
 */
export class SnapshotRetriever {
  private readonly cache = new Map<string, Passage>();
  /** Embedding rows read for re-ranking by rowKey, most recent last (same bound as the passage cache). */
  private readonly vectorCache = new Map<number, Float32Array>();

  private constructor(
    readonly manifest: SnapshotManifest,
    private readonly shards: LoadedShard[],
    private readonly cacheSize: number,
    private readonly merged: MergedShards | undefined,
    private readonly objectCache: ObjectCache | undefined,
  ) {}

  static async load(store: ObjectStore, snapshotId: string, o: LoadOptions = {}): Promise<SnapshotRetriever> {
    const manifest = await new SnapshotRegistry(store).read(snapshotId);
    const concurrency = o.concurrency ?? 4;
    if (o.objectCache && !store.localPath?.(manifest.shards[0]!.embeddingsKey)) {
      // Everything a question reads, copied and verified before the snapshot serves (a hot swap
      // loads the new snapshot fully first, so its first questions are as fast as the last).
      await mapLimit(manifest.shards.flatMap(rowObjects), concurrency, (ref) => o.objectCache!.prepare(ref));
    }
    const shards = await mapLimit(manifest.shards, concurrency, (s) => loadShard(store, manifest, s, o.objectCache));
    const merged = manifest.quantizer ? await loadMerged(store, manifest, concurrency) : undefined;
    o.logger?.info({ event: 'snapshot.loaded', snapshotId, shards: shards.length, passages: manifest.passages, lazy: shards.every((s) => !s.passages), merged: !!merged }, 'snapshot loaded');
    return new SnapshotRetriever(manifest, shards, o.cacheSize ?? 4096, merged, o.objectCache);
  }

  /** Passages held in memory: whole shards of snapshots without offsets, plus the read cache. */
  get passagesInMemory(): number {
    return this.shards.reduce((n, s) => n + (s.passages?.length ?? 0), 0) + this.cache.size;
  }

  get snapshotId(): string {
    return this.manifest.id;
  }

  /** Frees every shard's FAISS memory (outside the JS heap) and the passage cache; searching afterwards throws. */
  release(): void {
    for (const s of this.shards) s.index?.release();
    this.merged?.index.release();
    this.cache.clear();
    this.vectorCache.clear();
    this.objectCache?.release(this.manifest.shards.flatMap(rowObjects));
  }

  /** Refuses a query encoder whose vectors cannot be compared with this snapshot's. */
  assertCompatible(encoder: Encoder, allowDifferentEncoder = false): void {
    if (encoder.dim !== this.manifest.dim) {
      throw new UsageError(`encoder ${encoder.name} gives ${encoder.dim}-d vectors but snapshot ${this.snapshotId} holds ${this.manifest.dim}-d`, {
        hint: `use the encoder the snapshot was built with (${this.manifest.encoder.name})`,
      });
    }
    const paired = encoder.settings.passageEncoderSha256 === this.manifest.encoder.sha256;
    if (!allowDifferentEncoder && !paired && encoder.sha256 !== this.manifest.encoder.sha256) {
      throw new UsageError(`snapshot ${this.snapshotId} was built with encoder ${this.manifest.encoder.sha256.slice(0, 12)}, not ${encoder.sha256.slice(0, 12)}`, {
        hint: 'pass the same --encoder as the build, or a question encoder trained against it',
      });
    }
  }

  /**
   * Global top-k over all shards for each query vector ([nq, dim] row-major). Exact for Flat shards;
   * IVF-PQ shards return k·rerank candidates each, the best k·rerank of all shards are re-scored
   * with their stored fp32 embeddings, so every returned score is the exact inner product.
   */
  async searchVectors(queries: Float32Array, nq: number, k: number): Promise<RetrievedPassage[][]> {
    const merged = this.merged ? await this.rescore(queries, this.searchMerged(this.merged, queries, nq, k), k) : await this.searchShards(queries, nq, k);
    const passages = await this.passagesOf(merged.flat());
    return merged.map((hits) => hits.map((hit) => {
      const p = passages.get(`${hit.shard}:${hit.label}`)!;
      return { id: p.id, title: p.title, text: p.text, score: hit.score, shard: hit.shard };
    }));
  }

  /**
   * One search over the merged index (nprobe lists in all, deleted rows skipped in the scan): the best
   * k·rerank candidates per query with approximate scores, as (shard, row).
   */
  private searchMerged(m: MergedShards, queries: Float32Array, nq: number, k: number): MergedHit[][] {
    const kk = k * m.rerank;
    const r = m.index.search(queries, nq, kk, m.nprobe, m.excluded);
    const out: MergedHit[][] = [];
    for (let q = 0; q < nq; q++) {
      const hits: MergedHit[] = [];
      for (let i = q * kk; i < (q + 1) * kk; i++) {
        const row = r.labels[i]!;
        if (row < 0) continue;
        const at = shardOfRow(m.firstRow, row);
        hits.push({ shard: this.shards[at]!.shard, label: row - m.firstRow[at]!, score: r.scores[i]! });
      }
      out.push(hits);
    }
    return out;
  }

  /** Each shard's own index searched, the lists merged in JavaScript (snapshots without a quantizer). */
  private async searchShards(queries: Float32Array, nq: number, k: number): Promise<MergedHit[][]> {
    const rerank = Math.max(1, ...this.shards.map((s) => s.rerank));
    // A shard with deleted rows is asked for one more per deleted row, so enough live rows remain.
    const perShard = this.shards.map((s) => ({ s, r: s.index!.search(queries, nq, Math.min(k * Math.max(1, s.rerank) + s.deleted.size, s.index!.ntotal)) }));
    let merged: MergedHit[][] = [];
    for (let q = 0; q < nq; q++) {
      const lists = perShard.map(({ s, r }) => {
        const kk = r.scores.length / nq;
        const scores = r.scores.subarray(q * kk, (q + 1) * kk);
        const labels = r.labels.subarray(q * kk, (q + 1) * kk);
        if (s.deleted.size === 0) return { shard: s.shard, scores, labels };
        const keep = [...labels.keys()].filter((i) => !s.deleted.has(labels[i]!));
        return { shard: s.shard, scores: keep.map((i) => scores[i]!), labels: keep.map((i) => labels[i]!) };
      });
      merged.push(mergeTopK(lists, k * rerank));
    }
    if (this.shards.some((s) => s.rerank > 0)) merged = await this.rescore(queries, merged, k);
    return merged;
  }

  /** Replaces the approximate scores of compressed shards' hits by exact ones; the best k per query remain. */
  private async rescore(queries: Float32Array, merged: MergedHit[][], k: number): Promise<MergedHit[][]> {
    const dim = this.manifest.dim;
    if (LITTLE_ENDIAN && merged.every((hits) => hits.every((h) => this.shards[h.shard]!.rerank > 0 && this.shards[h.shard]!.embeddingRows.readIntoSync))) {
      return merged.map((hits, q) => this.rescoreLocal(queries.subarray(q * dim, (q + 1) * dim), hits, k));
    }
    const need = merged.flat().filter((h) => this.shards[h.shard]!.rerank > 0);
    const vectors = await this.vectorsOf(need);
    return merged.map((hits, q) => {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const exact = hits.map((h) => {
        const v = this.shards[h.shard]!.rerank > 0 ? vectors.get(rowKey(h))! : undefined;
        return v ? { ...h, score: dot(query, v) } : h;
      });
      exact.sort(compareHits);
      return exact.slice(0, k);
    });
  }

  /**
   * The re-rank when every candidate's embeddings are a local file (local storage, or copies in the
   * disk cache): each row pread straight into one buffer for the question, scored, the best k kept.
   * No per-row allocation: this is the hot path of every question on a compressed snapshot.
   */
  private rescoreLocal(query: Float32Array, hits: MergedHit[], k: number): MergedHit[] {
    const dim = this.manifest.dim;
    const bytesPerRow = dim * 4;
    const rows = new Float32Array(hits.length * dim);
    const bytes = new Uint8Array(rows.buffer);
    const out: MergedHit[] = [];
    for (let i = 0; i < hits.length; i++) {
      const h = hits[i]!;
      const s = this.shards[h.shard]!;
      const got = s.embeddingRows.readIntoSync!(h.label * bytesPerRow, bytes.subarray(i * bytesPerRow, (i + 1) * bytesPerRow));
      const v = rows.subarray(i * dim, (i + 1) * dim);
      if (got !== bytesPerRow) throw new ShardIntegrityError(`embeddings ${s.embeddingsKey} end before row ${h.label}`, { hint: 'the object was altered; rebuild the snapshot' });
      if (!allFinite(v)) throw new ShardIntegrityError(`row ${h.label} of ${s.embeddingsKey} is not a finite vector`, { hint: 'the object was altered; rebuild the snapshot' });
      if (s.embeddingSums) checkVectorRowSum(s.embeddingSums, h.label, bytes.subarray(i * bytesPerRow, (i + 1) * bytesPerRow), s.embeddingsKey);
      out.push({ shard: h.shard, label: h.label, score: dot(query, v) });
    }
    out.sort(compareHits);
    return out.slice(0, k);
  }

  /**
   * Embedding rows of these hits: from memory, or one read each (dim x 4 bytes): a blocking pread where
   * the object is a local file (local storage, or a copy in the disk cache), else a range request.
   */
  private async vectorsOf(hits: MergedHit[]): Promise<Map<number, Float32Array>> {
    const dim = this.manifest.dim;
    const bytesPerRow = dim * 4;
    const out = new Map<number, Float32Array>();
    const todo: [number, MergedHit][] = [];
    for (const h of hits) {
      const key = rowKey(h);
      if (out.has(key)) continue;
      const v = this.vectorCache.get(key);
      if (v) out.set(key, v);
      else todo.push([key, h]);
    }
    const take = (key: number, h: MergedHit, bytes: Buffer) => {
      const s = this.shards[h.shard]!;
      if (bytes.length !== bytesPerRow) throw new ShardIntegrityError(`embeddings ${s.embeddingsKey} end before row ${h.label}`, { hint: 'the object was altered; rebuild the snapshot' });
      if (s.embeddingSums) checkVectorRowSum(s.embeddingSums, h.label, bytes, s.embeddingsKey);
      // Stored little-endian; a byte copy is the float on a little-endian host (every one we run on).
      const v = new Float32Array(dim);
      if (LITTLE_ENDIAN) new Uint8Array(v.buffer).set(bytes);
      else for (let i = 0; i < dim; i++) v[i] = bytes.readFloatLE(i * 4);
      if (!allFinite(v)) throw new ShardIntegrityError(`row ${h.label} of ${s.embeddingsKey} is not a finite vector`, { hint: 'the object was altered; rebuild the snapshot' });
      out.set(key, v);
      this.vectorCache.set(key, v);
      if (this.vectorCache.size > this.cacheSize) this.vectorCache.delete(this.vectorCache.keys().next().value!);
    };
    const remote: [number, MergedHit][] = [];
    for (const [key, h] of todo) {
      const rows = this.shards[h.shard]!.embeddingRows;
      if (rows.readSync) take(key, h, rows.readSync(h.label * bytesPerRow, (h.label + 1) * bytesPerRow));
      else remote.push([key, h]);
    }
    await mapLimit(remote, 32, async ([key, h]) => take(key, h, await this.shards[h.shard]!.embeddingRows.read(h.label * bytesPerRow, (h.label + 1) * bytesPerRow)));
    return out;
  }

  async search(encoder: Encoder, questions: string[], k: number): Promise<RetrievedPassage[][]> {
    const vecs = await encoder.encodeQueries(questions);
    return this.searchVectors(vecs, questions.length, k);
  }

  /** The passages of these rows: from memory (old snapshots), the cache, or one range read each. */
  private async passagesOf(hits: MergedHit[]): Promise<Map<string, Passage>> {
    const out = new Map<string, Passage>();
    const todo = new Map<string, MergedHit>();
    for (const h of hits) {
      const key = `${h.shard}:${h.label}`;
      const p = this.shards[h.shard]!.passages?.[h.label] ?? this.cache.get(key);
      if (p) out.set(key, p);
      else todo.set(key, h);
    }
    await mapLimit([...todo], 16, async ([key, h]) => {
      const p = await readRow(this.shards[h.shard]!, h.label);
      out.set(key, p);
      this.cache.set(key, p);
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    });
    return out;
  }

  /** Passages in snapshot order (shard by shard, deleted rows left out), for `snapshot passages`. */
  static async *readPassages(store: ObjectStore, manifest: SnapshotManifest): AsyncGenerator<Passage> {
    for (const s of manifest.shards) {
      const deleted = await readDeleted(store, s);
      const rows = parsePassageShard(await store.get(s.passagesKey), s.passagesKey);
      for (let i = 0; i < rows.length; i++) if (!deleted.has(i)) yield rows[i]!;
    }
  }
}

/** The objects a question may read rows of: a shard's embeddings (re-rank) and passages. */
function rowObjects(s: ShardEntry): { key: string; sha256: string }[] {
  return [{ key: s.embeddingsKey, sha256: s.embeddingsSha256 }, { key: s.passagesKey, sha256: s.passagesSha256 }];
}

async function loadShard(store: ObjectStore, manifest: SnapshotManifest, s: ShardEntry, cache: ObjectCache | undefined): Promise<LoadedShard> {
  const deleted = await readDeleted(store, s);
  const rows = { embeddingRows: objectRanges(store, cache, rowObjects(s)[0]!), passageRows: objectRanges(store, cache, rowObjects(s)[1]!) };
  let index: ShardIndex | undefined;
  let rerank: number;
  if (s.index?.kind === 'ivfpq-lists') {
    if (!manifest.quantizer) throw new ShardIntegrityError(`shard ${s.shard} holds inverted lists but snapshot ${manifest.id} names no quantizer`, { hint: 'the manifest was altered; rebuild the snapshot' });
    rerank = manifest.quantizer.rerank;
  } else {
    const indexBytes = await store.get(s.key);
    if (sha256(indexBytes) !== s.sha256) throw new ShardIntegrityError(`index ${s.key} does not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
    // Each shard's own parameters (v2); v1 manifests had one spec for all shards.
    const spec = s.index ?? manifest.index;
    index = ShardIndex.fromBuffer(indexBytes, spec.params);
    rerank = rerankOf(spec);
    if (index.ntotal !== s.vectors) throw new ShardIntegrityError(`shard ${s.shard}: index has ${index.ntotal} vectors, manifest says ${s.vectors}/${s.passages}`);
  }
  const sums = async (ref: ObjectRef | undefined, what: string) => {
    if (!ref) return undefined;
    const raw = await store.get(ref.key);
    if (sha256(raw) !== ref.sha256 || raw.length !== s.passages * ROW_SUM_BYTES) {
      throw new ShardIntegrityError(`${what} row digests ${ref.key} do not match the manifest (sha256 or ${s.passages} rows)`, { hint: 'the object was altered; rebuild the snapshot' });
    }
    return raw;
  };
  const common = {
    shard: s.shard, index, passagesKey: s.passagesKey, deleted, embeddingsKey: s.embeddingsKey, rerank, ...rows,
    passageSums: await sums(s.passagesRowSums, 'passages'), embeddingSums: await sums(s.embeddingsRowSums, 'embeddings'),
  };
  if (s.vectors !== s.passages) {
    throw new ShardIntegrityError(`shard ${s.shard}: manifest says ${s.vectors} vectors for ${s.passages} passages`);
  }
  if (s.offsets) {
    const raw = await store.get(s.offsets.key);
    if (sha256(raw) !== s.offsets.sha256) throw new ShardIntegrityError(`offsets ${s.offsets.key} do not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
    const offsets = new Uint32Array(raw.length / 4);
    for (let i = 0; i < offsets.length; i++) offsets[i] = raw.readUInt32LE(i * 4);
    if (offsets.length !== s.passages + 1 || (s.passagesBytes !== undefined && offsets[s.passages] !== s.passagesBytes)) {
      throw new ShardIntegrityError(`offsets ${s.offsets.key} do not fit shard ${s.shard} (${offsets.length - 1} rows, manifest says ${s.passages})`);
    }
    return { ...common, offsets };
  }
  const passageBytes = await store.get(s.passagesKey);
  if (sha256(passageBytes) !== s.passagesSha256) throw new ShardIntegrityError(`passages ${s.passagesKey} do not match the manifest sha256`);
  const passages = parsePassageShard(passageBytes, s.passagesKey);
  if (passages.length !== s.passages) throw new ShardIntegrityError(`shard ${s.shard}: ${passages.length} passages, manifest says ${s.passages}`);
  return { ...common, passages };
}

/**
 * The snapshot's quantizer with every shard's inverted lists appended, shard by shard in manifest
 * order (global row = the shard's first row + its row), each object checked against its sha256.
 */
async function loadMerged(store: ObjectStore, manifest: SnapshotManifest, concurrency: number): Promise<MergedShards> {
  const q = manifest.quantizer!;
  const qBytes = await store.get(q.key);
  if (sha256(qBytes) !== q.sha256) throw new ShardIntegrityError(`quantizer ${q.key} does not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
  const index = MergedIvfIndex.fromQuantizer(qBytes);
  try {
    const firstRow: number[] = [];
    let total = 0;
    for (const s of manifest.shards) {
      firstRow.push(total);
      total += s.vectors;
    }
    firstRow.push(total);
    let excluded: Uint8Array | undefined;
    // Read in parallel, appended in order as each shard's turn comes.
    let next = 0;
    const ready = new Map<number, Buffer>();
    const waiters = new Map<number, () => void>();
    const reads = mapLimit(manifest.shards.map((s, i) => ({ s, i })), concurrency, async ({ s, i }) => {
      if (s.index?.kind !== 'ivfpq-lists') throw new ShardIntegrityError(`shard ${s.shard} of ${manifest.id} is ${s.index?.kind ?? manifest.index.kind}, not lists under the snapshot's quantizer`, { hint: 'the manifest was altered; rebuild the snapshot' });
      const bytes = await store.get(s.key);
      if (sha256(bytes) !== s.sha256) throw new ShardIntegrityError(`lists ${s.key} of shard ${s.shard} do not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
      ready.set(i, bytes);
      waiters.get(i)?.();
    });
    const append = (async () => {
      for (; next < manifest.shards.length; next++) {
        if (!ready.has(next)) await new Promise<void>((r) => waiters.set(next, r));
        const s = manifest.shards[next]!;
        const added = index.addLists(ready.get(next)!, firstRow[next]!);
        ready.delete(next);
        if (added !== s.vectors) throw new ShardIntegrityError(`lists of shard ${s.shard} hold ${added} vectors, the manifest says ${s.vectors}`, { hint: 'the object was altered; rebuild the snapshot' });
        for (const row of await readDeleted(store, s)) {
          excluded ??= new Uint8Array(Math.ceil(total / 8));
          const g = firstRow[next]! + row;
          excluded[g >> 3]! |= 1 << (g & 7);
        }
      }
    })();
    await Promise.all([reads, append]);
    index.compact();
    return { index, firstRow, ...(excluded ? { excluded } : {}), nprobe: q.nprobe, rerank: q.rerank };
  } catch (err) {
    index.release();
    throw err;
  }
}

/** Index of the shard holding global row `row` (firstRow ascending, last entry the total). */
function shardOfRow(firstRow: number[], row: number): number {
  let lo = 0;
  let hi = firstRow.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (firstRow[mid]! <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Candidates per result to re-score for a compressed shard; 0 where the index scores exactly. */
function rerankOf(spec: { kind: string; params: Record<string, number | string> }): number {
  if (spec.kind !== 'ivfpq') return 0;
  const r = spec.params.rerank;
  return typeof r === 'number' && Number.isInteger(r) && r >= 1 ? r : 1;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** One number per (shard, row): shards and rows both fit in 2^26. */
function rowKey(h: MergedHit): number {
  return h.shard * 67_108_864 + h.label;
}

function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false;
  return true;
}

/** Inner product; four partial sums keep the loop's dependency chain short (the re-rank does ~320 a question). */
function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + (s2 + s3);
}

/** One row of a shard by a range read, checked against the passage's own hash. */
async function readRow(s: LoadedShard, row: number): Promise<Passage> {
  const off = s.offsets!;
  const bytes = await s.passageRows.read(off[row]!, off[row + 1]!);
  if (s.passageSums) checkRowSum(s.passageSums, row, bytes, s.passagesKey);
  return parseCheckedPassage(bytes.toString('utf8'), `row ${row} of ${s.passagesKey}`, 'the object was altered; rebuild the snapshot');
}

/** Runs fn over items, at most `limit` at a time; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

/** The deleted rows of a shard entry (verified against the manifest), or an empty set. */
export async function readDeleted(store: ObjectStore, s: ShardEntry): Promise<Set<number>> {
  if (!s.deleted) return new Set();
  const bytes = await store.get(s.deleted.key);
  if (sha256(bytes) !== s.deleted.sha256) throw new ShardIntegrityError(`deleted rows ${s.deleted.key} do not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
  const rows = JSON.parse(bytes.toString('utf8')) as number[];
  if (rows.length !== s.deleted.count || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= s.passages)) {
    throw new ShardIntegrityError(`deleted rows ${s.deleted.key} do not fit shard ${s.shard}`);
  }
  return new Set(rows);
}
