import type { IndexKind, IndexOptions } from './index-options.js';

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
}

/** Chooses the FAISS index for n vectors: nlist ≈ 4·sqrt(n), clamped so training sees ≥ 39 points per list. */
export function planIndex(n: number, opts: IndexOptions): IndexPlan {
  if (opts.kind === 'hnsw') {
    return {
      kind: 'hnsw',
      factory: `HNSW${opts.hnswM},Flat`,
      params: { hnswM: opts.hnswM, efConstruction: opts.efConstruction, efSearch: opts.efSearch },
    };
  }
  if (opts.kind === 'ivf') {
    const wanted = opts.nlist ?? Math.max(1, Math.round(4 * Math.sqrt(n)));
    const nlist = Math.min(wanted, Math.floor(n / MIN_POINTS_PER_CENTROID));
    if (nlist < MIN_IVF_NLIST) {
      const fallbackReason = `ivf needs at least ${MIN_POINTS_PER_CENTROID * MIN_IVF_NLIST} vectors (${MIN_POINTS_PER_CENTROID} per list, ${MIN_IVF_NLIST} lists); shard has ${n}`;
      return { kind: 'flat', factory: 'Flat', params: { requestedKind: 'ivf', fallbackReason }, fallbackReason };
    }
    const params: Record<string, number | string> = { nlist, nprobe: Math.min(opts.nprobe, nlist) };
    if (nlist !== wanted) params.requestedNlist = wanted;
    return { kind: 'ivf', factory: `IVF${nlist},Flat`, params };
  }
  return { kind: 'flat', factory: 'Flat', params: {} };
}
