// One serving process for bench/scale.ts: RSS before and after loading the snapshot, query latency
// (one question at a time, k=10). Prints one JSON object.
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadEncoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotRetriever } from '@rag/retrieval';
import { ShardIndex, buildShardIndex, mergeTopK, type MergedHit } from '@rag/index';

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
const served: string[][] = [];
for (let q = 0; q < nq; q++) {
  const t = performance.now();
  const hits = await retriever.searchVectors(vecs.subarray(q * encoder.dim, (q + 1) * encoder.dim), 1, 10);
  lat.push(performance.now() - t);
  if (hits[0]!.length !== 10) throw new Error(`query ${q}: ${hits[0]!.length} hits`);
  served.push(hits[0]!.map((h) => h.id));
}
const peak = rss();
lat.sort((a, b) => a - b);
const pct = (p: number) => +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);

// Recall@10 of what was served against exact search on the same stored vectors: every shard's
// embeddings scanned exactly (a throwaway Flat index, one shard at a time), merged, ids compared.
const kinds: Record<string, number> = {};
for (const s of retriever.manifest.shards) kinds[s.index?.kind ?? retriever.manifest.index.kind] = (kinds[s.index?.kind ?? retriever.manifest.index.kind] ?? 0) + 1;
const allFlat = Object.keys(kinds).every((k) => k === 'flat');
let recall: number | null = allFlat ? 1 : null;
if (!allFlat) {
  const t = Date.now();
  const best: MergedHit[][] = Array.from({ length: nq }, () => []);
  for (const s of retriever.manifest.shards) {
    const raw = await store.get(s.embeddingsKey);
    const v = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const flat = ShardIndex.fromBuffer(buildShardIndex(v, encoder.dim, { kind: 'flat' }).bytes);
    const r = flat.search(vecs, nq, 10);
    flat.release();
    for (let q = 0; q < nq; q++) {
      best[q] = mergeTopK([{ shard: -1, scores: best[q]!.map((h) => h.score), labels: best[q]!.map((h) => h.label) }, { shard: s.shard, scores: r.scores.subarray(q * 10, q * 10 + 10), labels: Int32Array.from(r.labels.subarray(q * 10, q * 10 + 10), (l) => l + s.shard * 2 ** 20) }], 10)
        .map((h) => ({ ...h, shard: -1 }));
    }
  }
  // Labels were made global (shard·2^20 + row); map them to passage ids through the served hits' ids.
  let hit = 0;
  for (let q = 0; q < nq; q++) {
    const ids = await idsOf(best[q]!.map((h) => h.label));
    const got = new Set(served[q]!);
    hit += ids.filter((id) => got.has(id)).length;
  }
  recall = hit / (nq * 10);
  process.stderr.write(`[serve] exact recall computed in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}

/** Passage ids of global labels, read from the shards' passages objects by offset. */
async function idsOf(labels: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const g of labels) {
    const s = retriever.manifest.shards[Math.floor(g / 2 ** 20)]!;
    const row = g % 2 ** 20;
    const off = await store.getRange(s.offsets!.key, row * 4, row * 4 + 8);
    const line = await store.getRange(s.passagesKey, off.readUInt32LE(0), off.readUInt32LE(4));
    out.push((JSON.parse(line.toString('utf8')) as { id: string }).id);
  }
  return out;
}

process.stdout.write(JSON.stringify({
  queries: nq,
  loadMs,
  rssBeforeLoadMiB: +(before / 2 ** 20).toFixed(1),
  rssAfterLoadMiB: +(afterLoad / 2 ** 20).toFixed(1),
  rssPeakMiB: +(peak / 2 ** 20).toFixed(1),
  bytesPerPassageInMemory: +((afterLoad - before) / passages).toFixed(1),
  latencyMs: { p50: pct(0.5), p99: pct(0.99), mean: +(lat.reduce((a, b) => a + b, 0) / lat.length).toFixed(2) },
  shardKinds: kinds,
  recallAt10VsExact: recall,
  recallNote: allFlat ? 'every shard is Flat: exact by construction' : 'served top-10 vs an exact scan of the stored embeddings of every shard',
}) + '\n');
await encoder.release();
