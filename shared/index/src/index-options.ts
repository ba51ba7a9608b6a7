import { UsageError } from '@rag/core';

/** Per-shard FAISS index families. All use inner product: the encoder L2-normalises vectors. */
export type IndexKind = 'flat' | 'hnsw' | 'ivf';

export const INDEX_KINDS: readonly IndexKind[] = ['flat', 'hnsw', 'ivf'];

export interface IndexOptions {
  kind: IndexKind;
  /** HNSW: neighbours per node (M). */
  hnswM: number;
  /** HNSW: candidate list size while building. */
  efConstruction: number;
  /** HNSW: candidate list size while searching (settable again after load). */
  efSearch: number;
  /** IVF: number of lists; undefined = about 4·sqrt(n), see planIndex. */
  nlist?: number;
  /** IVF: lists visited per query (settable again after load). */
  nprobe: number;
  /**
   * Build single-threaded where FAISS would otherwise depend on thread timing (HNSW insertion),
   * so that the same vectors give byte-identical index files.
   */
  deterministic: boolean;
}

export const DEFAULT_INDEX_OPTIONS: Readonly<IndexOptions> = {
  kind: 'flat',
  hnswM: 32,
  efConstruction: 80,
  efSearch: 64,
  nprobe: 16,
  deterministic: true,
};

const INT_LIMITS: Record<'hnswM' | 'efConstruction' | 'efSearch' | 'nlist' | 'nprobe', [number, number]> = {
  hnswM: [2, 512],
  efConstruction: [1, 1 << 16],
  efSearch: [1, 1 << 16],
  nlist: [1, 1 << 24],
  nprobe: [1, 1 << 24],
};

/**
 * Validates index options given as loose data (CLI flags, job payloads, manifests) and fills
 * defaults. Unknown keys are refused so that a typo does not silently fall back to a default.
 */
export function resolveIndexOptions(input: Readonly<Record<string, unknown>> = {}): IndexOptions {
  const out: IndexOptions = { ...DEFAULT_INDEX_OPTIONS };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (key === 'kind') {
      if (!INDEX_KINDS.includes(value as IndexKind)) {
        throw new UsageError(`unknown index kind ${JSON.stringify(value)}`, { hint: `use one of ${INDEX_KINDS.join(', ')}` });
      }
      out.kind = value as IndexKind;
    } else if (key === 'deterministic') {
      if (typeof value !== 'boolean') throw new UsageError(`index option deterministic must be a boolean, got ${JSON.stringify(value)}`);
      out.deterministic = value;
    } else if (key in INT_LIMITS) {
      const [min, max] = INT_LIMITS[key as keyof typeof INT_LIMITS];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new UsageError(`index option ${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
      }
      out[key as keyof typeof INT_LIMITS] = value;
    } else {
      throw new UsageError(`unknown index option ${JSON.stringify(key)}`, {
        hint: `known options: kind, ${Object.keys(INT_LIMITS).join(', ')}, deterministic`,
      });
    }
  }
  return out;
}
