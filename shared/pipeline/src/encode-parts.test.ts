// A shard split into encode part jobs comes out byte-identical to one encode job: full and incremental
// builds, an int8 encoder (one text per call) and an fp32 one (batched), parts run in any order, resume.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotLayout } from '@rag/snapshot';
import { runIngest } from './ingest-stage.js';
import { partRows, runEncode, runEncodePart } from './encode-stage.js';
import { runIndex } from './index-stage.js';
import { runPublish } from './publish-stage.js';
import { encodePartsFor } from './build-flow.js';
import { PAYLOAD_VERSION, type BuildRequest, type EncodeMarker, type ShardJob } from './job-payloads.schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const logger = createLogger({ service: 'test', level: 'silent' });
/** Small chunks, so that a shard has many and parts split it at several chunk boundaries. */
const CHUNK = 8;

let dir: string;
let minilm: Encoder;
let staticEnc: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-encode-parts-'));
  minilm = await loadEncoder({ dir: join(REPO, 'models/all-MiniLM-L6-v2'), intraOpThreads: 1 });
  // fp32 and batched (4 texts per call): its vectors would show any change in how batches are formed.
  staticEnc = await loadEncoder({ dir: join(REPO, 'models/minilm-static-256'), intraOpThreads: 1, batchSize: 4 });
});
after(async () => {
  await minilm.release();
  await staticEnc.release();
  rmSync(dir, { recursive: true, force: true });
});

const WORDS = ['river', 'delta', 'granite', 'orchestra', 'violin', 'harbour', 'comet', 'glacier', 'bakery', 'railway', 'parliament', 'volcano'];

/** 30 documents of 1-5 passages of 12 words: passages of several lengths in every shard. */
function writeCorpus(name: string, edit = false): string {
  const docs = Array.from({ length: 30 }, (_, d) => {
    const n = 12 * (1 + (d % 5)) - (d % 3);
    let text = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? `w${d}x${i}` : WORDS[(i * 7 + d) % WORDS.length])).join(' ');
    if (edit && d % 4 === 0) text = `edited ${text}`;
    return { id: `doc${d}`, title: `Doc ${d}`, text };
  });
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
}

function request(id: string, path: string, encoderDir: string, base?: string): BuildRequest {
  return {
    v: PAYLOAD_VERSION,
    snapshotId: id,
    source: { path, format: 'jsonl' },
    shardSize: 48,
    wordsPerPassage: 12,
    index: { kind: 'flat', params: {} },
    encoderDir,
    ...(base ? { base } : {}),
    requestedAt: new Date().toISOString(),
  };
}

/** Ingest, encode every shard (one job, or `parts` part jobs run last-first and a merge), index, publish. */
async function build(store: LocalObjectStore, req: BuildRequest, encoder: Encoder, parts: number): Promise<EncodeMarker[]> {
  const ingest = await runIngest(req, { store, logger });
  const markers: EncodeMarker[] = [];
  for (const s of ingest.shards) {
    if (s.kept) continue;
    const job: ShardJob = { v: PAYLOAD_VERSION, snapshotId: req.snapshotId, shard: s.shard, encoderDir: req.encoderDir, index: req.index, ...(parts > 1 ? { encodeParts: parts } : {}) };
    for (let p = parts - 1; parts > 1 && p >= 0; p--) await runEncodePart({ ...job, part: p }, { store, encoder, logger, chunk: CHUNK });
    markers.push(await runEncode(job, { store, encoder, logger, chunk: CHUNK }));
    await runIndex(job, { store, logger });
  }
  await runPublish(req, { store, logger });
  return markers;
}

function sameEmbeddings(a: EncodeMarker[], b: EncodeMarker[], what: string): void {
  assert.ok(a.length > 1, `${what}: more than one shard`);
  assert.deepEqual(b.map((m) => [m.shard, m.key, m.sha256, m.vectors, m.encoded, m.reused]), a.map((m) => [m.shard, m.key, m.sha256, m.vectors, m.encoded, m.reused]), what);
}

for (const [name, enc] of [['int8 MiniLM', () => minilm], ['fp32 static, batched', () => staticEnc]] as const) {
  test(`split encode jobs give the same embeddings bytes as one job (${name}), full and incremental builds`, async () => {
    const encoder = enc();
    const v1 = writeCorpus(`${name}-v1.jsonl`);
    const v2 = writeCorpus(`${name}-v2.jsonl`, true);
    const one = new LocalObjectStore(join(dir, `${name}-one`));
    const split = new LocalObjectStore(join(dir, `${name}-split`));
    const a1 = await build(one, request('night-1', v1, encoder.settings.dir), encoder, 1);
    const b1 = await build(split, request('night-1', v1, encoder.settings.dir), encoder, 3);
    sameEmbeddings(a1, b1, 'full build');
    // Night 2 reuses the unchanged passages' vectors from night 1: parts encode only the rest.
    const a2 = await build(one, request('night-2', v2, encoder.settings.dir, 'night-1'), encoder, 1);
    const b2 = await build(split, request('night-2', v2, encoder.settings.dir, 'night-1'), encoder, 3);
    assert.ok(a2.some((m) => m.reused > 0 && m.encoded > 0), 'night 2 both reuses and encodes rows');
    sameEmbeddings(a2, b2, 'incremental build');
  });
}

