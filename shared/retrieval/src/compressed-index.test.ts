// Compressed snapshots (IVF-PQ) with exact re-rank: same answers as exact Flat search on the same
// vectors (recall@10 vs Flat), exact scores, for the snapshot-wide quantizer (one merged index) and
// the per-shard layout; `auto` choosing by the snapshot's Flat memory; deleted rows of an incremental
// snapshot never returned. Real FAISS, the static encoder, a local store, the pipeline's own stages.
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
import { PAYLOAD_VERSION, runBuildInProcess, type BuildRequest } from '@rag/pipeline';
import { SnapshotRetriever, type RetrievedPassage } from './snapshot-retriever.js';

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

async function build(store: LocalObjectStore, id: string, shardSize: number, index: BuildRequest['index'], extra: Partial<BuildRequest> = {}, source = path): Promise<SnapshotManifest> {
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: id, source: { path: source, format: 'jsonl' }, shardSize, wordsPerPassage: 30, index, encoderDir: STATIC, requestedAt: new Date().toISOString(), ...extra };
  return (await runBuildInProcess(req, { store, encoder, logger }))!;
}

// 6-bit codes (64 centroids per sub-quantizer) train on 39 x 64 = 2,496 vectors; the default 8-bit codes need 9,984.
const PQ = { pqBits: 6 };

/** `n` queries (200 or 1,000): the first 8 words of every (8000 / n)th document's passage. */
async function queriesOf(store: LocalObjectStore, m: SnapshotManifest, n = 200): Promise<string[]> {
  const queries: string[] = [];
  const every = N / n;
  for await (const x of SnapshotRetriever.readPassages(store, m)) if (queries.length < n && Number(x.id.slice(1).split('-')[0]) % every === 0) queries.push(x.text.split(' ').slice(0, 8).join(' '));
  assert.equal(queries.length, n);
  return queries;
}

/** recall@10 of `got` against `want` (exact top-10), checking every shared hit carries the exact score. */
function recallAgainst(want: RetrievedPassage[][], got: RetrievedPassage[][]): number {
  let hits = 0;
  for (let q = 0; q < want.length; q++) {
    const exact = new Map(want[q]!.map((h) => [h.id, h.score]));
    for (const h of got[q]!) {
      const s = exact.get(h.id);
      if (s === undefined) continue;
      hits++;
      assert.ok(Math.abs(s - h.score) < 1e-4, `re-ranked score ${h.score} is the exact ${s}`);
    }
  }
  return hits / (want.length * 10);
}

test('ivfpq: one quantizer for the snapshot, every shard\'s lists in one index; exact top-10 of Flat (recall@10 >= 0.95), exact scores', async () => {
  const store = new LocalObjectStore(join(dir, 'store'));
  const pq = await build(store, 'pq', 3_000, { kind: 'ivfpq', params: PQ });
  const flat = await build(store, 'flat', 3_000, { kind: 'flat', params: {} });
  assert.equal(pq.version, 3);
  assert.deepEqual(pq.shards.map((s) => s.index!.kind), ['ivfpq-lists', 'ivfpq-lists', 'ivfpq-lists']);
  const q = pq.quantizer!;
  assert.deepEqual([q.pqM, q.pqBits, q.rerank], [64, 6, 32], '256-d vectors: 64 sub-quantizers');
  assert.equal(q.nlist, 205, 'the power of two nearest 4·sqrt(8000) is 256, clamped to 8000 / 39 lists');
  assert.equal(q.nprobe, 64);
  assert.equal(q.trainedOn, 8_000, 'every vector, the snapshot being smaller than 50 per list');
  assert.ok(q.fit.recall10 >= 0.95, `fit ${q.fit.recall10}`);
  assert.ok(pq.shards.every((s) => s.index!.params.quantizer === q.sha256), 'every shard names its quantizer');
  const listBytes = pq.shards.reduce((a, s) => a + s.bytes, 0);
  assert.ok(listBytes < flat.shards.reduce((a, s) => a + s.bytes, 0) / 8, `lists ${listBytes} B vs Flat`);
  // The quantizer is stored once, not per shard; published by content like the rest.
  assert.match(q.key, /^objects\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.quantizer\.faiss$/);
  assert.ok(pq.shards.every((s) => s.key.endsWith('.ivflists')));

  const queries = await queriesOf(store, flat);
  const want = await (await SnapshotRetriever.load(store, 'flat')).search(encoder, queries, 10);
  const recall = recallAgainst(want, await (await SnapshotRetriever.load(store, 'pq')).search(encoder, queries, 10));
  assert.ok(recall >= 0.95, `recall@10 vs Flat ${recall}`);

  // The same snapshot served with rerank=1 (the k PQ candidates, re-scored): the re-rank depth is what holds recall.
  const m1 = { ...pq, id: 'pq1', quantizer: { ...q, rerank: 1 } };
  await store.put('snapshots/pq1/manifest.json', JSON.stringify(m1));
  const recall1 = recallAgainst(want, await (await SnapshotRetriever.load(store, 'pq1')).search(encoder, queries, 10));
  assert.ok(recall1 < recall, `rerank=1 recall ${recall1} < rerank=32 recall ${recall}`);

  // The older layout, one quantizer per shard, searched shard by shard and merged in JavaScript: the same bar.
  const perShard = await build(store, 'pq-shard', 4_000, { kind: 'ivfpq-shard', params: PQ });
  assert.equal(perShard.version, 2, 'no quantizer: readable by older versions');
  assert.deepEqual(perShard.shards.map((s) => s.index!.kind), ['ivfpq', 'ivfpq']);
  assert.equal(perShard.quantizer, undefined);
  const recallShard = recallAgainst(want, await (await SnapshotRetriever.load(store, 'pq-shard')).search(encoder, queries, 10));
  assert.ok(recallShard >= 0.95, `per-shard recall@10 vs Flat ${recallShard}`);
});

