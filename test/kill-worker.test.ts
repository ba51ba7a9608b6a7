// Fault test: two distributed workers, one is kill -9'd mid-build, a third joins; the build
// must still publish with passages == vectors and no duplicate passage ids. Shards are split into
// encode part jobs, so the kill lands on parts and merges too.
// test-tier: full
// test-lane: serial
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '@rag/queue';
import { readProgress } from '@rag/pipeline';
import { runRag, startRag, collect, ENWIKI } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('kill');
after(() => dir.cleanup());

test('kill -9 of a worker mid-build loses nothing', { skip: !existsSync(ENWIKI) && 'shared/data dump absent', timeout: 900_000 }, async () => {
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const env = {
    REDIS_URL: redis.url,
    RAG_STORAGE: join(dir.path, 'storage'),
    RAG_HOME: join(dir.path, 'home'),
    // Distributed workers read sources only under their roots (the dump lies outside the repo).
    RAG_SOURCE_ROOTS: dirname(ENWIKI),
    RAG_QUEUE_PREFIX: 'killtest',
    // A dead worker's job is taken over after the lock expires: keep that short in the test, but
    // above the few seconds a FAISS shard build can hold a loaded machine's event loop (4 s stalled
    // an index job past the limit while other jobs ran on the same 2 cores).
    RAG_LOCK_MS: '10000',
    RAG_STALLED_MS: '1000',
    RAG_LOG_LEVEL: 'info',
  };
  const workers = [startRag(['worker'], env), startRag(['worker'], env)];
  const exits = workers.map((w) => collect(w, 900_000));
  const probe = new Redis(redis.url);
  try {
    const build = collect(startRag(['snapshot', 'build', '--source', ENWIKI, '--snapshot', 'killed', '--shard-size', '250', '--encode-part', '100', '--no-progress'], env), 900_000);
    // Wait until encoding is under way (some vectors done, not all).
    let p = await readProgress(probe, 'killtest', 'killed');
    const deadline = Date.now() + 300_000;
    while (!(p.ingestDone && p.vectors > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      p = await readProgress(probe, 'killtest', 'killed');
    }
    assert.ok(p.vectors > 0 && p.vectors < p.passages, `killed mid-encode (vectors ${p.vectors}/${p.passages})`);
    workers[0]!.kill('SIGKILL');
    const killed = await exits[0]!;
    assert.equal(killed.signal, 'SIGKILL');
    const replacement = startRag(['worker'], env);
    exits.push(collect(replacement, 900_000));
    workers.push(replacement);

    const r = await build;
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse((await runRag(['snapshot', 'show', 'killed', '--json'], env)).stdout);
    assert.equal(m.passages, m.vectors);
    const ids = (await runRag(['snapshot', 'passages', 'killed'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l).id);
    assert.equal(ids.length, m.passages);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate passage ids');
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(exits);
    probe.disconnect();
    await redis.stop();
  }
});
