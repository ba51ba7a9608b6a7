// Multistream dumps ingested by several range jobs: the snapshot is byte-identical to a one-job
// ingest (shards, passage ids, page table), with the index file or by scanning, on a --base
// build, after a resume, from an s3:// source; a corrupt stream fails with its byte range named.
// test-tier: full
// test-lane: serial
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { makeMultistreamDump, makeNextNight } from '@rag/corpus';
import { startEmbeddedRedis } from '@rag/queue';
import { S3ObjectStore, startS3DevServer, type S3DevServer } from '@rag/storage';
import { runRag, startRag, collect, ENWIKI, REPO } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';

const haveDump = existsSync(ENWIKI);
const skip = !haveDump && 'shared/data dump absent';
const dir = tempDir('multistream');
const dump = join(dir.path, 'enwiki-20160101-pages-articles-multistream.xml.bz2');
const encoder = join(REPO, 'models/minilm-static-256');
const home = join(dir.path, 'home');
after(() => dir.cleanup());
before(async () => {
  if (haveDump) await makeMultistreamDump(ENWIKI, dump, { pagesPerStream: 10 });
});

const storeOf = (name: string) => join(dir.path, `store-${name}`);

async function build(name: string, source: string, jobs: number, extra: string[] = [], env: Record<string, string> = {}) {
  return runRag(['snapshot', 'build', '--source', source, '--snapshot', name, '--workers', '2', '--ingest-jobs', String(jobs),
    '--encoder', encoder, '--shard-size', '500', '--no-progress', ...extra], { RAG_STORAGE: storeOf(name), RAG_HOME: home, ...env });
}

function manifest(name: string) {
  return JSON.parse(readFileSync(join(storeOf(name), 'snapshots', name, 'manifest.json'), 'utf8'));
}

function buildMarker(name: string, file: string) {
  return JSON.parse(readFileSync(join(storeOf(name), 'snapshots', name, '_build', file), 'utf8'));
}

async function passageIds(name: string): Promise<string[]> {
  const r = await runRag(['snapshot', 'passages', name], { RAG_STORAGE: storeOf(name), RAG_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l).id);
}

function assertSameSnapshot(a: string, b: string) {
  const ma = manifest(a);
  const mb = manifest(b);
  assert.ok(ma.shards.length >= 5, 'several shards');
  assert.deepEqual(mb.shards.map((s: { passagesSha256: string }) => s.passagesSha256), ma.shards.map((s: { passagesSha256: string }) => s.passagesSha256), 'shard bytes');
  assert.deepEqual(mb.shards.map((s: { sha256: string }) => s.sha256), ma.shards.map((s: { sha256: string }) => s.sha256), 'indexes');
  assert.equal(mb.pages.sha256, ma.pages.sha256, 'page table');
  assert.equal(mb.passages, ma.passages);
  assert.equal(mb.source.sha256, ma.source.sha256, 'the source is named by the sha256 of the whole file either way');
}

test('2 range jobs (index beside the dump) and 3 (scanned) give the snapshot of one job', { skip }, async () => {
  const one = await build('ms-j1', dump, 1);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(!existsSync(join(storeOf('ms-j1'), 'snapshots/ms-j1/_build/ingest-plan.json')), 'one job: no plan');
  const two = await build('ms-j2', dump, 2);
  assert.equal(two.code, 0, two.stderr);
  const plan = buildMarker('ms-j2', 'ingest-plan.json');
  assert.equal(plan.ranges.length, 2);
  assert.equal(plan.boundaries, 'index');
  assertSameSnapshot('ms-j1', 'ms-j2');
  assert.deepEqual(await passageIds('ms-j2'), await passageIds('ms-j1'), 'passage ids, in order');

  // No index beside it: stream starts are scanned for.
  const bare = join(dir.path, 'bare.xml.bz2');
  copyFileSync(dump, bare);
  const three = await build('ms-j3', bare, 3);
  assert.equal(three.code, 0, three.stderr);
  const plan3 = buildMarker('ms-j3', 'ingest-plan.json');
  assert.equal(plan3.ranges.length, 3);
  assert.equal(plan3.boundaries, 'scan');
  assertSameSnapshot('ms-j1', 'ms-j3');
});

