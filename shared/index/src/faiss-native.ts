import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeModuleError } from '@rag/core';

/**
 * The FAISS addon built by infra/faiss/build.sh: faiss-node's classes plus our `rag*` methods
 * (infra/faiss/src/rag-methods.inc). Only the methods this library uses are typed.
 */
export interface NativeIndex {
  ntotal(): number;
  getDimension(): number;
  isTrained(): boolean;
  ragAdd(vectors: Float32Array): void;
  ragTrain(vectors: Float32Array): void;
  /** Runs on a libuv pool thread; the index refuses other calls and `vectors` must stay unchanged until it settles. */
  ragTrainAddAsync(vectors: Float32Array, train: boolean, add: boolean, threads: number): Promise<void>;
  ragSearch(queries: Float32Array, k: number): { distances: Float32Array; labels: Int32Array };
  ragToBuffer(): Buffer;
  ragSetParam(name: string, value: number): void;
  ragGetParam(name: string): number | undefined;
  ragDescribe(): { family: 'flat' | 'hnsw' | 'ivf' | 'other'; metric: 'ip' | 'l2' | 'other'; d: number; ntotal: number; isTrained: boolean };
  ragRelease(): void;
  /** IVF only: the inverted lists (codes and ids) without the quantizer. */
  ragIvfListsToBuffer(): Buffer;
  /** IVF only: appends serialized lists of the same quantizer, ids + addId; returns the entries added. */
  ragIvfAddLists(lists: Buffer, addId: number): number;
  /** IVF only: releases the spare capacity of every list's arrays. */
  ragIvfCompact(): void;
  /** IVF only: top-k with `nprobe` lists per query, skipping ids whose bit is set in `excluded`. */
  ragSearchIvf(queries: Float32Array, k: number, nprobe: number, excluded?: Uint8Array): { distances: Float32Array; labels: Int32Array };
}

export interface NativeIndexClass {
  fromFactory(dim: number, description: string, metric: number): NativeIndex;
  ragFromBuffer(bytes: Buffer): NativeIndex;
  ragSetThreads(n: number): void;
  ragGetThreads(): number;
  ragGetBlasThreads(): number;
}

export interface FaissNative {
  Index: NativeIndexClass;
}

/** faiss::MetricType value for inner product. */
export const METRIC_INNER_PRODUCT = 0;

const BUILD_HINT = 'run `npm run build:faiss` (needs: apt-get install libfaiss-dev libopenblas-dev)';

let explicitPath: string | undefined;
let loaded: FaissNative | undefined;

/** Uses this addon file instead of the default locations (call before the first index is made). */
export function setFaissAddonPath(path: string): void {
  explicitPath = path;
  loaded = undefined;
}

function candidatePaths(): string[] {
  if (explicitPath) return [explicitPath];
  const here = dirname(fileURLToPath(import.meta.url));
  const paths = [join(here, '../../../infra/faiss/build/Release/faiss-node.node')];
  try {
    const pkg = createRequire(import.meta.url).resolve('faiss-node/package.json');
    paths.push(join(dirname(pkg), 'build/Release/faiss-node.node'));
  } catch {
    // faiss-node not installed: only our own build location is left.
  }
  return paths;
}

/** Loads the addon once per process; throws NativeModuleError with what to run when it is missing. */
export function loadFaissNative(): FaissNative {
  if (loaded) return loaded;
  const paths = candidatePaths();
  const path = paths.find((p) => existsSync(p));
  if (!path) {
    throw new NativeModuleError(`the FAISS addon is not built (looked in ${paths.join(', ')})`, { hint: BUILD_HINT });
  }
  let mod: Partial<FaissNative>;
  try {
    mod = createRequire(import.meta.url)(path) as Partial<FaissNative>;
  } catch (err) {
    throw new NativeModuleError(`the FAISS addon at ${path} does not load: ${(err as Error).message}`, { cause: err, hint: BUILD_HINT });
  }
  if (typeof mod.Index?.ragFromBuffer !== 'function') {
    throw new NativeModuleError(`the FAISS addon at ${path} lacks our extension methods (a stock faiss-node build?)`, {
      hint: `FAISS_FORCE_REBUILD=1 ${BUILD_HINT}`,
    });
  }
  loaded = mod as FaissNative;
  return loaded;
}

/**
 * Threads FAISS uses in this process (global): sizes both the OpenMP pool and OpenBLAS's own pool.
 * Two default-sized pools on the same busy cores can thrash (we saw a 5k-vector flat search go
 * from <1 ms to 135 ms under load), so processes that also run other CPU work (ONNX, other
 * workers) should call this, e.g. with 1, and parallelise across shards instead.
 */
export function setFaissThreads(n: number): void {
  loadFaissNative().Index.ragSetThreads(n);
}

export function getFaissThreads(): number {
  return loadFaissNative().Index.ragGetThreads();
}

export function getFaissBlasThreads(): number {
  return loadFaissNative().Index.ragGetBlasThreads();
}
