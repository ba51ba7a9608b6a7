import { RagError, ShardIntegrityError, UsageError } from '@rag/core';
import { checkFinite, checkShape } from './check-vectors.js';
import { loadFaissNative, METRIC_INNER_PRODUCT, type NativeIndex } from './faiss-native.js';
import type { IndexOptions } from './index-options.js';
import { defaultPqM, MIN_POINTS_PER_CENTROID } from './plan-index.js';

/*
 * One IVF-PQ per snapshot, FAISS's recipe for large corpora: the coarse quantizer (nlist centroids)
 * and the PQ codebooks are trained once, on a sample drawn across all shards; every shard's vectors
 * are then encoded with them into inverted lists (codes and row ids, no quantizer: ~pqM + 8 bytes a
 * vector), and a serving process appends every shard's lists to one index. A query then computes
 * its coarse assignment and PQ tables once and scans nprobe lists in total, whatever the number of
 * shards: with per-shard quantizers it scanned nprobe lists of every shard.
 */

/** What a snapshot's quantizer is trained as, and how it is searched. */
export interface QuantizerPlan {
  nlist: number;
  pqM: number;
  pqBits: number;
  /** Lists scanned per query. */
  nprobe: number;
  /** Candidates re-scored exactly per result (k·rerank approximate hits). */
  rerank: number;
  /** Vectors k-means is trained on (a sample drawn across shards). */
  trainVectors: number;
  /** k-means iterations, coarse and per sub-quantizer. */
  trainIterations: number;
  /** faiss::index_factory description. */
  factory: string;
}

/** Training points per list: FAISS warns below 39; 50 keep k-means stable at half the cost of 100. */
export const QUANTIZER_POINTS_PER_LIST = 50;
/** k-means iterations (FAISS's IVF default is 10; its PQ default of 25 bought nothing measurable here). */
export const QUANTIZER_TRAIN_ITERATIONS = 10;

/** Fewest vectors a snapshot-wide IVF-PQ is trained for: 39 per PQ centroid (2^bits of them). */
export function minQuantizerVectors(pqBits: number): number {
  return MIN_POINTS_PER_CENTROID * 2 ** pqBits;
}

/**
 * nlist = the power of two nearest 4·sqrt(N) (FAISS advises 4·sqrt(N) to 16·sqrt(N)): 2,048 lists at
 * 200k passages, 4,096 at 2M, 16,384 at 21M. Powers of two keep the plan stable across nightly
 * snapshots whose sizes differ slightly, so a base's quantizer still fits.
 */
export function defaultNlist(passages: number): number {
  return 2 ** Math.max(3, Math.round(Math.log2(4 * Math.sqrt(passages))));
}

/**
 * Lists scanned per query when not given: 64, whatever the size. With nlist ∝ sqrt(N) a list holds
 * ∝ sqrt(N) vectors, so a query scans ∝ sqrt(N) codes; scaling nprobe with nlist would make it ∝ N.
 * Measured on NQ-open questions at 200k passages (2,048 lists, re-rank 32): recall@10 0.951 at 32,
 * 0.980 at 64, 0.993 at 128 (docs/scale.md).
 */
export const DEFAULT_QUANTIZER_NPROBE = 64;

export function defaultQuantizerNprobe(nlist: number): number {
  return Math.min(nlist, DEFAULT_QUANTIZER_NPROBE);
}

/** The plan for a snapshot of `passages` vectors of `dim` floats; undefined when too small to train (Flat instead). */
export function planQuantizer(passages: number, dim: number, opts: IndexOptions): QuantizerPlan | undefined {
  const pqM = opts.pqM ?? defaultPqM(dim);
  if (dim % pqM !== 0) throw new UsageError(`index option pqM=${pqM} does not divide the ${dim}-d vectors`, { hint: `use a divisor of ${dim}, e.g. ${defaultPqM(dim)}` });
  if (passages < minQuantizerVectors(opts.pqBits)) return undefined;
  const nlist = Math.min(opts.nlist ?? defaultNlist(passages), Math.floor(passages / MIN_POINTS_PER_CENTROID));
  const trainVectors = Math.min(passages, Math.max(QUANTIZER_POINTS_PER_LIST * nlist, minQuantizerVectors(opts.pqBits)));
  return {
    nlist,
    pqM,
    pqBits: opts.pqBits,
    nprobe: Math.min(opts.nprobe ?? defaultQuantizerNprobe(nlist), nlist),
    rerank: opts.rerank,
    trainVectors,
    trainIterations: QUANTIZER_TRAIN_ITERATIONS,
    // `np`: no polysemous training (a code reordering for Hamming search, which we never use).
    factory: `IVF${nlist},PQ${pqM}x${opts.pqBits}np`,
  };
}

function wrap(err: unknown, what: string): Error {
  if (err instanceof RagError) return err;
  return new RagError('FAISS_BUILD', `${what}: ${(err as Error).message}`, { cause: err, hint: 'check free memory and the index options' });
}

/**
 * Trains the snapshot's quantizer on `sample` ([n, dim]) off the event loop; returns the serialized
 * trained index with no vectors in it (the object every shard's lists and every server start from).
 */