test('a killed range is redone on resume, finished ranges are kept', { skip }, async () => {
  const bad = join(dir.path, 'bad-encoder');
  const { cpSync } = await import('node:fs');
  cpSync(encoder, bad, { recursive: true });
  writeFileSync(join(bad, 'model.onnx'), 'not a model');
  const r1 = await runRag(['snapshot', 'build', '--source', dump, '--snapshot', 'ms-resume', '--workers', '2', '--ingest-jobs', '2', '--encoder', bad, '--shard-size', '500', '--no-progress'],
    { RAG_STORAGE: storeOf('ms-resume'), RAG_HOME: home });
  assert.notEqual(r1.code, 0, 'encode fails');
  const range0 = buildMarker('ms-resume', 'ingest-range-00000.json');
  // As if the build had died during range 1 (kill -9): its marker and the merge's are gone.
  rmSync(join(storeOf('ms-resume'), 'snapshots/ms-resume/_build/ingest-range-00001.json'));
  rmSync(join(storeOf('ms-resume'), 'snapshots/ms-resume/_build/ingest.json'));
  const r2 = await build('ms-resume', dump, 2);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(buildMarker('ms-resume', 'ingest-range-00000.json').finishedAt, range0.finishedAt, 'range 0 not redone');
  assert.ok(existsSync(join(storeOf('ms-resume'), 'snapshots/ms-resume/_build/ingest-range-00001.json')), 'range 1 redone');
  assertSameSnapshot('ms-j1', 'ms-resume');
});

test('a corrupt stream fails the build with the byte range named, and publishes nothing', { skip }, async () => {
  const plan = buildMarker('ms-j2', 'ingest-plan.json');
  const r = plan.ranges[1];
  const bytes = readFileSync(dump);
  bytes[r.start + Math.floor((r.end - r.start) / 2)]! ^= 0x5a;
  const broken = join(dir.path, 'broken-pages-articles-multistream.xml.bz2');
  writeFileSync(broken, bytes);
  copyFileSync(dump.replace(/\.xml\.bz2$/, '-index.txt.bz2'), broken.replace(/\.xml\.bz2$/, '-index.txt.bz2'));
  const res = await build('ms-broken', broken, 2);
  assert.notEqual(res.code, 0);
  assert.ok(res.stderr.includes(`bytes ${r.start}-${r.end}`), res.stderr);
  assert.match(res.stderr, /range 2 of 2/);
  assert.match(res.stderr, /CORRUPT_INPUT|not a complete bzip2/);
  assert.ok(!existsSync(join(storeOf('ms-broken'), 'snapshots/ms-broken/manifest.json')));
});

test('--base: range jobs give the incremental snapshot of one job', { skip }, async () => {
  const next = join(dir.path, 'next.xml.bz2');
  await makeNextNight(ENWIKI, next, { seed: 3, edit: 0.05, add: 0.02, remove: 0.02 });
  const nextMs = join(dir.path, 'enwiki-20160102-pages-articles-multistream.xml.bz2');
  await makeMultistreamDump(next, nextMs, { pagesPerStream: 10 });
  const { cpSync } = await import('node:fs');
  for (const name of ['inc-j1', 'inc-j2']) cpSync(storeOf('ms-j1'), storeOf(name), { recursive: true });
  const a = await build('inc-j1', nextMs, 1, ['--base', 'ms-j1']);
  assert.equal(a.code, 0, a.stderr);
  const b = await build('inc-j2', nextMs, 2, ['--base', 'ms-j1']);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(buildMarker('inc-j2', 'ingest-plan.json').ranges.length, 2);
  const ma = manifest('inc-j1');
  const mb = manifest('inc-j2');
  assert.ok(ma.base.shardsReused > 0 && ma.base.passagesEncoded > 0, 'an incremental build');
  assert.deepEqual(mb.base, ma.base);
  assert.deepEqual(mb.shards.map((s: { passagesSha256: string; deleted?: { sha256: string } }) => [s.passagesSha256, s.deleted?.sha256 ?? null]),
    ma.shards.map((s: { passagesSha256: string; deleted?: { sha256: string } }) => [s.passagesSha256, s.deleted?.sha256 ?? null]));
  assert.equal(mb.pages.sha256, ma.pages.sha256);
});

