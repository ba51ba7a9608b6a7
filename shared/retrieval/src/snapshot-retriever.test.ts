// Serving: passages read on demand by byte offset (no shard text held), verified per row; each
// shard searched with its own index parameters. Real FAISS, the static encoder, a local store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShardIntegrityError, createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import type { SnapshotManifest } from '@rag/snapshot';
import { PAYLOAD_VERSION, runBuildInProcess, type BuildRequest } from '@rag/pipeline';
import { SnapshotRetriever } from './snapshot-retriever.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let encoder: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-serving-'));
  encoder = await loadEncoder({ dir: STATIC });
});
after(async () => {
  await encoder.release();
  rmSync(dir, { recursive: true, force: true });
});

const VOCAB = 'volcano magma glacier honeybee violin comet harbour railway orchestra treaty museum library engine lighthouse chess bread orchid coral submarine festival'.split(' ');

/** n documents of one 30-word passage each, pseudo-random words. */
function corpus(path: string, n: number): void {
  let x = 7;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const lines = Array.from({ length: n }, (_, d) => JSON.stringify({ id: `d${d}`, title: `Doc ${d}`, text: Array.from({ length: 30 }, () => VOCAB[next() % VOCAB.length]).join(' ') }));
  writeFileSync(path, lines.join('\n') + '\n');
}

async function build(store: LocalObjectStore, id: string, path: string, shardSize: number, index: BuildRequest['index']): Promise<SnapshotManifest> {
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: id, source: { path, format: 'jsonl' }, shardSize, wordsPerPassage: 30, index, encoderDir: STATIC, requestedAt: new Date().toISOString() };
  return (await runBuildInProcess(req, { store, encoder, logger }))!;
}

test('passages are read by offset on demand: same results as holding them, and no shard text in memory', async () => {
  const store = new LocalObjectStore(join(dir, 'lazy'));
  const path = join(dir, 'lazy.jsonl');
  corpus(path, 300);
  const m = await build(store, 'lazy', path, 64, { kind: 'flat', params: {} });
  assert.ok(m.shards.every((s) => s.offsets), 'every shard has row offsets');
  const lazy = await SnapshotRetriever.load(store, 'lazy');
  assert.equal(lazy.passagesInMemory, 0);
  // The same snapshot without offsets (as built before v2) loads its passages whole.
  const old = { ...m, shards: m.shards.map(({ offsets: _o, ...s }) => s) };
  await store.put('snapshots/lazy-old/manifest.json', JSON.stringify({ ...old, id: 'lazy-old' }));
  const eager = await SnapshotRetriever.load(store, 'lazy-old');
  assert.equal(eager.passagesInMemory, 300);
  const queries = ['volcano magma glacier', 'violin orchestra festival', 'bread museum library chess'];
  const a = await lazy.search(encoder, queries, 10);
  const b = await eager.search(encoder, queries, 10);
  assert.deepEqual(a, b);
  assert.ok(a.every((hits) => hits.length === 10 && hits.every((h) => h.text.split(' ').length === 30)));
});

