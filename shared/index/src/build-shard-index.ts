import { RagError, type Logger } from '@rag/core';
import { checkFinite, checkShape } from './check-vectors.js';
import { loadFaissNative, METRIC_INNER_PRODUCT, type NativeIndex } from './faiss-native.js';
import { resolveIndexOptions, type IndexKind } from './index-options.js';
import { planIndex } from './plan-index.js';

export interface BuiltShardIndex {
  /** Serialized FAISS index (faiss::write_index format). */
  bytes: Buffer;
  /** The kind actually built (may be 'flat' where IVF had too few vectors). */
  kind: IndexKind;
  /** Effective parameters (see IndexPlan.params). */
  params: Record<string, number | string>;
  vectors: number;
  fallbackReason?: string;
}

export interface BuildShardIndexContext {
  logger?: Logger;
}

/**
 * Builds one shard's inner-product index over `vectors` ([n, dim] row-major) and serializes it.
 * Labels are row numbers 0..n-1, i.e. passage positions within the shard.
 *
 * Reproducibility (same vectors, same library build): Flat is byte-identical by construction;
 * HNSW is byte-identical because insertion runs on one thread when opts.deterministic (default;
 * its level draws use FAISS's fixed seed); IVF k-means uses FAISS's fixed seed (1234) and
 * thread-count-independent assignment, and was observed byte-identical across runs and thread
 * counts (see build-shard-index.test.ts), though BLAS rounding could in principle differ across CPUs.
 */
export function buildShardIndex(
  vectors: Float32Array,
  dim: number,
  options: Readonly<Record<string, unknown>> = {},
  ctx: BuildShardIndexContext = {},
): BuiltShardIndex {
  const opts = resolveIndexOptions(options);
  const n = checkShape(vectors, dim, 'shard vectors');
  checkFinite(vectors, dim, 'shard vectors');
  const plan = planIndex(n, opts);
  if (plan.fallbackReason) ctx.logger?.warn({ event: 'index.fallback', requested: opts.kind, built: plan.kind, reason: plan.fallbackReason }, 'index kind fallback');

  const native = loadFaissNative();
  let index: NativeIndex | undefined;
  const threadsBefore = native.Index.ragGetThreads();
  try {
    index = native.Index.fromFactory(dim, plan.factory, METRIC_INNER_PRODUCT);
    if (plan.kind === 'hnsw') {
      index.ragSetParam('efConstruction', opts.efConstruction);
      index.ragSetParam('efSearch', opts.efSearch);
      if (opts.deterministic) native.Index.ragSetThreads(1);
    }
    if (plan.kind === 'ivf') {
      index.ragTrain(vectors);
      index.ragSetParam('nprobe', plan.params.nprobe as number);
    }
    index.ragAdd(vectors);
    const bytes = index.ragToBuffer();
    return { bytes, kind: plan.kind, params: plan.params, vectors: n, ...(plan.fallbackReason ? { fallbackReason: plan.fallbackReason } : {}) };
  } catch (err) {
    if (err instanceof RagError) throw err;
    throw new RagError('FAISS_BUILD', `building a ${plan.factory} index over ${n} ${dim}-d vectors failed: ${(err as Error).message}`, {
      cause: err,
      hint: 'check free memory and the index options',
    });
  } finally {
    native.Index.ragSetThreads(threadsBefore);
    index?.ragRelease();
  }
}
