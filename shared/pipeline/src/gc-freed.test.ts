// snapshot gc splits what it frees: objects only a removed snapshot held, by snapshot, apart from
// leftovers of earlier builds (encode parts, multistream ranges), by kind. Real static encoder, real
// FAISS, the real stage functions, a local object store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { REMOVED_PREFIX, SnapshotLayout, collectGarbage, contentKeysIn, putContent } from '@rag/snapshot';
import { AliasRegistry, removeSnapshot } from '@rag/registry';
import { runBuildInProcess } from './build-in-process.js';
import { PAYLOAD_VERSION, type BuildRequest } from './job-payloads.schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });

let dir: string;
let encoder: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-gc-freed-'));
  encoder = await loadEncoder({ dir: STATIC });
});
after(async () => {
  await encoder.release();
  rmSync(dir, { recursive: true, force: true });
});

function corpus(name: string, docs: number, salt: string): string {
  const path = join(dir, name);
  const words = ['harbour', 'lantern', 'orchard', 'quarry', 'meadow', 'falcon', 'copper', 'river'];
  const lines = Array.from({ length: docs }, (_, d) => JSON.stringify({
    id: `doc${d}`, title: `Page ${d}`,
    // Pages 0-11 are the same in both corpora; later ones carry the corpus's salt.
    text: Array.from({ length: 40 }, (_, i) => (i % 6 === 0 ? `${d < 12 ? 'x' : salt}${d}w${i}` : words[(i * 5 + d) % words.length])).join(' '),
  }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function request(id: string, path: string): BuildRequest {
  return { v: PAYLOAD_VERSION, snapshotId: id, source: { path, format: 'jsonl' }, shardSize: 12, wordsPerPassage: 20, index: { kind: 'flat', params: {} }, encoderDir: STATIC, requestedAt: new Date().toISOString() };
}

test('gc --dry-run says which bytes a removed snapshot alone held and which earlier builds left over', async () => {
  const store = new LocalObjectStore(join(dir, 'store'));
  await runBuildInProcess(request('keep', corpus('keep.jsonl', 24, 'k')), { store, encoder, logger });
  await runBuildInProcess(request('gone', corpus('gone.jsonl', 24, 'g')), { store, encoder, logger });
  const keysOf = async (id: string) => new Set(contentKeysIn((await store.get(new SnapshotLayout(id).manifest)).toString('utf8')));
  const kept = await keysOf('keep');
  const onlyGone = [...(await keysOf('gone'))].filter((k) => !kept.has(k));
  assert.ok(onlyGone.length > 0 && onlyGone.length < (await keysOf('gone')).size, 'gone shares some objects with keep, not all');
  const bytesOf = async (keys: string[]) => (await Promise.all(keys.map((k) => store.head(k)))).reduce((n, i) => n + i!.size, 0);
  // What an interrupted multistream build and a split encode leave behind.
  const part = await putContent(store, randomBytes(4096), 'embeddings');
  const range = await putContent(store, randomBytes(1000), 'range');

  const aliases = new AliasRegistry({ store, logger });
  try {
    await removeSnapshot(store, aliases, 'gone');
  } finally {
    await aliases.close();
  }
  assert.equal((await store.list(REMOVED_PREFIX)).length, 1, 'rm records what the snapshot held');
  const dry = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: true });
  assert.deepEqual(dry.freed.removed, { gone: { objects: onlyGone.length, bytes: await bytesOf(onlyGone) } });
  assert.deepEqual(dry.freed.leftovers, {
    objects: 2, bytes: part.bytes + range.bytes,
    byKind: { f32: { objects: 1, bytes: part.bytes }, 'range.jsonl': { objects: 1, bytes: range.bytes } },
  });
  assert.equal(dry.bytesFreed, (await bytesOf(onlyGone)) + part.bytes + range.bytes);

  const real = await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  assert.deepEqual(real.freed, dry.freed);
  assert.deepEqual(await store.list(REMOVED_PREFIX), [], 'the record goes once its objects are freed');
  for (const k of kept) assert.ok(await store.exists(k), `${k} of the kept snapshot stays`);
});
