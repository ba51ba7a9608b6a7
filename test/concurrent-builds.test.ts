// Two builds of one snapshot id at once: with other arguments the second is refused (never attached
// to the running build, never handed its manifest); with the same arguments it waits and gets the
// published snapshot. Embedded-mode CLIs share only storage, so the claim is a lease in storage.
// test-lane: serial
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisConnection, startEmbeddedRedis } from '@rag/queue';
import { enqueueBuild, PAYLOAD_VERSION } from '@rag/pipeline';
import { loadConfig } from '@rag/config';
import { cliStartupSeconds, runRag, startRag, collect } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const dir = tempDir('concurrent');
after(() => dir.cleanup());
const source = join(dir.path, 'corpus.jsonl');
writeTopicCorpus(source, 60);

const build = (id: string, shardSize: number, json = false) =>
  ['snapshot', 'build', '--source', source, '--snapshot', id, '--workers', '1', '--shard-size', String(shardSize), '--no-progress', ...(json ? ['--json'] : [])];

/** Waits until the first CLI holds the build lease of `id` in `storage`. */
async function leaseTaken(storage: string, id: string): Promise<void> {
  const d = join(storage, 'leases', 'build', id);
  const deadline = Date.now() + 120_000;
  while (!(existsSync(d) && readdirSync(d).length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(d), 'the first build took the lease');
}

test('two embedded CLIs, same id, other arguments: the second is refused and says what differs', { timeout: 600_000 }, async () => {
  // Separate RAG_HOMEs: each CLI has its own private Redis; only storage is shared.
  const storage = join(dir.path, 'other-args');
  const startup = await cliStartupSeconds(dir.path);
  const first = collect(startRag(build('snap', 40), { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home-a') }), 600_000);
  await leaseTaken(storage, 'snap');
  const t0 = Date.now();
  const second = await runRag(build('snap', 50), { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home-b') });
  assert.equal(second.code, 1, second.stderr);
  // Refused at once, not after waiting for the first build: within 30 s beyond the CLI's start-up.
  assert.ok((Date.now() - t0) / 1000 - startup < 30, `${(Date.now() - t0) / 1000} s (start-up ${startup} s)`);
  assert.match(second.stderr, /snapshot snap is being built by pid \d+ on .* with other arguments: shardSize 40 \(running\) vs 50 \(this command\)/);
  assert.equal(second.stdout, '', 'no manifest handed out');
  const r = await first;
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse((await runRag(['snapshot', 'show', 'snap', '--json'], { RAG_STORAGE: storage })).stdout);
  assert.equal(m.shardSize, 40, 'built with the first command\'s shard size');
  assert.ok(m.shards.length >= 2 && m.shards.every((s: { passages: number }) => s.passages <= 40));
});

test('two embedded CLIs, same id, same arguments: the second waits and returns the published snapshot', { timeout: 600_000 }, async () => {
  const storage = join(dir.path, 'same-args');
  const first = collect(startRag(build('same', 40, true), { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home-c') }), 600_000);
  await leaseTaken(storage, 'same');
  const second = await runRag(build('same', 40, true), { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home-d') });
  const r = await first;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /snapshot same is being built by pid \d+ .* with the same arguments; waiting for it/);
  assert.deepEqual(JSON.parse(second.stdout), JSON.parse(r.stdout), 'the same manifest');
});

test('same Redis: a queued build of the id with other arguments is not attached to', { timeout: 120_000 }, async () => {
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const connection = createRedisConnection(redis.url);
  try {
    const config = loadConfig({});
    // A build left on the queue by an interrupted CLI (its lease is gone; remote workers may still run it).
    await enqueueBuild({ connection, prefix: 'conc', queue: config.queue }, {
      v: PAYLOAD_VERSION, snapshotId: 'queued', source: { path: source, format: 'jsonl' }, shardSize: 25, wordsPerPassage: 100,
      index: { kind: 'flat', params: {} }, encoderDir: config.encoder.dir, requestedAt: new Date().toISOString(),
    });
    const r = await runRag(build('queued', 40), { REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'conc', RAG_STORAGE: join(dir.path, 'queued'), RAG_HOME: join(dir.path, 'home-e') }, { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /a build of queued with other arguments is waiting(-children)? on this queue: shardSize 25 \(running\) vs 40 \(this command\)/);
  } finally {
    connection.disconnect();
    await redis.stop();
  }
});
