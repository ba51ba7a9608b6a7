import { UsageError } from '@rag/core';
import { DEFAULT_NPROBE, type IndexKind, type IndexOptions } from './index-options.js';

/** FAISS warns below 39 training points per centroid; we never train with fewer. */
export const MIN_POINTS_PER_CENTROID = 39;
/** Below this many lists IVF saves nothing over a flat scan, so small shards are built flat. */
export const MIN_IVF_NLIST = 8;

/** What will actually be built for a shard of n vectors. */
export interface IndexPlan {
  kind: IndexKind;
  /** faiss::index_factory description. */
  factory: string;
  /** Effective build and search parameters, as recorded in markers and manifests. */
  params: Record<string, number | string>;
  /** Set when the requested kind could not be honoured (e.g. too few vectors to train IVF). */
  fallbackReason?: string;
  /** Train on at most this many vectors (an even stride over the shard); absent: all of them. */
  trainMax?: number;
}

/**
 * Training points per centroid for IVF-PQ: FAISS samples up to 256 per centroid; 64 keep k-means
 * well above its 39 minimum at a quarter of the cost (training is most of an IVF-PQ shard's build).
 */
export const PQ_TRAIN_POINTS_PER_CENTROID = 64;

/**
 * Sub-quantizers for dim when not given: dim / 4 (4 dims per 1-byte code at 8 bits), or the largest
 * divisor of dim below that. Measured on the scale benchmark's 200k passages (256-d): 32 codes (dim/8)
 * needed 32 re-ranked candidates per result for recall@10 0.93; 64 codes get there with far fewer
 * (docs/scale.md), for 32 more bytes per passage.
 */
export function defaultPqM(dim: number): number {
  for (let m = Math.max(1, Math.floor(dim / 4)); m > 1; m--) if (dim % m === 0) return m;
  return 1;
}

function flatFallback(requestedKind: IndexKind, fallbackReason: string): IndexPlan {
  return { kind: 'flat', factory: 'Flat', params: { requestedKind, fallbackReason }, fallbackReason };
}

/**
 * nlist ≈ perRoot·sqrt(n) unless given, clamped so training sees ≥ 39 points per list; undefined
 * when too few for MIN_IVF_NLIST lists.
 */
function planNlist(n: number, opts: IndexOptions, perRoot: number): { nlist: number; wanted: number } | undefined {
  const wanted = opts.nlist ?? Math.max(1, Math.round(perRoot * Math.sqrt(n)));
  const nlist = Math.min(wanted, Math.floor(n / MIN_POINTS_PER_CENTROID));
  return nlist < MIN_IVF_NLIST ? undefined : { nlist, wanted };
}

/**
 * Chooses the FAISS index for a shard of n vectors of `dim` floats. opts.kind must be concrete
 * (`auto` is resolved per snapshot first, see resolveAutoKind).
 */
export function planIndex(n: number, opts: IndexOptions, dim?: number): IndexPlan {
  if (opts.kind === 'auto') throw new UsageError('index kind auto must be resolved for the snapshot before a shard is planned');
  if (opts.kind === 'hnsw') {
    return {
      kind: 'hnsw',
      factory: `HNSW${opts.hnswM},Flat`,
      params: { hnswM: opts.hnswM, efConstruction: opts.efConstruction, efSearch: opts.efSearch },
    };
  }
  if (opts.kind === 'ivf') {
    const lists = planNlist(n, opts, 4);
    if (!lists) {
      return flatFallback('ivf', `ivf needs at least ${MIN_POINTS_PER_CENTROID * MIN_IVF_NLIST} vectors (${MIN_POINTS_PER_CENTROID} per list, ${MIN_IVF_NLIST} lists); shard has ${n}`);
    }
    const params: Record<string, number | string> = { nlist: lists.nlist, nprobe: Math.min(opts.nprobe ?? DEFAULT_NPROBE.ivf, lists.nlist) };
    if (lists.nlist !== lists.wanted) params.requestedNlist = lists.wanted;
    return { kind: 'ivf', factory: `IVF${lists.nlist},Flat`, params };
  }
  // Built on its own, a shard trains its own quantizers (the snapshot-wide IVF-PQ is the train stage's).
  if (opts.kind === 'ivfpq' || opts.kind === 'ivfpq-shard') {
    if (dim === undefined) throw new UsageError('planning an ivfpq index needs the vector dimension');
    const pqM = opts.pqM ?? defaultPqM(dim);
    if (dim % pqM !== 0) throw new UsageError(`index option pqM=${pqM} does not divide the ${dim}-d vectors`, { hint: `use a divisor of ${dim}, e.g. ${defaultPqM(dim)}` });
    // Each sub-quantizer is a k-means of 2^bits centroids: train it on ≥ 39 points per centroid too.
    const minPq = MIN_POINTS_PER_CENTROID * 2 ** opts.pqBits;
    // sqrt(n) lists, not 4·sqrt(n): coarse k-means is most of the build time (n·nlist·dim per
    // iteration) and scanning a few more PQ codes per list is cheap next to the exact re-rank.
    const lists = planNlist(n, opts, 1);
    if (!lists || n < minPq) {
      return flatFallback('ivfpq', `ivfpq needs at least ${Math.max(minPq, MIN_POINTS_PER_CENTROID * MIN_IVF_NLIST)} vectors to train its quantizers; shard has ${n} (use a larger --shard-size, e.g. 50000, for compressed indexes)`);
    }
    const params: Record<string, number | string> = {
      nlist: lists.nlist,
      nprobe: Math.min(opts.nprobe ?? DEFAULT_NPROBE.ivfpq, lists.nlist),
      pqM,
      pqBits: opts.pqBits,
      rerank: opts.rerank,
    };
    if (lists.nlist !== lists.wanted) params.requestedNlist = lists.wanted;
    // `np`: no polysemous training (a simulated-annealing reordering of the codes for Hamming-distance
    // search, which we never use): it took minutes per 50,000-vector shard and changes no result here.
    const trainMax = PQ_TRAIN_POINTS_PER_CENTROID * Math.max(lists.nlist, 2 ** opts.pqBits);
    return { kind: 'ivfpq', factory: `IVF${lists.nlist},PQ${pqM}x${opts.pqBits}np`, params, ...(n > trainMax ? { trainMax } : {}) };
  }
  return { kind: 'flat', factory: 'Flat', params: {} };
}
