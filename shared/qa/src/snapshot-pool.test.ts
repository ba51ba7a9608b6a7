// A generation worker's snapshot pool releases what it stopped serving: after each alias flip the
// old snapshot's FAISS indexes are freed once its last chunk is done. Real FAISS, real storage.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { PAYLOAD_VERSION, runEncode, runIndex, runIngest, runPublish, type BuildRequest } from '@rag/pipeline';
import { AliasRegistry, type LiveSnapshot } from '@rag/registry';
import type { SnapshotRetriever } from '@rag/retrieval';
import { SnapshotPool } from './snapshot-pool.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let encoder: Encoder;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-pool-'));
  encoder = await loadEncoder({ dir: STATIC });
});
after(async () => {
  await encoder.release();
  rmSync(dir, { recursive: true, force: true });
});

async function build(store: LocalObjectStore, id: string, docs: number): Promise<void> {
  const path = join(dir, `${id}.jsonl`);
  writeFileSync(path, Array.from({ length: docs }, (_, d) => JSON.stringify({ id: `${id}-${d}`, title: `Doc ${d}`, text: `passage ${d} of ${id} about harbours and railways number ${d}` })).join('\n') + '\n');
  const index = { kind: 'flat', params: {} } as const;
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: id, source: { path, format: 'jsonl' }, shardSize: 20, wordsPerPassage: 30, index, encoderDir: STATIC, requestedAt: new Date().toISOString() };
  const ingest = await runIngest(req, { store, logger });
  for (const s of ingest.shards) {
    const job = { v: PAYLOAD_VERSION, snapshotId: id, shard: s.shard, encoderDir: STATIC, index } as const;
    await runEncode(job, { store, encoder, logger });
    await runIndex(job, { store, logger });
  }
  await runPublish(req, { store, logger });
}

test('20 alias flips: every snapshot the pool stopped serving is released, at most the current one stays loaded', async () => {
  const store = new LocalObjectStore(join(dir, 'store'));
  await build(store, 'snap-a', 50);
  await build(store, 'snap-b', 60);
  const aliases = new AliasRegistry({ store });
  await aliases.set('prod', 'snap-a');
  let live: LiveSnapshot<SnapshotRetriever> | undefined;
  const pool = new SnapshotPool({ store, aliases, logger, pollMs: 0, onFollow: (l) => { live = l; } });
  const q = await encoder.encodeQueries(['harbours']);
  const old: SnapshotRetriever[] = [];
  try {
    for (let flip = 0; flip <= 20; flip++) {
      const lease = await pool.acquire('prod');
      assert.equal(lease.snapshot, flip % 2 ? 'snap-b' : 'snap-a');
      assert.equal((await lease.value.searchVectors(q, 1, 3))[0]!.length, 3);
      old.push(lease.value);
      lease.release();
      await aliases.set('prod', flip % 2 ? 'snap-a' : 'snap-b');
      await live!.refresh();
      // Unloading runs once the last lease is gone; let it finish.
      for (let i = 0; i < 100 && live!.status().loaded.length > 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(live!.status().loaded.map((l) => l.snapshot), [flip % 2 ? 'snap-a' : 'snap-b'], `after flip ${flip + 1}`);
    }
    for (const r of old) await assert.rejects(r.searchVectors(q, 1, 3), /released/, 'a snapshot no longer served has freed its FAISS indexes');
  } finally {
    await pool.close();
  }
});