test('a finished part is not encoded again; a missing or foreign part stops the merge with a clear error', async () => {
  const store = new LocalObjectStore(join(dir, 'resume'));
  const req = request('resume', writeCorpus('resume.jsonl'), staticEnc.settings.dir);
  await runIngest(req, { store, logger });
  const job: ShardJob = { v: PAYLOAD_VERSION, snapshotId: 'resume', shard: 0, encoderDir: req.encoderDir, index: req.index, encodeParts: 3 };
  const first = await runEncodePart({ ...job, part: 0 }, { store, encoder: staticEnc, logger, chunk: CHUNK });
  assert.ok(first.rows > 0);
  let calls = 0;
  const again = await runEncodePart({ ...job, part: 0 }, { store, encoder: staticEnc, logger, chunk: CHUNK, onProgress: () => void calls++ });
  assert.equal(again.finishedAt, first.finishedAt, 'the marker was kept, not rewritten');
  assert.equal(calls, 1, 'one progress report, for the skipped part');
  await runEncodePart({ ...job, part: 2 }, { store, encoder: staticEnc, logger, chunk: CHUNK });
  await assert.rejects(runEncode(job, { store, encoder: staticEnc, logger, chunk: CHUNK }), (e: Error & { code?: string }) => e.code === 'SHARD_INTEGRITY' && /encode part 1 of shard 0 is missing/.test(e.message));
  // Part 1 made for another split (2 parts) does not pass for part 1 of 3.
  await runEncodePart({ ...job, encodeParts: 2, part: 1 }, { store, encoder: staticEnc, logger, chunk: CHUNK });
  await assert.rejects(runEncode(job, { store, encoder: staticEnc, logger, chunk: CHUNK }), /encode part 1 of shard 0 was made from other inputs/);
  await runEncodePart({ ...job, part: 1 }, { store, encoder: staticEnc, logger, chunk: CHUNK });
  const merged = await runEncode(job, { store, encoder: staticEnc, logger, chunk: CHUNK });
  assert.equal(merged.vectors, merged.encoded);
  assert.ok(await store.exists(new SnapshotLayout('resume').encodeMarker(0)));
});

test('parts split the to-do rows at chunk boundaries, covering each row once', () => {
  const todo = Array.from({ length: 45 }, (_, i) => i * 2);
  for (const parts of [1, 2, 3, 7, 10]) {
    const all = Array.from({ length: parts }, (_, p) => partRows(todo, CHUNK, p, parts));
    assert.deepEqual(all.flat(), todo, `${parts} parts`);
    for (const rows of all.slice(0, -1)) assert.equal(rows.length % CHUNK, 0, 'only the last part ends off a chunk boundary');
  }
  assert.equal(encodePartsFor(2000, 500), 4);
  assert.equal(encodePartsFor(2001, 500), 5);
  assert.equal(encodePartsFor(300, 500), 1);
  assert.equal(encodePartsFor(2000, undefined), 1);
});

test('a part reads only its rows of the shard (one range read through the offsets) and refuses an altered row', async () => {
  const store = new LocalObjectStore(join(dir, 'ranges'));
  const req = request('ranges', writeCorpus('ranges.jsonl'), staticEnc.settings.dir);
  const ingest = await runIngest(req, { store, logger });
  const entry = ingest.shards[0]!;
  assert.ok(entry.offsets, 'new shards carry row offsets');
  const job: ShardJob = { v: PAYLOAD_VERSION, snapshotId: 'ranges', shard: 0, encoderDir: req.encoderDir, index: req.index, encodeParts: 3 };
  // Count what the store hands out while part 1 runs.
  const read = { whole: 0, rangeBytes: 0 };
  const spy = Object.create(store) as LocalObjectStore;
  spy.get = async (key: string) => { if (key === entry.key) read.whole++; return store.get(key); };
  spy.getRange = async (key: string, start: number, end: number) => { if (key === entry.key) read.rangeBytes += end - start; return store.getRange(key, start, end); };
  const m = await runEncodePart({ ...job, part: 1 }, { store: spy, encoder: staticEnc, logger, chunk: CHUNK });
  assert.equal(read.whole, 0, 'the whole passages object was not read');
  assert.ok(read.rangeBytes > 0 && read.rangeBytes < entry.bytes! / 2, `part 1 of 3 read ${read.rangeBytes} of ${entry.bytes} bytes`);
  assert.ok(m.rows > 0);
  // One character of a row of part 2 changed, same length: that row no longer matches its hash.
  const raw = await store.get(entry.key);
  const off = (await store.get(entry.offsets!.key)).readUInt32LE((entry.passages - 2) * 4);
  const bad = Buffer.from(raw);
  const at = bad.indexOf('"text":"', off) + 8;
  bad[at] = bad[at] === 0x61 ? 0x62 : 0x61;
  await store.put(entry.key, bad);
  await assert.rejects(runEncodePart({ ...job, part: 2 }, { store, encoder: staticEnc, logger, chunk: CHUNK }), (e: Error & { code?: string }) => e.code === 'SHARD_INTEGRITY' && /does not match its passage hash/.test(e.message));
});