export async function trainQuantizer(sample: Float32Array, dim: number, plan: QuantizerPlan, threads: number): Promise<Buffer> {
  const n = checkShape(sample, dim, 'training sample');
  checkFinite(sample, dim, 'training sample');
  if (n < plan.nlist * MIN_POINTS_PER_CENTROID) throw new UsageError(`training the quantizer needs at least ${plan.nlist * MIN_POINTS_PER_CENTROID} vectors for ${plan.nlist} lists, got ${n}`);
  const native = loadFaissNative();
  let index: NativeIndex | undefined;
  try {
    index = native.Index.fromFactory(dim, plan.factory, METRIC_INNER_PRODUCT);
    index.ragSetParam('trainIterations', plan.trainIterations);
    await index.ragTrainAddAsync(sample, true, false, threads);
    index.ragSetParam('nprobe', plan.nprobe);
    return index.ragToBuffer();
  } catch (err) {
    throw wrap(err, `training ${plan.factory} on ${n} ${dim}-d vectors failed`);
  } finally {
    index?.ragRelease();
  }
}

function readQuantizer(quantizer: Buffer): NativeIndex {
  let index: NativeIndex;
  try {
    index = loadFaissNative().Index.ragFromBuffer(quantizer);
  } catch (err) {
    throw new ShardIntegrityError(`not a readable FAISS quantizer (${quantizer.length} bytes): ${(err as Error).message}`, { cause: err, hint: 'the quantizer object is damaged; rebuild the snapshot with --retrain' });
  }
  const info = index.ragDescribe();
  if (info.family !== 'ivf' || !info.isTrained || info.ntotal !== 0 || info.metric !== 'ip') {
    index.ragRelease();
    throw new ShardIntegrityError(`the quantizer object is not a trained, empty inner-product IVF index (${JSON.stringify(info)})`, { hint: 'rebuild the snapshot with --retrain' });
  }
  return index;
}

/**
 * One shard's vectors ([n, dim]) encoded with the snapshot's quantizer: its inverted lists, ids = rows
 * 0..n-1 of the shard (the server adds the shard's first global row). Off the event loop.
 */
export async function encodeShardLists(quantizer: Buffer, vectors: Float32Array, dim: number, threads: number): Promise<Buffer> {
  const n = checkShape(vectors, dim, 'shard vectors');
  checkFinite(vectors, dim, 'shard vectors');
  const index = readQuantizer(quantizer);
  try {
    if (index.getDimension() !== dim) throw new ShardIntegrityError(`the quantizer is for ${index.getDimension()}-d vectors, the shard's are ${dim}-d`);
    await index.ragTrainAddAsync(vectors, false, true, threads);
    if (index.ntotal() !== n) throw new ShardIntegrityError(`encoded ${index.ntotal()} of ${n} vectors`);
    return index.ragIvfListsToBuffer();
  } catch (err) {
    throw wrap(err, `encoding ${n} vectors with the snapshot quantizer failed`);
  } finally {
    index.ragRelease();
  }
}

export interface MergedSearchResult {
  /** [nq, k] approximate inner products, best first per query. */
  scores: Float32Array;
  /** [nq, k] global rows (a shard's first row + the row in the shard); -1 past the last hit. */
  labels: Int32Array;
}

/** Every shard's lists in one IVF-PQ: one search scans `nprobe` lists in total. */
export class MergedIvfIndex {
  private native: NativeIndex | undefined;
  readonly dim: number;
  readonly nlist: number;

  private constructor(native: NativeIndex) {
    this.native = native;
    this.dim = native.getDimension();
    this.nlist = native.ragGetParam('nlist')!;
  }

  /** An empty index from the snapshot's quantizer object. */
  static fromQuantizer(quantizer: Buffer): MergedIvfIndex {
    return new MergedIvfIndex(readQuantizer(quantizer));
  }

  private live(): NativeIndex {
    if (!this.native) throw new UsageError('this MergedIvfIndex was released');
    return this.native;
  }

  get ntotal(): number {
    return this.live().ntotal();
  }

  /** Appends a shard's lists (encodeShardLists) as global rows firstRow..; returns how many. */
  addLists(lists: Buffer, firstRow: number): number {
    try {
      return this.live().ragIvfAddLists(lists, firstRow);
    } catch (err) {
      throw new ShardIntegrityError(`a shard's inverted lists do not fit the snapshot's quantizer: ${(err as Error).message}`, { cause: err, hint: 'the lists were encoded with another quantizer; rebuild the snapshot' });
    }
  }

  /** Call once every shard's lists are in: gives back the spare capacity appending left in each list. */
  compact(): void {
    this.live().ragIvfCompact();
  }

  /**
   * Top-k approximate inner products for nq queries ([nq, dim]); rows whose bit is set in `excluded`
   * (bit r of byte r >> 3: deleted rows of an incremental snapshot) are never returned.
   */
  search(queries: Float32Array, nq: number, k: number, nprobe: number, excluded?: Uint8Array): MergedSearchResult {
    checkShape(queries, this.dim, 'query vectors', nq);
    checkFinite(queries, this.dim, 'query vectors');
    if (nq === 0 || k === 0) return { scores: new Float32Array(0), labels: new Int32Array(0) };
    const r = this.live().ragSearchIvf(queries, k, nprobe, excluded);
    return { scores: r.distances, labels: r.labels };
  }

  release(): void {
    this.native?.ragRelease();
    this.native = undefined;
  }
}
