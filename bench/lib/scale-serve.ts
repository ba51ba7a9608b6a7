// One serving process for bench/scale.ts and bench/retrieval.ts: RSS before and after loading the
// snapshot, query latency (one question at a time, k=10), throughput in batches, recall@10 against an
// exact scan of the stored vectors, and the object-store requests a question costs. Prints one JSON object.
//
//   node --import tsx --expose-gc bench/lib/scale-serve.ts --storage DIR --snapshot ID --encoder DIR
//        (--corpus corpus.tsv | --questions NQ-open.jsonl) [--queries 1000] [--threads 1] [--batch 64]
//        [--s3-endpoint URL --s3-bucket B --s3-prefix P [--cache DIR]] [--exact FILE]
//
// With --s3-*, the snapshot is read from an S3-API server (credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY) and, with --cache, through the local disk cache (filled while loading).
// --exact keeps the exact top-10 of the queries in a file, so layouts of the same vectors share it.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadEncoder } from '@rag/encoder';
import { CountingObjectStore, LocalObjectStore, ObjectCache, S3ObjectStore, type ObjectStore } from '@rag/storage';
import { SnapshotRetriever } from '@rag/retrieval';
import { ShardIndex, buildShardIndex, mergeTopK, setFaissThreads, type MergedHit } from '@rag/index';

const { values: o } = parseArgs({
  options: {
    storage: { type: 'string' }, snapshot: { type: 'string' }, encoder: { type: 'string' }, corpus: { type: 'string' }, questions: { type: 'string' },
    queries: { type: 'string', default: '1000' }, threads: { type: 'string', default: '1' }, batch: { type: 'string', default: '0' },
    's3-endpoint': { type: 'string' }, 's3-bucket': { type: 'string' }, 's3-prefix': { type: 'string', default: '' }, cache: { type: 'string' }, exact: { type: 'string' },
  },
});
const rss = () => {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
};
const gc = (globalThis as { gc?: () => void }).gc;
setFaissThreads(Number(o.threads));

const nq = Number(o.queries);
const queries: string[] = [];
if (o.questions) {
  // Real questions (NQ-open): the first nq.
  for await (const line of createInterface({ input: createReadStream(o.questions) })) {
    if (queries.length >= nq) break;
    if (line.trim()) queries.push((JSON.parse(line) as { question: string }).question);
  }
} else {
  // The first 12 words of passages spread over the corpus, streamed (it can exceed a JS string).
  const total = (JSON.parse(readFileSync(join(dirname(o.corpus!), 'corpus.json'), 'utf8')) as { passages: number }).passages;
  const wanted = new Map<number, number>();
  for (let i = 0; i < nq; i++) wanted.set(1 + Math.floor(((i + 0.5) * total) / nq), i);
  queries.length = nq;
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(o.corpus!) })) {
    const q = wanted.get(lineNo++);
    if (q !== undefined) queries[q] = line.split('\t')[1]!.split(' ').slice(0, 12).join(' ');
  }
}

const base: ObjectStore = o['s3-endpoint']
  ? new S3ObjectStore({
    bucket: o['s3-bucket']!, prefix: o['s3-prefix']!, endpoint: o['s3-endpoint'], region: 'us-east-1', multipartMb: 16,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
  })
  : new LocalObjectStore(o.storage!);
const store = new CountingObjectStore(base);
const cache = o.cache ? new ObjectCache(store, { dir: o.cache, maxBytes: 256 * 2 ** 30 }) : undefined;
const encoder = await loadEncoder({ dir: o.encoder! });
const vecs = await encoder.encodeQueries(queries);
const dim = encoder.dim;
gc?.();
const before = rss();
const t0 = Date.now();
const retriever = await SnapshotRetriever.load(store, o.snapshot!, cache ? { objectCache: cache } : {});
const loadMs = Date.now() - t0;
const loadRequests = store.reads;
gc?.();
const afterLoad = rss();
const passages = retriever.manifest.passages;

// The re-rank vectors and passages read in once, so every question finds them in the page cache, as on
// a serving machine that has run a while (the merged index itself is in process memory): what is
// measured is the steady state, not the disk. Local storage reads its own files, S3 the cache's copies.
const warmStarted = Date.now();
let warmedBytes = 0;
{
  const chunk = Buffer.allocUnsafe(8 << 20);
  for (const sh of retriever.manifest.shards) {
    for (const [key, sha] of [[sh.embeddingsKey, sh.embeddingsSha256], [sh.passagesKey, sh.passagesSha256]] as const) {
      const path = base.localPath?.(key) ?? (cache ? join(cache.dir, sha.slice(0, 2), sha) : undefined);
      if (!path || !existsSync(path)) continue;
      const fd = openSync(path, 'r');
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) warmedBytes += n;
      closeSync(fd);
    }
  }
}
const warmMs = Date.now() - warmStarted;

// One at a time, after one untimed pass over the first 50 (first-touch costs of pages and caches).
for (let q = 0; q < Math.min(50, nq); q++) await retriever.searchVectors(vecs.subarray(q * dim, (q + 1) * dim), 1, 10);
const warmRequests = store.reads;
const lat: number[] = [];
const served: string[][] = [];
for (let q = 0; q < nq; q++) {
  const t = performance.now();
  const hits = await retriever.searchVectors(vecs.subarray(q * dim, (q + 1) * dim), 1, 10);
  lat.push(performance.now() - t);
  if (hits[0]!.length !== 10) throw new Error(`query ${q}: ${hits[0]!.length} hits`);
  served.push(hits[0]!.map((h) => h.id));
}
const requestsPerQuery = (store.reads - warmRequests) / nq;
const peak = rss();
lat.sort((a, b) => a - b);
const pct = (p: number) => +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);