test('auto builds Flat under the memory budget and the snapshot-wide IVF-PQ above it, for every shard alike; too few passages to train is Flat, with why', async () => {
  const store = new LocalObjectStore(join(dir, 'auto'));
  const small = await build(store, 'auto-flat', 4_000, { kind: 'auto', params: PQ });
  assert.equal(small.index.kind, 'auto');
  assert.ok(small.shards.every((s) => s.index!.kind === 'flat' && s.index!.params.requestedKind === 'auto'));
  assert.match(String(small.shards[0]!.index!.params.autoReason), /<= budget 1024 MiB/);
  assert.equal(small.quantizer, undefined);
  // 8,000 x 256-d x 4 B = 7.8 MiB > a 4 MiB budget. Shards of 7,000 + 1,000: the small one is encoded with the
  // snapshot's quantizer too (per-shard quantizers needed 2,496 vectors in every shard).
  const big = await build(store, 'auto-pq', 7_000, { kind: 'auto', params: { ...PQ, flatBudgetMiB: 4 } });
  assert.deepEqual(big.shards.map((s) => s.index!.kind), ['ivfpq-lists', 'ivfpq-lists']);
  assert.ok(big.quantizer);
  const r = await SnapshotRetriever.load(store, 'auto-pq');
  const texts: string[] = [];
  for await (const x of SnapshotRetriever.readPassages(store, big)) if (x.id === 'd7500-0' || x.id === 'd100-0') texts.push(x.text);
  const hits = await r.search(encoder, texts, 10);
  assert.deepEqual(hits.map((h) => h[0]!.id).sort(), ['d100-0', 'd7500-0'], 'a passage is found from its own text in either shard');

  // 2,000 passages cannot train 6-bit codes (2,496): the whole snapshot is Flat, each shard saying why.
  const tiny = join(dir, 'tiny.jsonl');
  writeFileSync(tiny, readFileSync(path, 'utf8').split('\n').slice(0, 2_000).join('\n') + '\n');
  const fell = await build(store, 'too-small', 1_000, { kind: 'ivfpq', params: PQ }, {}, tiny);
  assert.ok(fell.shards.every((s) => s.index!.kind === 'flat' && s.index!.params.requestedKind === 'ivfpq'));
  assert.match(String(fell.shards[0]!.index!.params.fallbackReason), /ivfpq needs at least 2496 passages to train its quantizers; the snapshot has 2000/);
});

test('auto on a night that crosses the Flat budget: the whole snapshot goes IVF-PQ (kept Flat shards indexed again), never a mix, same top-10 as a full build', async () => {
  const store = new LocalObjectStore(join(dir, 'crossing'));
  const rows = readFileSync(path, 'utf8').trim().split('\n');
  const half = join(dir, 'crossing-night1.jsonl');
  writeFileSync(half, rows.slice(0, 4_000).join('\n') + '\n');
  // 4,000 passages x 256-d = 3.9 MiB of Flat vectors: under a 5 MiB budget. Night 2 adds 4,000 more: 7.8 MiB, over it.
  const index = { kind: 'auto' as const, params: { ...PQ, flatBudgetMiB: 5 } };
  const night1 = await build(store, 'x1', 1_500, index, {}, half);
  assert.ok(night1.shards.every((s) => s.index!.kind === 'flat'), 'night 1 is Flat');
  const night2 = await build(store, 'x2', 1_500, index, { base: 'x1' });
  assert.ok(night2.base!.shardsReused > 0, 'night 2 kept base shards');
  assert.ok(night2.quantizer, 'night 2 has a snapshot-wide quantizer');
  const kinds = new Set(night2.shards.map((s) => s.index!.kind));
  assert.deepEqual([...kinds], ['ivfpq-lists'], `every shard under the one quantizer, kept ones included (${[...kinds].join(', ')})`);
  assert.ok(night2.shards.every((s) => s.index!.params.quantizer === night2.quantizer!.sha256));
  const full = await build(store, 'x2-full', 1_500, index, { quantizerFrom: 'x2' });
  const queries = await queriesOf(store, full, 200);
  const a = await (await SnapshotRetriever.load(store, 'x2')).search(encoder, queries, 10);
  const b = await (await SnapshotRetriever.load(store, 'x2-full')).search(encoder, queries, 10);
  for (const [q, hits] of a.entries()) assert.deepEqual(hits.map((h) => h.id).sort(), b[q]!.map((h) => h.id).sort(), `query ${q}: incremental and full builds agree`);
});

