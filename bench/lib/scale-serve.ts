// One serving process for bench/scale.ts: RSS before and after loading the snapshot, query latency
// (one question at a time, k=10). Prints one JSON object.
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadEncoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotRetriever } from '@rag/retrieval';

const { values: o } = parseArgs({ options: { storage: { type: 'string' }, snapshot: { type: 'string' }, encoder: { type: 'string' }, corpus: { type: 'string' }, queries: { type: 'string', default: '1000' } } });
const rss = () => {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
};
const gc = (globalThis as { gc?: () => void }).gc;

// Queries: the first 12 words of passages spread over the corpus, streamed (it can exceed a JS string).
const nq = Number(o.queries);
const total = (JSON.parse(readFileSync(join(dirname(o.corpus!), 'corpus.json'), 'utf8')) as { passages: number }).passages;
const wanted = new Map<number, number>();
for (let i = 0; i < nq; i++) wanted.set(1 + Math.floor(((i + 0.5) * total) / nq), i);
const queries: string[] = new Array(nq);
let lineNo = 0;
for await (const line of createInterface({ input: createReadStream(o.corpus!) })) {
  const q = wanted.get(lineNo++);
  if (q !== undefined) queries[q] = line.split('\t')[1]!.split(' ').slice(0, 12).join(' ');
}

const store = new LocalObjectStore(o.storage!);
const encoder = await loadEncoder({ dir: o.encoder! });
const vecs = await encoder.encodeQueries(queries);
gc?.();
const before = rss();
const t0 = Date.now();
const retriever = await SnapshotRetriever.load(store, o.snapshot!);
const loadMs = Date.now() - t0;
gc?.();
const afterLoad = rss();
const passages = retriever.manifest.passages;

const lat: number[] = [];
for (let q = 0; q < nq; q++) {
  const t = performance.now();
  const hits = await retriever.searchVectors(vecs.subarray(q * encoder.dim, (q + 1) * encoder.dim), 1, 10);
  lat.push(performance.now() - t);
  if (hits[0]!.length !== 10) throw new Error(`query ${q}: ${hits[0]!.length} hits`);
}
const peak = rss();
lat.sort((a, b) => a - b);
const pct = (p: number) => +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);

// Every shard Flat: the served top-10 is the exact top-10 by construction. Compressed indexes
// (not built yet) will be compared here against an exact scan of the stored embeddings.
const allFlat = retriever.manifest.shards.every((s) => (s.index?.kind ?? retriever.manifest.index.kind) === 'flat');

process.stdout.write(JSON.stringify({
  queries: nq,
  loadMs,
  rssBeforeLoadMiB: +(before / 2 ** 20).toFixed(1),
  rssAfterLoadMiB: +(afterLoad / 2 ** 20).toFixed(1),
  rssPeakMiB: +(peak / 2 ** 20).toFixed(1),
  bytesPerPassageInMemory: +((afterLoad - before) / passages).toFixed(1),
  latencyMs: { p50: pct(0.5), p99: pct(0.99), mean: +(lat.reduce((a, b) => a + b, 0) / lat.length).toFixed(2) },
  recallAt10VsExact: allFlat ? 1 : null,
  recallNote: allFlat ? 'every shard is Flat: exact by construction' : 'not measured for compressed indexes yet',
}) + '\n');
await encoder.release();
