// Stage work found by content across snapshot ids (stage-work.ts): a second build of the same source
// under another id encodes and indexes nothing; a stale record is dropped and the work redone; part
// jobs of a split shard skip found work; gc drops records whose objects it frees. Real static encoder,
// real FAISS, a local object store, the real stage functions (no queue).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { DEFAULT_GC_GRACE_MS, SnapshotLayout, WORK_PREFIX, collectGarbage, type SnapshotManifest } from '@rag/snapshot';
import { AliasRegistry, removeSnapshot } from '@rag/registry';
import { runBuildInProcess } from './build-in-process.js';
import { runEncode, runEncodePart } from './encode-stage.js';
import { runIngest } from './ingest-stage.js';
import { PAYLOAD_VERSION, type BuildRequest } from './job-payloads.schema.js';
import { findWork, workKey } from './stage-work.js';
import { readMarker } from './build-markers.js';
import { encodeMarkerSchema } from './job-payloads.schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });

let dir: string;
let source: string;
let encoder: Encoder;
/** Passages the encoder was asked to encode since the last reset: the work a build really did. */
let encodedCalls = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-stage-work-'));
  const base = await loadEncoder({ dir: STATIC });
  // The real encoder, counted: whatever a build hands it is work it did.
  encoder = Object.assign(Object.create(base) as Encoder, {
    encodePassages: async (ps: Parameters<Encoder['encodePassages']>[0]) => {
      encodedCalls += ps.length;
      return base.encodePassages(ps);
    },
  });
  const words = ['river', 'delta', 'silt', 'harbour', 'lantern', 'orchard', 'quarry', 'meadow', 'falcon', 'copper'];
  const docs = Array.from({ length: 30 }, (_, d) => ({
    id: `doc${d}`,
    title: `Page ${d}`,
    text: Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? `p${d}w${i}` : words[(i * 7 + d) % words.length])).join(' '),
  }));
  source = join(dir, 'pages.jsonl');
  writeFileSync(source, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function request(id: string, o: { kind?: BuildRequest['index']['kind']; encodePart?: number } = {}): BuildRequest {
  return {
    v: PAYLOAD_VERSION,
    snapshotId: id,
    source: { path: source, format: 'jsonl' },
    shardSize: 16,
    wordsPerPassage: 20,
    index: { kind: o.kind ?? 'auto', params: {} },
    encoderDir: STATIC,
    ...(o.encodePart ? { encodePart: o.encodePart } : {}),
    requestedAt: new Date().toISOString(),
  };
}

async function build(store: LocalObjectStore, req: BuildRequest): Promise<{ m: SnapshotManifest; encoded: number }> {
  encodedCalls = 0;
  const m = (await runBuildInProcess(req, { store, encoder, logger }))!;
  return { m, encoded: encodedCalls };
}

test('a second build of the same source under another id encodes and indexes nothing, and says where the work came from', async () => {
  const store = new LocalObjectStore(join(dir, 'same'));
  const a = await build(store, request('first'));
  assert.equal(a.encoded, a.m.passages, 'the first build encodes every passage');
  assert.deepEqual(a.m.build.work, { passagesEncoded: a.m.passages, passagesFound: 0, shardsEncodeFound: 0, shardsIndexFound: 0, foundIn: [] });
  assert.ok(a.m.shards.length >= 3, `several shards (${a.m.shards.length})`);

  const b = await build(store, request('second'));
  assert.equal(b.encoded, 0, 'no passage reaches the encoder');
  assert.deepEqual(b.m.build.work, {
    passagesEncoded: 0, passagesFound: a.m.passages, shardsEncodeFound: a.m.shards.length, shardsIndexFound: a.m.shards.length, trainFound: true, foundIn: ['first'],
  });
  // The very same objects: embeddings and indexes are shared, not copies.
  assert.deepEqual(b.m.shards.map((s) => [s.embeddingsKey, s.key]), a.m.shards.map((s) => [s.embeddingsKey, s.key]));

  // A third build finds the work under the snapshot that did it, not under the one that found it.
  const c = await build(store, request('third'));
  assert.equal(c.encoded, 0);
  assert.deepEqual(c.m.build.work?.foundIn, ['first']);
});

test('a record whose object is gone is dropped and that shard encoded again; the rest is still found', async () => {
  const store = new LocalObjectStore(join(dir, 'stale'));
  const a = await build(store, request('a'));
  const lost = a.m.shards[1]!;
  await store.delete(lost.embeddingsKey);
  const b = await build(store, request('b'));
  assert.equal(b.encoded, lost.passages, 'only the shard whose embeddings were lost is encoded');
  assert.equal(b.m.build.work?.passagesEncoded, lost.passages);
  assert.equal(b.m.build.work?.passagesFound, a.m.passages - lost.passages);
  assert.equal(b.m.shards[1]!.embeddingsSha256, lost.embeddingsSha256, 'the same bytes again');
  // The record for that shard now names the build that redid it.
  const encodeMarker = await readMarker(store, new SnapshotLayout('b').encodeMarker(1), encodeMarkerSchema);
  const raw = JSON.parse((await store.get(workKey('encode', encodeMarker!.inputsSha256))).toString('utf8'));
  assert.equal(raw.madeBy, 'b');
});

test('a damaged object is not served from a record: its sha256 is checked', async () => {
  const store = new LocalObjectStore(join(dir, 'damaged'));
  const a = await build(store, request('a', { kind: 'flat' }));
  const s0 = a.m.shards[0]!;
  const bytes = await store.get(s0.embeddingsKey);
  bytes[0]! ^= 0xff;
  await store.put(s0.embeddingsKey, bytes);
  const b = await build(store, request('b', { kind: 'flat' }));
  assert.equal(b.encoded, s0.passages);
  assert.equal(b.m.shards[0]!.embeddingsSha256, s0.embeddingsSha256, 're-encoded to the right bytes (and the object rewritten)');
  assert.equal(b.m.build.work?.shardsEncodeFound, a.m.shards.length - 1);
});

test('part jobs of a split shard skip work already found; the shard job takes it', async () => {
  const store = new LocalObjectStore(join(dir, 'parts'));
  const a = await build(store, request('a', { kind: 'flat' }));
  const req = request('split', { kind: 'flat', encodePart: 8 });
  const ingest = await runIngest(req, { store, logger });
  const job = { v: PAYLOAD_VERSION, snapshotId: 'split', encoderDir: STATIC, index: req.index, shard: 0, encodeParts: 2 } as const;
  encodedCalls = 0;
  for (const part of [0, 1]) {
    const m = await runEncodePart({ ...job, part }, { store, encoder, logger });
    assert.equal(m.rows, 0, `part ${part} encodes nothing`);
  }
  const merged = await runEncode(job, { store, encoder, logger });
  assert.equal(encodedCalls, 0);
  assert.equal(merged.foundIn, 'a');
  assert.equal(merged.sha256, a.m.shards[0]!.embeddingsSha256);
  assert.equal(merged.vectors, ingest.shards[0]!.passages);
});

test('gc drops the records of work whose objects it frees, and keeps the others', async () => {
  const store = new LocalObjectStore(join(dir, 'gc'));
  await build(store, request('a', { kind: 'flat' }));
  await build(store, request('b', { kind: 'flat' }));
  const records = await store.list(WORK_PREFIX);
  assert.ok(records.length >= 6, `encode and index records for every shard (${records.length})`);
  const aliases = new AliasRegistry({ store, logger });
  try {
    // b still holds every object a made: nothing is freed, no record goes.
    await removeSnapshot(store, aliases, 'a');
    const kept = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
    assert.equal(kept.workEntriesDropped, 0);
    assert.deepEqual(await store.list(WORK_PREFIX), records);
    await removeSnapshot(store, aliases, 'b');
  } finally {
    await aliases.close();
  }
  const dry = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: true });
  assert.equal(dry.workEntriesDropped, records.length, 'a dry run counts them');
  assert.equal((await store.list(WORK_PREFIX)).length, records.length, 'and deletes nothing');
  const r = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  assert.equal(r.workEntriesDropped, records.length);
  assert.deepEqual(await store.list(WORK_PREFIX), []);
  // With its records gone, the next build encodes again (nothing stale is trusted).
  const c = await build(store, request('c', { kind: 'flat' }));
  assert.equal(c.encoded, c.m.passages);
});

