// Incremental builds, content-addressed objects and resume chained by content, through the real
// stage functions (no queue): real MiniLM encoder, real FAISS, a local object store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotRegistry, collectGarbage, diffSnapshots, objectSizes, type SnapshotManifest } from '@rag/snapshot';
import { AliasRegistry, removeSnapshot, SnapshotInUseError } from '@rag/registry';
import { SnapshotRetriever, lookupPassages } from '@rag/retrieval';
import { runIngest } from './ingest-stage.js';
import { leBytesToFloat32 } from './encode-stage.js';
import { runBuildInProcess } from './build-in-process.js';
import { PAYLOAD_VERSION, type BuildRequest } from './job-payloads.schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MINILM = join(REPO, 'models/all-MiniLM-L6-v2');
/** Another 384-d encoder (a MiniLM question tower): same width, other vectors. */
const OTHER = join(REPO, 'models/world-question-encoder');
const logger = createLogger({ service: 'test', level: 'silent' });

let dir: string;
let minilm: Encoder;
let other: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-incremental-'));
  minilm = await loadEncoder({ dir: MINILM });
  other = await loadEncoder({ dir: OTHER });
});
after(async () => {
  await minilm.release();
  await other.release();
  rmSync(dir, { recursive: true, force: true });
});

const TOPICS = ['volcano magma lava crater ash', 'honeybee hive pollen nectar queen', 'lighthouse beacon lamp keeper coast', 'chess king rook pawn gambit', 'glacier ice moraine fjord iceberg', 'violin bow string sonata rosin', 'bread flour yeast dough oven', 'comet nucleus tail orbit perihelion'];

interface Doc { id: string; title: string; text: string }

/** 40 documents of 2-4 passages of 20 words each, every one distinct. */
function corpus(): Doc[] {
  const docs: Doc[] = [];
  for (let d = 0; d < 40; d++) {
    const words = TOPICS[d % TOPICS.length]!.split(' ');
    const n = 40 + (d % 3) * 20;
    const text = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? `w${d}x${i}` : words[(i * 3 + d) % words.length])).join(' ');
    docs.push({ id: `doc${d}`, title: `Topic ${d}`, text });
  }
  return docs;
}

