import { ShardIntegrityError, UsageError } from '@rag/core';
import { checkFinite, checkShape } from './check-vectors.js';
import { loadFaissNative, type NativeIndex } from './faiss-native.js';

/** Query-time knobs; each applies only to the index family that has it and is ignored elsewhere. */
export interface SearchParams {
  /** IVF: lists visited per query (clamped to nlist). */
  nprobe?: number;
  /** HNSW: candidate list size. */
  efSearch?: number;
}

export interface ShardSearchResult {
  /** [nq, k] row-major inner products, best first per query. */
  scores: Float32Array;
  /** [nq, k] row numbers within the shard; -1 where the shard has fewer than k vectors. */
  labels: Int32Array;
}

export type ShardIndexFamily = 'flat' | 'hnsw' | 'ivf' | 'other';

function pickSearchParams(input: Readonly<Record<string, unknown>>): SearchParams {
  const out: SearchParams = {};
  for (const key of ['nprobe', 'efSearch'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UsageError(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    out[key] = v;
  }
  return out;
}

/** One shard's FAISS index loaded in memory, searchable by inner product. */
export class ShardIndex {
  private native: NativeIndex | undefined;
  readonly family: ShardIndexFamily;
  private readonly d: number;
  private readonly n: number;

  private constructor(native: NativeIndex) {
    this.native = native;
    const info = native.ragDescribe();
    this.family = info.family;
    this.d = info.d;
    this.n = info.ntotal;
  }

  /**
   * Reads serialized index bytes (as written by buildShardIndex). `params` may be a whole
   * manifest parameter record: nprobe / efSearch are applied, build-time keys are ignored.
   */
  static fromBuffer(bytes: Buffer, params: Readonly<Record<string, unknown>> = {}): ShardIndex {
    const search = pickSearchParams(params);
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new ShardIntegrityError('FAISS index bytes are empty', { hint: 'rebuild the snapshot' });
    const addon = loadFaissNative();
    let native: NativeIndex;
    try {
      native = addon.Index.ragFromBuffer(bytes);
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      throw new ShardIntegrityError(`not a readable FAISS index (${bytes.length} bytes): ${err.message}`, { cause: err, hint: 'the index file is damaged; rebuild the snapshot' });
    }
    const index = new ShardIndex(native);
    if (native.ragDescribe().metric !== 'ip') {
      index.release();
      throw new ShardIntegrityError('FAISS index does not use inner product', { hint: 'indexes must be built by buildShardIndex' });
    }
    index.setSearchParams(search);
    return index;
  }

  get ntotal(): number {
    return this.n;
  }

  get dim(): number {
    return this.d;
  }

  private live(): NativeIndex {
    if (!this.native) throw new UsageError('this ShardIndex was released');
    return this.native;
  }

  /** Applies the parameters relevant to this index family; others are ignored (shards may differ in family). */
  setSearchParams(params: SearchParams): void {
    const p = pickSearchParams(params as Record<string, unknown>);
    const native = this.live();
    if (this.family === 'ivf' && p.nprobe !== undefined) native.ragSetParam('nprobe', Math.min(p.nprobe, native.ragGetParam('nlist') ?? p.nprobe));
    if (this.family === 'hnsw' && p.efSearch !== undefined) native.ragSetParam('efSearch', p.efSearch);
  }

  /** The current query-time parameters of this index (empty for flat). */
  getSearchParams(): SearchParams {
    const native = this.live();
    if (this.family === 'ivf') return { nprobe: native.ragGetParam('nprobe')! };
    if (this.family === 'hnsw') return { efSearch: native.ragGetParam('efSearch')! };
    return {};
  }

  /** Top-k by inner product for nq query vectors ([nq, dim] row-major). k may exceed ntotal (padded with label -1). */
  search(queries: Float32Array, nq: number, k: number): ShardSearchResult {
    if (!Number.isInteger(nq) || nq < 0) throw new UsageError(`nq must be a non-negative integer, got ${nq}`);
    if (!Number.isInteger(k) || k < 0) throw new UsageError(`k must be a non-negative integer, got ${k}`);
    checkShape(queries, this.d, 'query vectors', nq);
    checkFinite(queries, this.d, 'query vectors');
    const native = this.live();
    if (nq === 0 || k === 0) return { scores: new Float32Array(0), labels: new Int32Array(0) };
    const r = native.ragSearch(queries, k);
    return { scores: r.distances, labels: r.labels };
  }

  /** Throws unless the index holds exactly `expected` vectors (one per passage of the shard). */
  assertCount(expected: number, what = 'shard'): void {
    if (this.n !== expected) {
      throw new ShardIntegrityError(`${what}: FAISS index holds ${this.n} vectors but ${expected} passages were expected`, {
        hint: 'the index and passages come from different builds; rebuild the snapshot',
        details: { vectors: this.n, expected },
      });
    }
  }

  /** Serializes the index again (e.g. to copy it elsewhere). */
  toBuffer(): Buffer {
    return this.live().ragToBuffer();
  }

  /** Frees the native memory now rather than at garbage collection. Further use throws. */
  release(): void {
    this.native?.ragRelease();
    this.native = undefined;
  }
}
