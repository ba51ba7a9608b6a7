// Serving a snapshot from an S3-API server (s3rver on loopback) through the local disk cache: once the
// snapshot is loaded, questions make no object-store request at all, and their answers are those of the
// same snapshot read from local storage. Real FAISS, the static encoder, the pipeline's own stages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { CountingObjectStore, LocalObjectStore, ObjectCache, S3ObjectStore, startS3DevServer, type S3DevServer } from '@rag/storage';
import { PAYLOAD_VERSION, runBuildInProcess, type BuildRequest } from '@rag/pipeline';
import { SnapshotRetriever } from './snapshot-retriever.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let encoder: Encoder;
let server: S3DevServer;
let s3: S3ObjectStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-remote-'));
  encoder = await loadEncoder({ dir: STATIC });
  server = await startS3DevServer({ port: 0, dir: join(dir, 's3rver'), buckets: ['serve'] });
  s3 = new S3ObjectStore({ bucket: 'serve', prefix: `t-${randomUUID()}`, endpoint: server.endpoint, region: 'us-east-1', multipartMb: 5, credentials: server.credentials });
});
after(async () => {
  await encoder.release();
  await s3.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const WORDS = 'volcano magma glacier honeybee violin comet harbour railway orchestra treaty museum library engine lighthouse chess bread orchid coral submarine festival'.split(' ');

test('after loading through the disk cache, questions cost no object-store request; answers equal local storage\'s', async () => {
  const path = join(dir, 'corpus.jsonl');
  let x = 5;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  writeFileSync(path, Array.from({ length: 3_000 }, (_, d) => JSON.stringify({ id: `d${d}`, title: `Doc ${d}`, text: Array.from({ length: 30 }, () => WORDS[next() % WORDS.length]).join(' ') })).join('\n') + '\n');
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: 'remote', source: { path, format: 'jsonl' }, shardSize: 700, wordsPerPassage: 30, index: { kind: 'ivfpq', params: { pqBits: 5 } }, encoderDir: STATIC, requestedAt: new Date().toISOString() };
  const m = (await runBuildInProcess(req, { store: s3, encoder, logger }))!;
  assert.equal(m.shards.length, 5);
  assert.ok(m.quantizer);
  // The same objects on local storage, as a baseline.
  const local = new LocalObjectStore(join(dir, 'local'));
  for (const key of await s3.list('')) await local.put(key, await s3.get(key));

  const counted = new CountingObjectStore(s3);
  const cache = new ObjectCache(counted, { dir: join(dir, 'cache'), maxBytes: 1 << 30 });
  const remote = await SnapshotRetriever.load(counted, 'remote', { objectCache: cache });
  const loadReads = counted.reads;
  assert.equal(cache.stats.fills, 2 * m.shards.length, 'embeddings and passages of every shard copied while loading');
  const texts: string[] = [];
  for await (const p of SnapshotRetriever.readPassages(local, m)) if (texts.length < 64) texts.push(p.text.split(' ').slice(0, 10).join(' '));
  const got = await remote.search(encoder, texts, 10);
  for (let i = 0; i < 3; i++) await remote.search(encoder, texts.slice(i * 20, i * 20 + 20), 10);
  assert.equal(counted.reads - loadReads, 0, `object-store reads for ${texts.length + 60} questions`);
  const want = await (await SnapshotRetriever.load(local, 'remote')).search(encoder, texts, 10);
  assert.deepEqual(got.map((h) => h.map((x) => [x.id, x.score.toFixed(5)])), want.map((h) => h.map((x) => [x.id, x.score.toFixed(5)])));

  // A second process on the same cache directory: verified copies, no object GET of the embeddings or passages.
  const again = new CountingObjectStore(s3);
  const cache2 = new ObjectCache(again, { dir: join(dir, 'cache'), maxBytes: 1 << 30 });
  await SnapshotRetriever.load(again, 'remote', { objectCache: cache2 });
  assert.deepEqual([cache2.stats.fills, cache2.stats.hits], [0, 2 * m.shards.length]);
  remote.release();
});