function writeCorpus(name: string, docs: Doc[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
}

function request(id: string, path: string, o: { base?: string; words?: number; encoderDir?: string } = {}): BuildRequest {
  return {
    v: PAYLOAD_VERSION,
    snapshotId: id,
    source: { path, format: 'jsonl' },
    shardSize: 16,
    wordsPerPassage: o.words ?? 20,
    index: { kind: 'flat', params: {} },
    encoderDir: o.encoderDir ?? MINILM,
    ...(o.base ? { base: o.base } : {}),
    requestedAt: new Date().toISOString(),
  };
}

/** The whole build as the queue would run it (runBuildInProcess); `only`: encode these shards and stop. */
async function build(store: LocalObjectStore, req: BuildRequest, encoder: Encoder = minilm, only?: number[]): Promise<SnapshotManifest | undefined> {
  return runBuildInProcess(req, { store, encoder, logger, ...(only ? { only } : {}) });
}

async function passageSet(store: LocalObjectStore, m: SnapshotManifest): Promise<string[]> {
  const out: string[] = [];
  for await (const p of SnapshotRetriever.readPassages(store, m)) out.push(JSON.stringify([p.id, p.title, p.text]));
  return out.sort();
}

/** Night 2: doc3 edited (one word), doc7 edited (a sentence early on), doc11 removed, doc40 added. */
function night2(docs: Doc[]): Doc[] {
  const out = docs.filter((d) => d.id !== 'doc11').map((d) => ({ ...d }));
  out.find((d) => d.id === 'doc3')!.text = out.find((d) => d.id === 'doc3')!.text.replace(/\b(\w+)$/, 'replaced');
  const d7 = out.find((d) => d.id === 'doc7')!;
  d7.text = `an inserted opening sentence of seven words ${d7.text}`;
  out.push({ id: 'doc40', title: 'Topic 40', text: Array.from({ length: 30 }, (_, i) => `new${i} railway station`).join(' ') });
  return out;
}

/** Every object a manifest references is in the store (a snapshot loaded for search reads only some). */
async function assertAllObjectsExist(store: LocalObjectStore, id: string): Promise<void> {
  const m = await new SnapshotRegistry(store).read(id);
  for (const key of (await objectSizes(store, m)).keys()) assert.ok(await store.exists(key), `${id} lost ${key}`);
}

/**
 * Same top-k: scores rank by rank within 1e-4, and the same ids except among hits tied (within 1e-4)
 * with the last one, whose order float rounding may settle either way.
 */
function assertSameHits(a: { id: string; score: number }[], b: { id: string; score: number }[], what: string): void {
  assert.equal(a.length, b.length, what);
  const tol = 1e-4;
  a.forEach((h, j) => assert.ok(Math.abs(h.score - b[j]!.score) < tol, `${what} rank ${j}: ${h.score} vs ${b[j]!.score}`));
  const last = Math.min(a[a.length - 1]!.score, b[b.length - 1]!.score);
  const inB = new Map(b.map((h) => [h.id, h.score]));
  for (const h of a) {
    const sb = inB.get(h.id);
    if (sb !== undefined) assert.ok(Math.abs(sb - h.score) < tol, `${what}: ${h.id} scores ${h.score} vs ${sb}`);
    else assert.ok(h.score - last < tol, `${what}: ${h.id} (score ${h.score}) missing from the full build's top-k`);
  }
}

test('an incremental build equals a full build of the same dump, encoding only what changed', async () => {
  const store = new LocalObjectStore(join(dir, 'eq'));
  const docs = corpus();
  const n1 = writeCorpus('eq-1.jsonl', docs);
  const n2 = writeCorpus('eq-2.jsonl', night2(docs));
  const m1 = (await build(store, request('night-1', n1)))!;
  const inc = (await build(store, request('night-2-inc', n2, { base: 'night-1' })))!;
  const fullStore = new LocalObjectStore(join(dir, 'eq-full'));
  const full = (await build(fullStore, request('night-2-full', n2)))!;

  assert.equal(inc.passages, full.passages);
  assert.deepEqual(await passageSet(store, inc), await passageSet(fullStore, full), 'same passages');
  // doc3: its last passage; doc7: every passage (shifted); doc40: all. Nothing else is encoded.
  const changedRows = (n: number) => Math.ceil(n / 20);
  const doc7 = changedRows(docs[7]!.text.split(' ').length + 7);
  assert.equal(inc.base!.passagesEncoded, 1 + doc7 + 5, JSON.stringify(inc.base));
  assert.equal(inc.base!.passagesReused, inc.passages - inc.base!.passagesEncoded);
  assert.equal(inc.base!.id, 'night-1');
  assert.ok(inc.base!.shardsReused >= m1.shards.length - 2, `most base shards reused: ${JSON.stringify(inc.base)}`);
  // Reused shards are the base's objects, byte for byte.
  const baseKeys = new Set(m1.shards.map((s) => s.key));
  assert.equal(inc.shards.filter((s) => baseKeys.has(s.key)).length, inc.base!.shardsReused);

  // Exact search gives the same ids and scores for every passage used as a query.
  const rInc = await SnapshotRetriever.load(store, 'night-2-inc');
  const rFull = await SnapshotRetriever.load(fullStore, 'night-2-full');
  const queries: string[] = [];
  for await (const p of SnapshotRetriever.readPassages(fullStore, full)) queries.push(p.text.split(' ').slice(0, 8).join(' '));
  const v = await minilm.encodeQueries(queries);
  const a = await rInc.searchVectors(v, queries.length, 10);
  const b = await rFull.searchVectors(v, queries.length, 10);
  for (let q = 0; q < queries.length; q++) assertSameHits(a[q]!, b[q]!, `query ${q}`);
  // Removed and replaced rows are never returned.
  const removed = a.flat().filter((h) => h.id.startsWith('doc11-'));
  assert.equal(removed.length, 0);
  // Passages by id through the page table (rows in kept base shards and in new ones) equal a full scan;
  // ids of rows deleted from kept shards (doc11, removed) are not found.
  const scanned = new Map<string, { id: string; title: string; text: string }>();
  for await (const p of SnapshotRetriever.readPassages(store, inc)) scanned.set(p.id, { id: p.id, title: p.title, text: p.text });
  const byId = await lookupPassages(store, inc, [...scanned.keys(), 'doc11-0', 'doc11-1', 'no-such-0']);
  assert.deepEqual([...byId.keys()].sort(), [...scanned.keys()].sort());
  for (const [id, p] of byId) assert.deepEqual({ id: p.id, title: p.title, text: p.text }, scanned.get(id));
  await store.close();
  await fullStore.close();
});

test('incremental builds chain: night 3 on an incremental night 2 equals a full build of night 3', async () => {
  const store = new LocalObjectStore(join(dir, 'chain'));
  const docs = corpus();
  const d2 = night2(docs);
  // Night 3 edits pages that night 2 kept from night 1 (their rows sit in reused base shards).
  const d3 = d2.filter((d) => d.id !== 'doc20').map((d) => (d.id === 'doc30' || d.id === 'doc1' ? { ...d, text: `${d.text} appended words here` } : d));
  await build(store, request('n1', writeCorpus('chain-1.jsonl', docs)));
  await build(store, request('n2', writeCorpus('chain-2.jsonl', d2), { base: 'n1' }));
  // Night 1 goes away before night 3 is built on night 2: night 2 holds all it needs.
  const aliases = new AliasRegistry({ store, logger });
  await removeSnapshot(store, aliases, 'n1');
  await aliases.close();
  await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  await assertAllObjectsExist(store, 'n2');
  const n3 = (await build(store, request('n3', writeCorpus('chain-3.jsonl', d3), { base: 'n2' })))!;
  const fullStore = new LocalObjectStore(join(dir, 'chain-full'));
  const full = (await build(fullStore, request('n3-full', writeCorpus('chain-3f.jsonl', d3))))!;
  assert.deepEqual(await passageSet(store, n3), await passageSet(fullStore, full));
  assert.equal(n3.base!.passagesEncoded, 2, 'the last passage of each of the two edited pages');
  // The page table points at the rows that hold each page's passages.
  const { parsePageTable } = await import('@rag/snapshot');
  const rows = parsePageTable(await store.get(n3.pages!.key), n3.pages!.key);
  for (const r of rows) {
    let i = 0;
    for (const [shard, first, count] of r.loc) {
      const ps = (await import('@rag/corpus')).parsePassageShard(await store.get(n3.shards[shard]!.passagesKey), 'x');
      for (let j = 0; j < count; j++, i++) assert.equal(ps[first + j]!.hash, r.h[i], `page ${r.p} passage ${i}`);
    }
  }
  await store.close();
  await fullStore.close();
});

test('objects are content-addressed: the incremental snapshot adds little, and diff says what changed', async () => {
  const store = new LocalObjectStore(join(dir, 'cas'));
  const docs = corpus();
  const m1 = (await build(store, request('a', writeCorpus('cas-1.jsonl', docs))))!;
  const m2 = (await build(store, request('b', writeCorpus('cas-2.jsonl', night2(docs)), { base: 'a' })))!;
  const d = await diffSnapshots(store, m1, m2);
  assert.deepEqual(d.pages, { added: 1, removed: 1, changed: 2, unchanged: 37 });
  assert.equal(d.passages.removed - d.passages.added >= 0 || d.passages.added > 0, true);
  assert.equal(d.shards.reused, m2.base!.shardsReused);
  assert.ok(d.bytes.shared > 0.7 * d.bytes.b, `most bytes shared: ${JSON.stringify(d.bytes)}`);
  assert.deepEqual(d.examples.removed, ['Topic 11']);
  // The same dump built again under another id writes no new content object.
  const before = (await store.list('objects/')).length;
  await build(store, request('a-again', writeCorpus('cas-1b.jsonl', docs)));
  assert.equal((await store.list('objects/')).length, before, 'identical content, no new objects');
  await store.close();
});

test('gc frees what only removed snapshots used, keeps what a live alias needs; rm refuses an aliased snapshot', async () => {
  const store = new LocalObjectStore(join(dir, 'gc'));
  const docs = corpus();
  await build(store, request('old', writeCorpus('gc-1.jsonl', docs)));
  await build(store, request('new', writeCorpus('gc-2.jsonl', night2(docs)), { base: 'old' }));
  const aliases = new AliasRegistry({ store, logger });
  await aliases.set('prod', 'old');
  await assert.rejects(removeSnapshot(store, aliases, 'old'), SnapshotInUseError);
  await aliases.set('prod', 'new');
  // With both published, gc may take build leftovers (reuse plans) but nothing a snapshot needs.
  await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  for (const id of ['old', 'new']) await assertAllObjectsExist(store, id);
  await removeSnapshot(store, aliases, 'old');
  assert.equal(await new SnapshotRegistry(store).isPublished('old'), false);
  const young = await collectGarbage(store, { graceMs: 3600_000, abandonedAfterMs: 1e12, dryRun: false });
  assert.equal(young.deleted, 0, 'objects inside the grace period stay');
  const wouldBe = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: true });
  assert.ok(wouldBe.deleted > 0 && wouldBe.bytesFreed > 0);
  assert.equal((await store.list('objects/')).length, wouldBe.objects, 'dry run deleted nothing');
  const r = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  assert.equal(r.deleted, wouldBe.deleted);
  await assertAllObjectsExist(store, 'new');
  // The aliased snapshot still loads (every object verified) and answers.
  const snap = await SnapshotRetriever.load(store, (await aliases.resolveSnapshotRef('prod')).snapshotId);
  const hits = await snap.search(minilm, ['new3 railway station'], 3);
  assert.match(hits[0]![0]!.id, /^doc40-/);
  await aliases.close();
  await store.close();
});

