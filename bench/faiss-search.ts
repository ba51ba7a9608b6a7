/**
 * FAISS shard search bench: builds Flat-IP, HNSW and IVF indexes over seeded random unit vectors
 * and times batched top-k search; recall@k is measured against the exact Flat results.
 * Prints one JSON object to stdout.
 *   node --import tsx bench/faiss-search.ts [--n 20000] [--dim 384] [--nq 200] [--k 10] [--threads N]
 *     [--data clustered|uniform] [--fast-hnsw]
 * clustered (default): unit vectors around 200 random centres (cosine to centre ~0.7), closer to
 * sentence embeddings than uniform data, on which every ANN index looks bad in 384-d.
 * --fast-hnsw: multi-threaded HNSW insertion (not byte-reproducible; the pipeline default is not).
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { buildShardIndex, getFaissBlasThreads, getFaissThreads, randomUnitVectors, setFaissThreads, ShardIndex, type ShardSearchResult } from '@rag/index';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    dim: { type: 'string', default: '384' },
    nq: { type: 'string', default: '200' },
    k: { type: 'string', default: '10' },
    threads: { type: 'string' },
    data: { type: 'string', default: 'clustered' },
    'fast-hnsw': { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const dim = Number(values.dim);
const nq = Number(values.nq);
const k = Number(values.k);
if (values.threads) setFaissThreads(Number(values.threads));

/** normalize(centre + noise), centres and noise directions both seeded unit vectors. */
function clustered(count: number, seed: number): Float32Array {
  const centres = randomUnitVectors(200, dim, 1000);
  const noise = randomUnitVectors(count, dim, seed);
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const c = (Math.imul(r + seed, 2654435761) >>> 0) % 200;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = centres[c * dim + j]! + noise[r * dim + j]!;
      out[r * dim + j] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[r * dim + j]! *= inv;
  }
  return out;
}

const uniform = values.data === 'uniform';
const base = uniform ? randomUnitVectors(n, dim, 1) : clustered(n, 1);
const queries = uniform ? randomUnitVectors(nq, dim, 2) : clustered(nq, 2);

function timed<T>(fn: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const out = fn();
  return [out, Number(process.hrtime.bigint() - t) / 1e6];
}

function recall(r: ShardSearchResult, exact: ShardSearchResult): number {
  let hits = 0;
  for (let q = 0; q < nq; q++) {
    const truth = new Set(exact.labels.subarray(q * k, (q + 1) * k));
    for (const l of r.labels.subarray(q * k, (q + 1) * k)) if (truth.has(l)) hits++;
  }
  return hits / (nq * k);
}

/** Best of 3 runs of the whole query batch (the first run also warms caches). */
function searchBench(index: ShardIndex, exact?: ShardSearchResult) {
  let best = Infinity;
  let result!: ShardSearchResult;
  for (let i = 0; i < 3; i++) {
    const [r, ms] = timed(() => index.search(queries, nq, k));
    result = r;
    best = Math.min(best, ms);
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { params: index.getSearchParams(), batchMs: round(best), msPerQuery: round(best / nq), qps: Math.round((nq / best) * 1000), recallAtK: exact ? recall(result, exact) : 1, result };
}

const runs: Record<string, unknown>[] = [];
const [flatBuilt, flatBuildMs] = timed(() => buildShardIndex(base, dim, { kind: 'flat' }));
const flat = ShardIndex.fromBuffer(flatBuilt.bytes);
const flatRun = searchBench(flat);
const exact = flatRun.result;
runs.push({ kind: 'flat', buildMs: Math.round(flatBuildMs), bytes: flatBuilt.bytes.length, ...flatRun, result: undefined });

const [hnswBuilt, hnswBuildMs] = timed(() => buildShardIndex(base, dim, { kind: 'hnsw', deterministic: !values['fast-hnsw'] }));
const hnsw = ShardIndex.fromBuffer(hnswBuilt.bytes);
for (const efSearch of [32, 64, 128]) {
  hnsw.setSearchParams({ efSearch });
  runs.push({ kind: 'hnsw', buildMs: Math.round(hnswBuildMs), buildParams: hnswBuilt.params, bytes: hnswBuilt.bytes.length, ...searchBench(hnsw, exact), result: undefined });
}

const [ivfBuilt, ivfBuildMs] = timed(() => buildShardIndex(base, dim, { kind: 'ivf' }));
const ivf = ShardIndex.fromBuffer(ivfBuilt.bytes);
for (const nprobe of [16, 64]) {
  ivf.setSearchParams({ nprobe });
  runs.push({ kind: 'ivf', buildMs: Math.round(ivfBuildMs), buildParams: ivfBuilt.params, bytes: ivfBuilt.bytes.length, ...searchBench(ivf, exact), result: undefined });
}

process.stdout.write(
  JSON.stringify(
    {
      bench: 'faiss-search',
      data: { n, dim, nq, k, vectors: uniform ? 'seeded uniform random unit vectors (worst case for ANN)' : 'seeded unit vectors around 200 random centres' },
      faissThreads: getFaissThreads(),
      blasThreads: getFaissBlasThreads(),
      cpus: cpus().length,
      note: `hnsw built ${values['fast-hnsw'] ? 'multi-threaded' : 'single-threaded (byte-reproducible)'}; search times are best of 3 batch runs`,
      runs,
    },
    null,
    2,
  ) + '\n',
);