test('an s3:// source: range jobs read their ranges from the S3 API; a missing object or bucket is one clear error', { skip }, async () => {
  let s3: S3DevServer | undefined;
  try {
    s3 = await startS3DevServer({ port: 0, dir: join(dir.path, 's3rver'), buckets: ['dumps'] });
    const up = new S3ObjectStore({ bucket: 'dumps', endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, multipartMb: 5 });
    await up.putFile('enwiki/20160101/enwiki-20160101-pages-articles-multistream.xml.bz2', dump);
    await up.putFile('enwiki/20160101/enwiki-20160101-pages-articles-multistream-index.txt.bz2', dump.replace(/\.xml\.bz2$/, '-index.txt.bz2'));
    await up.close();
    const env = { AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
    const url = 's3://dumps/enwiki/20160101/enwiki-20160101-pages-articles-multistream.xml.bz2';
    const r = await build('ms-s3', url, 2, [], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(buildMarker('ms-s3', 'ingest-plan.json').boundaries, 'index', 'the index found beside the dump in the bucket');
    assertSameSnapshot('ms-j1', 'ms-s3');
    assert.equal(manifest('ms-s3').source.path, url);
    // One job streams the whole object.
    const one = await build('ms-s3-j1', url, 1, [], env);
    assert.equal(one.code, 0, one.stderr);
    assertSameSnapshot('ms-j1', 'ms-s3-j1');

    const missing = await build('ms-s3-missing', 's3://dumps/enwiki/nope.xml.bz2', 2, [], env);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /s3:\/\/dumps\/enwiki\/nope\.xml\.bz2 does not exist/);
    const noBucket = await build('ms-s3-nobucket', 's3://no-such-bucket/x.xml.bz2', 2, [], env);
    assert.notEqual(noBucket.code, 0);
    assert.equal(noBucket.stderr.trim().split('\n').length, 1, noBucket.stderr);
    assert.match(noBucket.stderr, /bucket "no-such-bucket" does not exist/);
  } finally {
    await s3?.close();
  }
});

test('kill -9 of a worker during the range jobs loses nothing (distributed: range jobs default to the ingest workers)', { skip, timeout: 900_000 }, async () => {
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const env = {
    REDIS_URL: redis.url, RAG_STORAGE: storeOf('ms-killed'), RAG_HOME: home, RAG_QUEUE_PREFIX: 'mskill',
    RAG_LOCK_MS: '10000', RAG_STALLED_MS: '1000', RAG_ENCODER: encoder,
    // Distributed workers read sources only under their roots (the dump is in a temp directory).
    RAG_SOURCE_ROOTS: dir.path,
  };
  const workers = [startRag(['worker'], env), startRag(['worker'], env)];
  const exits = workers.map((w) => collect(w, 900_000));
  const probe = new Redis(redis.url, { maxRetriesPerRequest: null });
  const ingest = new Queue('ingest', { connection: probe, prefix: 'mskill' });
  try {
    // Both workers registered, so the CLI's default --ingest-jobs is 2.
    for (let t = Date.now(); (await ingest.getWorkersCount()) < 2 && Date.now() - t < 60_000;) await new Promise((r) => setTimeout(r, 200));
    const build = collect(startRag(['snapshot', 'build', '--source', dump, '--snapshot', 'ms-killed', '--shard-size', '500', '--no-progress'], env), 900_000);
    let active: string[] = [];
    for (const t = Date.now(); Date.now() - t < 300_000; await new Promise((r) => setTimeout(r, 50))) {
      active = (await ingest.getActive()).filter((j) => j.name === 'ingest-range').map((j) => j.id!);
      if (active.length > 0) break;
    }
    assert.ok(active.length > 0, 'a range job ran');
    workers[0]!.kill('SIGKILL');
    assert.equal((await exits[0]!).signal, 'SIGKILL');
    const replacement = startRag(['worker'], env);
    workers.push(replacement);
    exits.push(collect(replacement, 900_000));
    const r = await build;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(buildMarker('ms-killed', 'ingest-plan.json').ranges.length, 2);
    assertSameSnapshot('ms-j1', 'ms-killed');
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(exits);
    await ingest.close();
    probe.disconnect();
    await redis.stop();
  }
});