test('an incremental snapshot keeps its base\'s quantizer: new shards encoded with it, deleted rows never returned, the same top-10 as a full build with that quantizer', async () => {
  const store = new LocalObjectStore(join(dir, 'nightly'));
  const night1 = await build(store, 'n1', 3_000, { kind: 'ivfpq', params: PQ });
  // Night 2: every 25th document edited (its old passage is deleted from the kept shard), 30 added.
  const rows = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; title: string; text: string });
  const edited = rows.map((r, i) => (i % 25 === 0 ? { ...r, text: `${r.text} revised` } : r));
  for (let i = 0; i < 30; i++) edited.push({ id: `new${i}`, title: `New ${i}`, text: rows[i * 7]!.text.split(' ').reverse().join(' ') });
  const path2 = join(dir, 'night2.jsonl');
  writeFileSync(path2, edited.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const inc = await build(store, 'n2', 3_000, { kind: 'ivfpq', params: PQ }, { base: 'n1' }, path2);
  assert.equal(inc.quantizer!.sha256, night1.quantizer!.sha256, 'the base\'s quantizer, not a new one');
  assert.equal(inc.quantizer!.reusedFrom, 'n1');
  assert.ok(inc.quantizer!.fit.recall10 >= 0.95, `fit of the reused quantizer ${inc.quantizer!.fit.recall10}`);
  assert.ok(inc.base!.passagesEncoded <= 400, `only what changed was encoded (${inc.base!.passagesEncoded})`);
  assert.ok(inc.shards.some((s) => s.deleted), 'kept shards with deleted rows');
  const full = await build(store, 'n2-full', 3_000, { kind: 'ivfpq', params: PQ }, { quantizerFrom: 'n1' }, path2);
  assert.equal(full.quantizer!.sha256, night1.quantizer!.sha256);

  // An edited document keeps its id: a deleted row would come back under a live id with the old text.
  const live = new Map<string, string>();
  for await (const p of SnapshotRetriever.readPassages(store, inc)) live.set(p.id, p.text);
  assert.equal(live.size, inc.passages);
  const oldTexts = rows.filter((_, i) => i % 25 === 0).map((r) => r.text);
  const queries = [...oldTexts, ...(await queriesOf(store, night1, 1_000))];
  assert.ok(oldTexts.length > 0);
  const a = await (await SnapshotRetriever.load(store, 'n2')).search(encoder, queries, 10);
  const b = await (await SnapshotRetriever.load(store, 'n2-full')).search(encoder, queries, 10);
  for (const [q, hits] of a.entries()) {
    assert.equal(hits.length, 10);
    for (const h of hits) assert.equal(h.text, live.get(h.id), `query ${q}: ${h.id} served with text that is not night 2's`);
    assert.deepEqual(hits.map((h) => h.id), b[q]!.map((h) => h.id), `query ${q}: incremental and full builds agree`);
  }
  // Each old text is exactly a deleted row (score 1 if it were served): none came back.
  for (const q of oldTexts.keys()) assert.ok(a[q]![0]!.score < 0.9999, `query ${q}: top score ${a[q]![0]!.score}`);

  // --retrain: a new quantizer, and the kept shards indexed again under it.
  const re = await build(store, 'n2-retrain', 3_000, { kind: 'ivfpq', params: PQ }, { base: 'n1', retrain: true }, path2);
  assert.notEqual(re.quantizer!.sha256, night1.quantizer!.sha256);
  assert.ok(re.shards.every((s) => s.index!.params.quantizer === re.quantizer!.sha256), 'every shard, kept ones too, under the new quantizer');
  const c = await (await SnapshotRetriever.load(store, 'n2-retrain')).search(encoder, queries.slice(0, 50), 10);
  for (const hits of c) for (const h of hits) assert.equal(h.text, live.get(h.id));
});
