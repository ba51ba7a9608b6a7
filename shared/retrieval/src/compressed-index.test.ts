// Compressed shards (IVF-PQ) with exact re-rank: same answers as exact Flat search on the same
// vectors (recall@10 vs Flat), exact scores, and `auto` choosing by the snapshot's Flat memory.
// Real FAISS, the static encoder, a local store, the pipeline's own stages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import type { SnapshotManifest } from '@rag/snapshot';
import { PAYLOAD_VERSION, runEncode, runIndex, runIngest, runPublish, type BuildRequest } from '@rag/pipeline';
import { SnapshotRetriever } from './snapshot-retriever.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let encoder: Encoder;
let path: string;
const N = 8_000;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-pq-'));
  encoder = await loadEncoder({ dir: STATIC });
  // Whole-word tokens of the encoder's own vocabulary: passages whose vectors spread like text's.
  const vocab = Object.keys((JSON.parse(readFileSync(join(STATIC, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab)
    .filter((w) => /^[a-z]{4,}$/.test(w));
  let x = 11;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  path = join(dir, 'corpus.jsonl');
  // Each document draws from a topic of 40 words, so neighbours exist (as in real text).
  const lines = Array.from({ length: N }, (_, d) => {
    const topic = (d % 200) * 40;
    const words = Array.from({ length: 30 }, () => vocab[(topic + (next() % 40)) % vocab.length]);
    return JSON.stringify({ id: `d${d}`, title: `Doc ${d}`, text: words.join(' ') });
  });
  writeFileSync(path, lines.join('\n') + '\n');
});
after(async () => {
  await encoder.release();
  rmSync(dir, { recursive: true, force: true });
});

async function build(store: LocalObjectStore, id: string, shardSize: number, index: BuildRequest['index']): Promise<SnapshotManifest> {
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: id, source: { path, format: 'jsonl' }, shardSize, wordsPerPassage: 30, index, encoderDir: STATIC, requestedAt: new Date().toISOString() };
  const ingest = await runIngest(req, { store, logger });
  for (const s of ingest.shards) {
    const job = { v: PAYLOAD_VERSION, snapshotId: id, shard: s.shard, encoderDir: STATIC, index } as const;
    await runEncode(job, { store, encoder, logger });
    await runIndex(job, { store, logger });
  }
  return runPublish(req, { store, logger });
}

// 6-bit codes (64 centroids per sub-quantizer) train on shards of 4,000; the default 8-bit codes need 9,984.
const PQ = { pqBits: 6 };

test('ivfpq shards with exact re-rank return the exact top-10 of Flat (recall@10 >= 0.95) with exact scores', async () => {
  const store = new LocalObjectStore(join(dir, 'store'));
  const pq = await build(store, 'pq', 4_000, { kind: 'ivfpq', params: PQ });
  const flat = await build(store, 'flat', 4_000, { kind: 'flat', params: {} });
  assert.deepEqual(pq.shards.map((s) => s.index!.kind), ['ivfpq', 'ivfpq']);
  const p = pq.shards[0]!.index!.params;
  assert.equal(p.pqM, 64, '256-d vectors: 64 sub-quantizers');
  assert.equal(p.pqBits, 6);
  assert.equal(p.rerank, 32);
  assert.equal(p.nlist, 63, 'about sqrt(4000) lists');
  assert.ok(pq.shards[0]!.bytes < flat.shards[0]!.bytes / 8, `compressed index ${pq.shards[0]!.bytes} B vs Flat ${flat.shards[0]!.bytes} B`);

  const a = await SnapshotRetriever.load(store, 'pq');
  const b = await SnapshotRetriever.load(store, 'flat');
  const queries: string[] = [];
  for await (const x of SnapshotRetriever.readPassages(store, flat)) if (queries.length < 200 && Number(x.id.slice(1).split('-')[0]) % 40 === 0) queries.push(x.text.split(' ').slice(0, 8).join(' '));
  assert.equal(queries.length, 200);
  const want = await b.search(encoder, queries, 10);
  const recallOf = (got: typeof want) => {
    let hits = 0;
    for (let q = 0; q < queries.length; q++) {
      const exact = new Map(want[q]!.map((h) => [h.id, h.score]));
      for (const h of got[q]!) {
        const s = exact.get(h.id);
        if (s === undefined) continue;
        hits++;
        assert.ok(Math.abs(s - h.score) < 1e-4, `re-ranked score ${h.score} is the exact ${s}`);
      }
    }
    return hits / (queries.length * 10);
  };
  const recall = recallOf(await a.search(encoder, queries, 10));
  assert.ok(recall >= 0.95, `recall@10 vs Flat ${recall}`);

  // The same shards served with rerank=1 (the k PQ candidates, re-scored): the re-rank depth is what holds recall.
  const m1 = { ...pq, id: 'pq1', shards: pq.shards.map((s) => ({ ...s, index: { kind: s.index!.kind, params: { ...s.index!.params, rerank: 1 } } })) };
  await store.put('snapshots/pq1/manifest.json', JSON.stringify(m1));
  const recall1 = recallOf(await (await SnapshotRetriever.load(store, 'pq1')).search(encoder, queries, 10));
  assert.ok(recall1 < recall, `rerank=1 recall ${recall1} < rerank=32 recall ${recall}`);
});

test('auto builds Flat under the memory budget and IVF-PQ above it, the same for every shard; a small shard falls back to Flat', async () => {
  const store = new LocalObjectStore(join(dir, 'auto'));
  const small = await build(store, 'auto-flat', 4_000, { kind: 'auto', params: PQ });
  assert.equal(small.index.kind, 'auto');
  assert.ok(small.shards.every((s) => s.index!.kind === 'flat' && s.index!.params.requestedKind === 'auto'));
  assert.match(String(small.shards[0]!.index!.params.autoReason), /<= budget 1024 MiB/);
  // 8,000 x 256-d x 4 B = 7.8 MiB > a 4 MiB budget. Shards of 7,000 + 1,000: the 1,000 are too few to train PQ.
  const big = await build(store, 'auto-pq', 7_000, { kind: 'auto', params: { ...PQ, flatBudgetMiB: 4 } });
  assert.deepEqual(big.shards.map((s) => s.index!.kind), ['ivfpq', 'flat']);
  assert.match(String(big.shards[1]!.index!.params.fallbackReason), /ivfpq needs at least 2496 vectors/);
  const r = await SnapshotRetriever.load(store, 'auto-pq');
  const texts: string[] = [];
  for await (const x of SnapshotRetriever.readPassages(store, big)) if (x.id === 'd7500-0' || x.id === 'd100-0') texts.push(x.text);
  // Top 10 (80 PQ candidates): a topic's 35 documents in a shard are near-duplicates, whose PQ codes tie.
  const hits = await r.search(encoder, texts, 10);
  assert.deepEqual(hits.map((h) => h[0]!.id).sort(), ['d100-0', 'd7500-0'], 'a mixed snapshot (IVF-PQ and Flat shards) finds a passage from its own text in either kind');
});
