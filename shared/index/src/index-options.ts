import { UsageError } from '@rag/core';

/** FAISS index families one shard can be built as on its own. All use inner product: the encoder L2-normalises vectors. */
export type IndexKind = 'flat' | 'hnsw' | 'ivf' | 'ivfpq';

/**
 * What a build may ask for: `auto` (Flat under the memory budget, IVF-PQ above it; see resolveAutoKind),
 * `ivfpq` (one quantizer trained for the whole snapshot, every shard's vectors encoded with it:
 * snapshot-quantizer.ts), `ivfpq-shard` (the older layout: a quantizer trained per shard), or a family
 * built per shard as it is.
 */
export type RequestedIndexKind = 'auto' | 'flat' | 'hnsw' | 'ivf' | 'ivfpq' | 'ivfpq-shard';

export const INDEX_KINDS: readonly IndexKind[] = ['flat', 'hnsw', 'ivf', 'ivfpq'];
export const REQUESTED_INDEX_KINDS: readonly RequestedIndexKind[] = ['auto', 'flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-shard'];

/** Kinds decided for the whole snapshot by the train stage (after encoding, before indexing). */
export function trainedForSnapshot(kind: RequestedIndexKind): boolean {
  return kind === 'auto' || kind === 'ivfpq';
}

/** The family a shard is built as on its own for a requested per-shard kind. */
export function perShardKind(kind: Exclude<RequestedIndexKind, 'auto'>): IndexKind {
  return kind === 'ivfpq-shard' ? 'ivfpq' : kind;
}

export interface IndexOptions {
  kind: RequestedIndexKind;
  /** HNSW: neighbours per node (M). */
  hnswM: number;
  /** HNSW: candidate list size while building. */
  efConstruction: number;
  /** HNSW: candidate list size while searching (settable again after load). */
  efSearch: number;
  /** IVF / IVF-PQ: number of lists; undefined = about 4·sqrt(n) (IVF) or sqrt(n) (IVF-PQ), see planIndex. */
  nlist?: number;
  /**
   * IVF / IVF-PQ: lists visited per query (settable again after load); undefined = 16 for IVF, 64 for
   * IVF-PQ (its ~sqrt(n) lists are fewer and larger, and recall@10 at 200k passages needed 64: docs/scale.md).
   */
  nprobe?: number;
  /** IVF-PQ: sub-quantizers (bytes per vector at 8 bits); undefined = dim / 4. Must divide dim. */
  pqM?: number;
  /** IVF-PQ: bits per sub-quantizer code. */
  pqBits: number;
  /**
   * IVF-PQ: candidates re-ranked exactly per result (k·rerank approximate hits are re-scored with
   * the stored fp32 embeddings), so the compressed index costs memory, not recall. Default 32.
   */
  rerank: number;
  /** auto: the in-memory size of Flat vectors (passages · dim · 4 bytes) above which IVF-PQ is built. */
  flatBudgetMiB: number;
  /**
   * Build single-threaded where FAISS would otherwise depend on thread timing (HNSW insertion),
   * so that the same vectors give byte-identical index files.
   */
  deterministic: boolean;
}

/** Lists visited per query when not given. */
export const DEFAULT_NPROBE = { ivf: 16, ivfpq: 64 } as const;

export const DEFAULT_INDEX_OPTIONS: Readonly<IndexOptions> = {
  kind: 'flat',
  hnswM: 32,
  efConstruction: 80,
  efSearch: 64,
  pqBits: 8,
  rerank: 32,
  flatBudgetMiB: 1024,
  deterministic: true,
};

type IntKey = 'hnswM' | 'efConstruction' | 'efSearch' | 'nlist' | 'nprobe' | 'pqM' | 'pqBits' | 'rerank' | 'flatBudgetMiB';

const INT_LIMITS: Record<IntKey, [number, number]> = {
  hnswM: [2, 512],
  efConstruction: [1, 1 << 16],
  efSearch: [1, 1 << 16],
  nlist: [1, 1 << 24],
  nprobe: [1, 1 << 24],
  pqM: [1, 4096],
  pqBits: [4, 8],
  rerank: [1, 1000],
  flatBudgetMiB: [1, 1 << 30],
};

/** Keys that only describe what was built (recorded in manifests), accepted and ignored when options are read back. */
const RECORD_ONLY = new Set(['requestedKind', 'fallbackReason', 'requestedNlist', 'autoReason']);

/**
 * Validates index options given as loose data (CLI flags, job payloads, manifests) and fills
 * defaults. Unknown keys are refused so that a typo does not silently fall back to a default.
 */
export function resolveIndexOptions(input: Readonly<Record<string, unknown>> = {}): IndexOptions {
  const out: IndexOptions = { ...DEFAULT_INDEX_OPTIONS };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || RECORD_ONLY.has(key)) continue;
    if (key === 'kind') {
      if (!REQUESTED_INDEX_KINDS.includes(value as RequestedIndexKind)) {
        throw new UsageError(`unknown index kind ${JSON.stringify(value)}`, { hint: `use one of ${REQUESTED_INDEX_KINDS.join(', ')}` });
      }
      out.kind = value as RequestedIndexKind;
    } else if (key === 'deterministic') {
      if (typeof value !== 'boolean') throw new UsageError(`index option deterministic must be a boolean, got ${JSON.stringify(value)}`);
      out.deterministic = value;
    } else if (key in INT_LIMITS) {
      const [min, max] = INT_LIMITS[key as IntKey];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new UsageError(`index option ${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
      }
      out[key as IntKey] = value;
    } else {
      throw new UsageError(`unknown index option ${JSON.stringify(key)}`, {
        hint: `known options: kind, ${Object.keys(INT_LIMITS).join(', ')}, deterministic`,
      });
    }
  }
  return out;
}

/** Bytes a Flat index of n vectors of dim floats holds in memory. */
export function flatBytes(n: number, dim: number): number {
  return n * dim * 4;
}

/**
 * `auto`, decided once per snapshot from its size (so every shard of a build agrees): exact Flat while
 * the snapshot's Flat vectors fit in flatBudgetMiB (1 GiB by default: ~1M passages at 256-d, ~700k at
 * 384-d), IVF-PQ with exact re-rank above. Like autofaiss, the choice is driven by memory, not by a
 * corpus-size rule of thumb. Other kinds pass through.
 */
export function resolveAutoKind(opts: IndexOptions, snapshotPassages: number, dim: number): { kind: Exclude<RequestedIndexKind, 'auto'>; reason?: string } {
  if (opts.kind !== 'auto') return { kind: opts.kind };
  const bytes = flatBytes(snapshotPassages, dim);
  const budget = opts.flatBudgetMiB * 2 ** 20;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  return bytes > budget
    ? { kind: 'ivfpq', reason: `Flat vectors of ${snapshotPassages} passages x ${dim}-d would take ${mib(bytes)} > budget ${mib(budget)}` }
    : { kind: 'flat', reason: `Flat vectors of ${snapshotPassages} passages x ${dim}-d take ${mib(bytes)} <= budget ${mib(budget)}` };
}