test('a row altered in storage is refused when read, with the object named', async () => {
  const store = new LocalObjectStore(join(dir, 'tamper'));
  const path = join(dir, 'tamper.jsonl');
  corpus(path, 40);
  const m = await build(store, 'tamper', path, 100, { kind: 'flat', params: {} });
  const r = await SnapshotRetriever.load(store, 'tamper');
  const key = m.shards[0]!.passagesKey;
  // Same length, another word: offsets still fit, the row's hash does not.
  const body = (await store.get(key)).toString('utf8').replace(/"text":"(\w)/, (_all, c: string) => `"text":"${c === 'x' ? 'y' : 'x'}`);
  await store.put(key, body);
  await assert.rejects(r.search(encoder, [VOCAB.join(' ')], 40), (err: unknown) => err instanceof ShardIntegrityError && /(does not match its passage hash|is not the row the snapshot recorded)/.test(err.message) && err.message.includes(key));
});

test('rows are checked by position and id: a swapped row, an edited id (its passage hash still valid) and a changed but finite embedding are refused', async () => {
  const store = new LocalObjectStore(join(dir, 'rowsums'));
  const path = join(dir, 'rowsums.jsonl');
  // Five-letter words and four-digit ids: every line has the same length, so swapped rows still fit the offsets.
  const words = ['amber', 'basil', 'cedar', 'delta', 'ember', 'flint', 'grove', 'haven', 'ivory', 'jolly'];
  let x = 3;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  writeFileSync(path, Array.from({ length: 2_600 }, (_, d) => JSON.stringify({ id: `p${String(d).padStart(4, '0')}`, title: `T${String(d).padStart(4, '0')}`, text: Array.from({ length: 12 }, () => words[next() % words.length]).join(' ') })).join('\n') + '\n');
  // 6-bit PQ codes train on 2,496 vectors: a compressed snapshot, re-ranked from its stored embeddings.
  const m = await build(store, 'rowsums', path, 2_600, { kind: 'ivfpq', params: { pqBits: 6 } });
  const s0 = m.shards[0]!;
  assert.ok(s0.passagesRowSums && s0.embeddingsRowSums, 'the manifest names both row digests');
  const pristine = await store.get(s0.passagesKey);
  const lines = pristine.toString('utf8').split('\n');
  const fresh = async () => SnapshotRetriever.load(store, 'rowsums');
  // In place (same file): serving keeps its files open, as objects never change.
  const overwrite = (key: string, body: string | Buffer) => writeFileSync(store.localPath(key), body);
  const query = ['amber cedar grove ivory ember delta'];
  // The row the search serves first (searching is deterministic: it is read again below).
  const top = (await (await fresh()).search(encoder, query, 5))[0]![0]!;
  const r = lines.findIndex((l) => l.startsWith(`{"id":"${top.id}"`));
  assert.ok(r >= 0 && r + 1 < lines.length - 1);
  // Rows r and r+1 swapped (equal length: offsets fit, each line's own hash is valid).
  const swapped = [...lines];
  [swapped[r], swapped[r + 1]] = [lines[r + 1]!, lines[r]!];
  overwrite(s0.passagesKey, swapped.join('\n'));
  await assert.rejects((await fresh()).search(encoder, query, 5), (err: unknown) => err instanceof ShardIntegrityError && new RegExp(`row ${r} is not the row the snapshot recorded`).test(err.message) && err.message.includes(s0.passagesKey));
  // Row r's id edited: its passage hash (title and text) still matches.
  overwrite(s0.passagesKey, pristine.toString('utf8').replace(`"id":"${top.id}"`, `"id":"${top.id.replace(/^p\d/, 'p9')}"`));
  await assert.rejects((await fresh()).search(encoder, query, 5), new RegExp(`row ${r} is not the row the snapshot recorded`));
  overwrite(s0.passagesKey, pristine);
  // One float of row r's embedding nudged: still finite, but not what was encoded.
  const emb = await store.get(s0.embeddingsKey);
  const altered = Buffer.from(emb);
  const at = r * m.dim * 4 + 20;
  altered.writeFloatLE(altered.readFloatLE(at) + 0.01, at);
  overwrite(s0.embeddingsKey, altered);
  await assert.rejects((await fresh()).search(encoder, query, 5), (err: unknown) => err instanceof ShardIntegrityError && err.message.includes(s0.embeddingsKey) && new RegExp(`row ${r} is not the row`).test(err.message));
  overwrite(s0.embeddingsKey, emb);
  assert.equal((await (await fresh()).search(encoder, query, 5))[0]![0]!.id, top.id, 'restored: served again');
});

test('each shard records and is searched with its own index: a small last shard does not relabel an IVF snapshot', async () => {
  const store = new LocalObjectStore(join(dir, 'ivf'));
  const path = join(dir, 'ivf.jsonl');
  corpus(path, 1000);
  // Shards of 800 and 200 vectors: IVF for the first, too few for IVF in the second (Flat).
  const m = await build(store, 'ivf', path, 800, { kind: 'ivf', params: { nprobe: 4 } });
  assert.equal(m.index.kind, 'ivf', 'the snapshot says what was asked for');
  assert.deepEqual(m.index.params, { nprobe: 4 });
  assert.equal(m.shards[0]!.index!.kind, 'ivf');
  assert.equal(m.shards[0]!.index!.params.nprobe, 4);
  assert.equal(m.shards[1]!.index!.kind, 'flat');
  const r = await SnapshotRetriever.load(store, 'ivf');
  // Searching a passage's own text finds it first, in either kind of shard.
  const texts = new Map<string, string>();
  for await (const p of SnapshotRetriever.readPassages(store, m)) texts.set(p.id, `${p.title}. ${p.text}`);
  for (const id of ['d3-0', 'd950-0']) {
    const [hit] = (await r.search(encoder, [texts.get(id)!], 1))[0]!;
    assert.equal(hit!.id, id);
  }
});
