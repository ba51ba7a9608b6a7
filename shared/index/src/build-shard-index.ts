import { RagError, type Logger } from '@rag/core';
import { checkFinite, checkShape } from './check-vectors.js';
import { loadFaissNative, METRIC_INNER_PRODUCT, type FaissNative, type NativeIndex } from './faiss-native.js';
import { resolveIndexOptions, type IndexKind, type IndexOptions } from './index-options.js';
import { planIndex, type IndexPlan } from './plan-index.js';

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

/*
 * Labels are row numbers 0..n-1, i.e. passage positions within the shard.
 *
 * Reproducibility (same vectors, same library build): Flat is byte-identical by construction;
 * HNSW is byte-identical because insertion runs on one thread when opts.deterministic (default;
 * level draws use FAISS's fixed seed; multi-threaded insertion was observed to differ run to
 * run); IVF k-means uses FAISS's fixed seed (1234) and thread-count-independent assignment and
 * was observed byte-identical across runs and thread counts (build-shard-index.test.ts), though
 * BLAS rounding could in principle differ across CPU types.
 */

interface Prepared {
  opts: IndexOptions;
  plan: IndexPlan;
  n: number;
  native: FaissNative;
}

function prepare(vectors: Float32Array, dim: number, options: Readonly<Record<string, unknown>>, ctx: BuildShardIndexContext): Prepared {
  const opts = resolveIndexOptions(options);
  const n = checkShape(vectors, dim, 'shard vectors');
  checkFinite(vectors, dim, 'shard vectors');
  const plan = planIndex(n, opts, dim);
  if (plan.fallbackReason) ctx.logger?.warn({ event: 'index.fallback', requested: opts.kind, built: plan.kind, reason: plan.fallbackReason }, 'index kind fallback');
  return { opts, plan, n, native: loadFaissNative() };
}

/** Rows at an even stride, at most `max` of them (deterministic); all of `vectors` when it is no larger. */
export function trainingSample(vectors: Float32Array, dim: number, max: number | undefined): Float32Array {
  const n = vectors.length / dim;
  if (max === undefined || n <= max) return vectors;
  const out = new Float32Array(max * dim);
  for (let i = 0; i < max; i++) {
    const row = Math.floor((i * n) / max);
    out.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return out;
}

function needsTraining(kind: IndexKind): boolean {
  return kind === 'ivf' || kind === 'ivfpq';
}

function create(p: Prepared, dim: number): NativeIndex {
  const index = p.native.Index.fromFactory(dim, p.plan.factory, METRIC_INNER_PRODUCT);
  if (p.plan.kind === 'hnsw') {
    index.ragSetParam('efConstruction', p.opts.efConstruction);
    index.ragSetParam('efSearch', p.opts.efSearch);
  }
  return index;
}

function finish(p: Prepared, index: NativeIndex): BuiltShardIndex {
  if (p.plan.kind === 'ivf' || p.plan.kind === 'ivfpq') index.ragSetParam('nprobe', p.plan.params.nprobe as number);
  const bytes = index.ragToBuffer();
  return { bytes, kind: p.plan.kind, params: p.plan.params, vectors: p.n, ...(p.plan.fallbackReason ? { fallbackReason: p.plan.fallbackReason } : {}) };
}

function wrapFailure(err: unknown, p: Prepared, dim: number): RagError {
  if (err instanceof RagError) return err;
  return new RagError('FAISS_BUILD', `building a ${p.plan.factory} index over ${p.n} ${dim}-d vectors failed: ${(err as Error).message}`, {
    cause: err,
    hint: 'check free memory and the index options',
  });
}

/**
 * Builds one shard's inner-product index over `vectors` ([n, dim] row-major) and serializes it,
 * on the calling thread. Blocks the event loop for the whole build (HNSW over 20k x 384: minutes
 * on a small machine): queue workers should use buildShardIndexAsync.
 */
export function buildShardIndex(
  vectors: Float32Array,
  dim: number,
  options: Readonly<Record<string, unknown>> = {},
  ctx: BuildShardIndexContext = {},
): BuiltShardIndex {
  const p = prepare(vectors, dim, options, ctx);
  let index: NativeIndex | undefined;
  const threadsBefore = p.native.Index.ragGetThreads();
  const singleThread = p.plan.kind === 'hnsw' && p.opts.deterministic;
  try {
    index = create(p, dim);
    if (singleThread) p.native.Index.ragSetThreads(1);
    if (needsTraining(p.plan.kind)) index.ragTrain(trainingSample(vectors, dim, p.plan.trainMax));
    index.ragAdd(vectors);
    return finish(p, index);
  } catch (err) {
    throw wrapFailure(err, p, dim);
  } finally {
    if (singleThread) p.native.Index.ragSetThreads(threadsBefore);
    index?.ragRelease();
  }
}

/**
 * Same result as buildShardIndex, with training and insertion on a libuv pool thread so the
 * event loop keeps running (timers, BullMQ lock renewal). Do not modify `vectors` until it settles.
 */
export async function buildShardIndexAsync(
  vectors: Float32Array,
  dim: number,
  options: Readonly<Record<string, unknown>> = {},
  ctx: BuildShardIndexContext = {},
): Promise<BuiltShardIndex> {
  const p = prepare(vectors, dim, options, ctx);
  let index: NativeIndex | undefined;
  try {
    index = create(p, dim);
    const threads = p.plan.kind === 'hnsw' && p.opts.deterministic ? 1 : p.native.Index.ragGetThreads();
    const sample = needsTraining(p.plan.kind) ? trainingSample(vectors, dim, p.plan.trainMax) : vectors;
    if (sample !== vectors) await index.ragTrainAddAsync(sample, true, false, threads);
    await index.ragTrainAddAsync(vectors, sample === vectors && needsTraining(p.plan.kind), true, threads);
    return finish(p, index);
  } catch (err) {
    throw wrapFailure(err, p, dim);
  } finally {
    index?.ragRelease();
  }
}