// Throughput: the same queries in batches (one searchVectors call each).
let batch: { size: number; queriesPerSecond: number; msPerQuery: number } | undefined;
const bs = Number(o.batch);
if (bs > 0) {
  const t = performance.now();
  for (let q = 0; q < nq; q += bs) {
    const n = Math.min(bs, nq - q);
    await retriever.searchVectors(vecs.subarray(q * dim, (q + n) * dim), n, 10);
  }
  const ms = performance.now() - t;
  batch = { size: bs, queriesPerSecond: +((nq * 1000) / ms).toFixed(1), msPerQuery: +(ms / nq).toFixed(3) };
}

// Recall@10 of what was served against exact search on the same stored vectors: every shard's
// embeddings scanned exactly (a throwaway Flat index, one shard at a time), merged, ids compared.
const kinds: Record<string, number> = {};
for (const s of retriever.manifest.shards) kinds[s.index?.kind ?? retriever.manifest.index.kind] = (kinds[s.index?.kind ?? retriever.manifest.index.kind] ?? 0) + 1;
const allFlat = Object.keys(kinds).every((k) => k === 'flat');
let recall: number | null = allFlat ? 1 : null;
if (!allFlat) {
  const key = createHash('sha256').update(retriever.manifest.shards.map((s) => s.embeddingsSha256).join()).update(Buffer.from(vecs.buffer, vecs.byteOffset, vecs.byteLength)).digest('hex');
  const saved = o.exact && existsSync(o.exact) ? (JSON.parse(readFileSync(o.exact, 'utf8')) as { key: string; ids: string[][] }) : undefined;
  let exactIds: string[][];
  if (saved?.key === key) exactIds = saved.ids;
  else {
    const t = Date.now();
    exactIds = await exactTop10();
    if (o.exact) writeFileSync(o.exact, JSON.stringify({ key, ids: exactIds }));
    process.stderr.write(`[serve] exact top-10 computed in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
  let hit = 0;
  for (let q = 0; q < nq; q++) {
    const got = new Set(served[q]!);
    hit += exactIds[q]!.filter((id) => got.has(id)).length;
  }
  recall = hit / (nq * 10);
}

/** Exact top-10 passage ids of every query, shard by shard (read from the local storage or the store). */
async function exactTop10(): Promise<string[][]> {
  const best: MergedHit[][] = Array.from({ length: nq }, () => []);
  for (const s of retriever.manifest.shards) {
    const raw = await base.get(s.embeddingsKey);
    const v = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const flat = ShardIndex.fromBuffer(buildShardIndex(v, dim, { kind: 'flat' }).bytes);
    const r = flat.search(vecs, nq, 10);
    flat.release();
    for (let q = 0; q < nq; q++) {
      best[q] = mergeTopK([{ shard: -1, scores: best[q]!.map((h) => h.score), labels: best[q]!.map((h) => h.label) }, { shard: s.shard, scores: r.scores.subarray(q * 10, q * 10 + 10), labels: Int32Array.from(r.labels.subarray(q * 10, q * 10 + 10), (l) => l + s.shard * 2 ** 20) }], 10)
        .map((h) => ({ ...h, shard: -1 }));
    }
  }
  const out: string[][] = [];
  for (let q = 0; q < nq; q++) out.push(await idsOf(best[q]!.map((h) => h.label)));
  return out;
}

/** Passage ids of global labels (shard·2^20 + row), read from the shards' passages objects by offset. */
async function idsOf(labels: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const g of labels) {
    const s = retriever.manifest.shards[Math.floor(g / 2 ** 20)]!;
    const row = g % 2 ** 20;
    const off = await base.getRange(s.offsets!.key, row * 4, row * 4 + 8);
    const line = await base.getRange(s.passagesKey, off.readUInt32LE(0), off.readUInt32LE(4));
    out.push((JSON.parse(line.toString('utf8')) as { id: string }).id);
  }
  return out;
}

process.stdout.write(JSON.stringify({
  queries: nq,
  questions: o.questions ? 'real questions (NQ-open dev)' : 'first 12 words of corpus passages',
  storage: o['s3-endpoint'] ? `S3 API${cache ? ' through the local disk cache' : ', range requests (no cache)'}` : 'local directory',
  faissThreads: Number(o.threads),
  loadMs,
  pageCacheWarm: { bytes: warmedBytes, ms: warmMs },
  rssBeforeLoadMiB: +(before / 2 ** 20).toFixed(1),
  rssAfterLoadMiB: +(afterLoad / 2 ** 20).toFixed(1),
  rssPeakMiB: +(peak / 2 ** 20).toFixed(1),
  bytesPerPassageInMemory: +((afterLoad - before) / passages).toFixed(1),
  latencyMs: { p50: pct(0.5), p99: pct(0.99), mean: +(lat.reduce((a, b) => a + b, 0) / lat.length).toFixed(2) },
  ...(batch ? { batch } : {}),
  objectStoreRequests: { load: loadRequests, perQuery: +requestsPerQuery.toFixed(2) },
  ...(cache ? { cache: cache.stats } : {}),
  shardKinds: kinds,
  ...(retriever.manifest.quantizer ? { quantizer: { nlist: retriever.manifest.quantizer.nlist, pqM: retriever.manifest.quantizer.pqM, nprobe: retriever.manifest.quantizer.nprobe, rerank: retriever.manifest.quantizer.rerank } } : {}),
  recallAt10VsExact: recall,
  recallNote: allFlat ? 'every shard is Flat: exact by construction' : 'served top-10 vs an exact scan of the stored embeddings of every shard',
}) + '\n');
await encoder.release();
await store.close();