test('resume: an encoder swapped after some shards were encoded and indexed re-encodes and re-indexes them', async () => {
  const store = new LocalObjectStore(join(dir, 'swap'));
  const path = writeCorpus('swap.jsonl', corpus());
  // First attempt with the other encoder stops after shards 0 and 1 are encoded and indexed.
  await build(store, request('swap', path, { encoderDir: OTHER }), other, [0, 1]);
  const m = (await build(store, request('swap', path), minilm))!;
  assert.equal(m.encoder.sha256, minilm.sha256);
  // Every shard's index holds that shard's MiniLM embeddings: each vector finds itself first.
  const r = await SnapshotRetriever.load(store, 'swap');
  for (const s of m.shards) {
    const vecs = leBytesToFloat32(await store.get(s.embeddingsKey));
    const hits = await r.searchVectors(vecs.subarray(0, m.dim), 1, 1);
    assert.ok(Math.abs(hits[0]![0]!.score - 1) < 1e-4, `shard ${s.shard}: top score ${hits[0]![0]!.score}`);
    assert.equal(hits[0]![0]!.id, s.firstPassageId, `shard ${s.shard} index matches its embeddings`);
  }
  // And the embeddings are MiniLM's.
  const p0 = (await SnapshotRetriever.readPassages(store, m).next()).value!;
  const first = await minilm.encodePassages([{ title: p0.title, text: p0.text }]);
  const stored = leBytesToFloat32(await store.get(m.shards[0]!.embeddingsKey)).subarray(0, m.dim);
  let dot = 0;
  for (let i = 0; i < m.dim; i++) dot += first[i]! * stored[i]!;
  assert.ok(dot > 0.999, `shard 0 row 0 is MiniLM's vector (cos ${dot})`);
  await store.close();
});

