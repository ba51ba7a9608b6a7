// The acceptance check on real data: the 2016 enwiki sample built with 2 workers, on local
// storage (the shared enwiki-night-1 fixture is exactly that build, through the CLI) and on S3 (a real
// S3-API server on loopback; the static encoder, since storage is what that test is about).
// test-tier: full
// test-lane: serial
// test-fixtures: enwiki-night-1
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@rag/config';
import { createObjectStore, startS3DevServer } from '@rag/storage';
import { loadEncoder } from '@rag/encoder';
import { SnapshotRetriever } from '@rag/retrieval';
import type { Passage } from '@rag/corpus';
import { runRag, ENWIKI, REPO } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { copyFixture } from './helpers/shared-fixtures.js';

const haveDump = existsSync(ENWIKI);
const dir = tempDir('enwiki');
after(() => dir.cleanup());
const MINILM = join(REPO, 'models/all-MiniLM-L6-v2');
const STATIC = join(REPO, 'models/minilm-static-256');
/** Passages of the 2016 sample (206 pages, 100-word passages with titles): the same for every shard size. */
const SAMPLE_PASSAGES = 4424;

async function checkSnapshot(env: Record<string, string>, id: string, encoderDir: string) {
  const show = await runRag(['snapshot', 'show', id, '--json'], env);
  assert.equal(show.code, 0, show.stderr);
  const m = JSON.parse(show.stdout);
  assert.equal(m.vectors, m.passages);

  // 50 passages spread over the snapshot: searching a passage's own text must return it first.
  const config = loadConfig({ ...env, RAG_HOME: join(dir.path, 'home') });
  // In-process, the AWS chain reads process.env, not `env`: hand the test server's keys over explicitly.
  const store = createObjectStore(config.storage, env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } } : {});
  const retriever = await SnapshotRetriever.load(store, id);
  const encoder = await loadEncoder({ dir: encoderDir, executionProvider: 'cpu', intraOpThreads: 0, batchSize: 32 });
  try {
    const all: Passage[] = [];
    for await (const p of SnapshotRetriever.readPassages(store, m)) all.push(p);
    assert.equal(all.length, m.passages);
    assert.equal(new Set(all.map((p) => p.id)).size, all.length, 'passage ids are unique');
    const step = Math.floor(all.length / 50);
    const sample = Array.from({ length: 50 }, (_, i) => all[i * step]!);
    const hits = await retriever.search(encoder, sample.map((p) => p.text), 1);
    const firstHits = sample.filter((p, i) => hits[i]![0]!.id === p.id).length;
    assert.ok(firstHits >= 48, `own-text search ranked the passage first for ${firstHits}/50`);
  } finally {
    await encoder.release();
  }

  const q = await runRag(['search', '--snapshot', id, '--encoder', encoderDir, '--query', 'What is albedo?', '--k', '5', '--json'], env);
  assert.equal(q.code, 0, q.stderr);
  const hits = JSON.parse(q.stdout);
  assert.equal(hits[0].title, 'Albedo');
  return m;
}

test('enwiki 2016 sample → snapshot on local storage with 2 workers', { skip: !haveDump && 'shared/data dump absent' }, async () => {
  const env = await copyFixture('enwiki-night-1', join(dir.path, 'local'));
  const m = await checkSnapshot({ RAG_STORAGE: env.RAG_STORAGE, RAG_HOME: join(dir.path, 'home') }, 'enwiki-2016', MINILM);
  assert.equal(m.passages, SAMPLE_PASSAGES);
  assert.equal(m.source.format, 'wikixml');
  assert.equal(m.encoder.name, 'all-MiniLM-L6-v2');
  assert.equal(m.shards.length, Math.ceil(SAMPLE_PASSAGES / 500));
  assert.deepEqual(m.shards.map((s: { passages: number }) => s.passages), [...Array(8).fill(500), SAMPLE_PASSAGES - 8 * 500]);
});

test('enwiki 2016 sample → snapshot on S3 (s3rver on loopback), then the next night incrementally, rm and gc', { skip: !haveDump && 'shared/data dump absent', timeout: 900_000 }, async () => {
  const s3 = await startS3DevServer({ port: 0, dir: join(dir.path, 's3'), buckets: ['snapshots-test'], silent: true });
  try {
    const env = {
      RAG_STORAGE: 's3://snapshots-test/nightly',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      RAG_HOME: join(dir.path, 'home-s3'),
    };
    const r = await runRag(['snapshot', 'build', '--source', ENWIKI, '--snapshot', 'enwiki-2016', '--encoder', STATIC, '--workers', '2', '--shard-size', '1000', '--index', 'hnsw', '--no-progress'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes('S3RVER'), 'credentials never printed');
    const m = await checkSnapshot(env, 'enwiki-2016', STATIC);
    assert.equal(m.passages, SAMPLE_PASSAGES);
    assert.equal(m.shards.length, Math.ceil(SAMPLE_PASSAGES / 1000));
    assert.equal(m.index.kind, 'hnsw');
    assert.ok(m.shards.every((s: { index: { kind: string } }) => s.index.kind === 'hnsw'), 'each shard records its index');

    // The next night, incrementally, on S3: content-addressed objects shared, gc frees the old night's rest.
    const night2 = join(dir.path, 'night-2.xml.bz2');
    assert.equal((await runRag(['dev', 'next-night', '--source', ENWIKI, '--out', night2, '--seed', '7'], env)).code, 0);
    const inc = await runRag(['snapshot', 'build', '--source', night2, '--snapshot', 'enwiki-2016-n2', '--base', 'enwiki-2016', '--encoder', STATIC, '--workers', '2', '--shard-size', '1000', '--index', 'hnsw', '--no-progress', '--json'], env);
    assert.equal(inc.code, 0, inc.stderr);
    const m2 = JSON.parse(inc.stdout);
    assert.equal(m2.base.passagesReused + m2.base.passagesEncoded, m2.passages);
    assert.ok(m2.base.shardsReused >= 2 && m2.base.passagesEncoded > 0 && m2.base.passagesEncoded < 0.05 * m2.passages, JSON.stringify(m2.base));
    await checkSnapshot(env, 'enwiki-2016-n2', STATIC);
    const diff = JSON.parse((await runRag(['snapshot', 'diff', 'enwiki-2016', 'enwiki-2016-n2', '--json'], env)).stdout);
    assert.ok(diff.bytes.shared > 0.8 * diff.bytes.b, JSON.stringify(diff.bytes));
    assert.equal((await runRag(['snapshot', 'rm', 'enwiki-2016'], env)).code, 0);
    const gc = await runRag(['snapshot', 'gc', '--grace', '0', '--json'], env);
    assert.equal(gc.code, 0, gc.stderr);
    assert.ok(JSON.parse(gc.stdout).deleted > 0);
    await checkSnapshot(env, 'enwiki-2016-n2', STATIC);
  } finally {
    await s3.close();
  }
});