test('work found in a gap before gc runs survives it: taking it renews the grace period of its object', async () => {
  const root = join(dir, 'gap');
  const store = new LocalObjectStore(root);
  const a = await build(store, request('a', { kind: 'flat' }));
  const aliases = new AliasRegistry({ store, logger });
  try {
    await removeSnapshot(store, aliases, 'a');
  } finally {
    await aliases.close();
  }
  // Everything a made is two days old and no snapshot holds it: gc would free all of it.
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  for (const k of await store.list('objects/')) utimesSync(join(root, k), old, old);
  // gc's first pass, a day and an hour ago, found all of it unreferenced already (gc deletes on the second).
  const first = await collectGarbage(store, { graceMs: DEFAULT_GC_GRACE_MS, abandonedAfterMs: 1e12, dryRun: false, now: Date.now() - 25 * 3600 * 1000 });
  assert.equal(first.deleted, 0, 'a first pass deletes nothing');
  // Another build takes one shard's embeddings (its first storage step), then gc runs before that build's marker names them.
  const record = JSON.parse((await store.get((await store.list('work/encode/'))[0]!)).toString('utf8'));
  const found = await findWork(store, 'encode', record.inputsSha256, encodeMarkerSchema, (m) => [{ key: m.key, sha256: m.sha256, kind: 'embeddings' }]);
  assert.equal(found?.key, record.key, 'the record is found');
  const gc = await collectGarbage(store, { graceMs: DEFAULT_GC_GRACE_MS, abandonedAfterMs: 1e12, dryRun: false });
  assert.ok(await store.exists(record.key), 'the embeddings just taken are kept');
  // What nobody took is freed (another shard's embeddings, as old and as unreferenced).
  const other = a.m.shards.find((sh) => sh.embeddingsKey !== record.key)!;
  assert.ok(gc.deletedKeys.includes(other.embeddingsKey) && !(await store.exists(other.embeddingsKey)));
});