test('resume: --words changed after ingest redoes ingest and every shard after it', async () => {
  const store = new LocalObjectStore(join(dir, 'words'));
  const path = writeCorpus('words.jsonl', corpus());
  await build(store, request('words', path, { words: 20 }), minilm, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const m = (await build(store, request('words', path, { words: 30 })))!;
  assert.equal(m.source.wordsPerPassage, 30);
  assert.equal(m.passages, m.vectors);
  for await (const p of SnapshotRetriever.readPassages(store, m)) assert.ok(p.text.split(' ').length <= 30);
  const r = await SnapshotRetriever.load(store, 'words');
  assert.equal(r.manifest.passages, 40 * 2 - 0 + corpus().filter((d) => d.text.split(' ').length > 60).length, 'passages of 30 words');
  await store.close();
});

test('--base refuses another encoder or index, and a base without a page table, with what to do', async () => {
  const store = new LocalObjectStore(join(dir, 'refuse'));
  const path = writeCorpus('refuse.jsonl', corpus());
  await build(store, request('base', path));
  await assert.rejects(runIngest(request('next', path, { base: 'base', encoderDir: OTHER }), { store, logger }), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /encoded with all-MiniLM-L6-v2/);
    return true;
  });
  await assert.rejects(runIngest({ ...request('next', path, { base: 'base' }), index: { kind: 'hnsw', params: {} } }, { store, logger }), /uses index flat/);
  await assert.rejects(runIngest(request('next', path, { base: 'missing' }), { store, logger }), /not published/);
  await store.close();
});

test('a page repeated in the dump keeps its first copy whole, even when the second is longer', async () => {
  const store = new LocalObjectStore(join(dir, 'dup'));
  const docs = corpus().slice(0, 3);
  const longer = { ...docs[1]!, text: `${docs[1]!.text} ${docs[1]!.text} ${docs[1]!.text}` };
  const m = (await build(store, request('dup', writeCorpus('dup.jsonl', [...docs, longer]))))!;
  const ids: string[] = [];
  for await (const p of SnapshotRetriever.readPassages(store, m)) ids.push(p.id);
  assert.equal(ids.filter((i) => i.startsWith('doc1-')).length, Math.ceil(docs[1]!.text.split(' ').length / 20), 'only the first copy\'s passages');
  const marker = JSON.parse((await store.get('snapshots/dup/_build/ingest.json')).toString());
  assert.equal(marker.duplicatesSkipped, 1);
  await store.close();
});

test('hollow base shards are compacted: their live rows move with their embeddings, nothing is encoded', async () => {
  const store = new LocalObjectStore(join(dir, 'compact'));
  const docs = corpus();
  const m1 = (await build(store, request('c1', writeCorpus('c-1.jsonl', docs))))!;
  // Remove most documents of the first shard's pages.
  const firstShardPages = new Set<string>();
  for await (const p of SnapshotRetriever.readPassages(store, { ...m1, shards: [m1.shards[0]!] })) firstShardPages.add(p.id.split('-')[0]!);
  const drop = [...firstShardPages].slice(0, Math.max(1, firstShardPages.size - 1));
  const m2 = (await build(store, request('c2', writeCorpus('c-2.jsonl', docs.filter((d) => !drop.includes(d.id))), { base: 'c1' })))!;
  assert.equal(m2.base!.passagesEncoded, 0, 'moved rows keep their embeddings');
  assert.ok(!m2.shards.some((s) => s.key === m1.shards[0]!.key), 'the hollow shard is not kept');
  const full = (await build(new LocalObjectStore(join(dir, 'compact-full')), request('c2f', writeCorpus('c-2f.jsonl', docs.filter((d) => !drop.includes(d.id))))))!;
  assert.equal(m2.passages, full.passages);
  await store.close();
});

test('a page repeated in the dump: full and incremental builds keep the same copy (the first), with the same rows', async () => {
  const store = new LocalObjectStore(join(dir, 'repeats'));
  const docs = corpus();
  await build(store, request('r1', writeCorpus('repeats-1.jsonl', docs)));
  // Night 2 repeats doc3 at the end with other text (a dump that lists a page twice), and edits doc7.
  const night2 = [...docs.map((d) => (d.id === 'doc7' ? { ...d, text: `${d.text} revised` } : d)), { ...docs[3]!, text: 'a later copy of the same page id with other words entirely' }];
  const path2 = writeCorpus('repeats-2.jsonl', night2);
  const full = (await build(store, request('r2-full', path2)))!;
  const inc = (await build(store, request('r2-inc', path2, { base: 'r1' })))!;
  const a = await passageSet(store, full);
  assert.deepEqual(await passageSet(store, inc), a, 'incremental = full, row for row');
  assert.ok(a.some((l) => l.includes('"doc3') && l.includes(docs[3]!.text.split(' ').slice(1, 4).join(' '))), 'the first copy of doc3 is kept');
  assert.ok(!a.some((l) => l.includes('a later copy')), 'the later copy is dropped by both');
});
