// A generate worker with other models than a run's leaves its chunks to a matching worker for as
// long as one is alive, however busy (it used to fail them after a fixed wait, losing chunks that a
// slow matching worker would have answered); with none alive, it fails them after the wait.
// Real redis-server, real BullMQ queue and QA worker, local storage.
import '@rag/core/quiet-warnings';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QaRunFailedError, createLogger } from '@rag/core';
import { QA_QUEUE, createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { AliasRegistry } from '@rag/registry';
import { LocalObjectStore } from '@rag/storage';
import { enqueueQaRun, prepareQaRun, waitForQaRun } from './qa-run.js';
import { QaRunLayout } from './qa-run-layout.js';
import { createQaWorker } from './qa-worker.js';
import { SnapshotPool } from './snapshot-pool.js';
import { ModelPresence, modelPresenceKey, modelsServed } from './model-presence.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let server: EmbeddedRedis;
const conns: Redis[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-presence-'));
  server = await startEmbeddedRedis({ dir: join(dir, 'redis') });
});
after(async () => {
  for (const c of conns) c.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function redis(): Redis {
  const c = createRedisConnection(server.url);
  conns.push(c);
  return c;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a worker with other models waits for a live matching worker however long it is busy; once none is alive, the chunk fails after the wait', { timeout: 60_000 }, async () => {
  const prefix = `t-presence-${Date.now()}`;
  const ctx = {
    connection: redis(), redis: redis(), prefix, logger,
    queue: { attempts: 1, backoffMs: 0, lockMs: 5000, stalledMs: 1000, maxStalled: 1, modelMismatchWaitS: 1 } as Parameters<typeof createQaWorker>[0]['queue'],
    store: new LocalObjectStore(join(dir, 'store')),
  };
  const questions = { questions: [{ id: 'q0', index: 0, question: 'who?' }], source: { path: 'q.jsonl', sha256: 'a'.repeat(64), format: 'text' } };
  const { manifest } = await prepareQaRun(ctx.store, questions, { target: 'snap', mode: 'rag-token', k: 2, beams: 1 }, 1, { models: 'fp-run' });
  // A matching worker is alive (announced), busy elsewhere: it never takes this chunk in the test.
  const matching = new ModelPresence({ redis: ctx.redis, prefix, logger, ttlMs: 3000 });
  await matching.start(['fp-run']);
  assert.equal(await modelsServed(ctx.redis, prefix, 'fp-run'), true);
  await enqueueQaRun(ctx, manifest);
  const aliases = new AliasRegistry({ store: ctx.store, logger });
  const pool = new SnapshotPool({ store: ctx.store, aliases, logger, pollMs: 1000 });
  const worker = createQaWorker({
    ...ctx, concurrency: 1, fingerprint: async () => 'fp-mine', snapshots: pool,
    models: () => Promise.reject(new Error('a mismatched worker must not load models')),
  });
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix });
  const jobId = new QaRunLayout(manifest.runId).jobId(0);
  try {
    // Three times the wait (and refreshes of the announcement) go by: the chunk is still offered.
    await sleep(3500);
    const job = await queue.getJob(jobId);
    assert.ok(job, 'the chunk job still exists');
    assert.ok(['delayed', 'wait', 'active', 'prioritized'].includes(await job.getState()), `the chunk is still queued (${await job.getState()})`);
    const mismatch = job.data.mismatch as { since?: number; times: number };
    assert.ok(mismatch.times >= 2, 'it was put back more than once');
    assert.equal(mismatch.since, undefined, 'no time counted against the wait while a matching worker lived');
    // The matching worker stops: now the wait runs, and the run fails with the reason.
    const stoppedAt = Date.now();
    await matching.stop();
    assert.equal(await modelsServed(ctx.redis, prefix, 'fp-run'), false);
    await assert.rejects(
      waitForQaRun(ctx, manifest, { pollMs: 50, checkMs: 200 }),
      (e: unknown) => e instanceof QaRunFailedError && /this worker's models \(fingerprint fp-mine\) are not the ones run \w+ was queued for \(fp-run\)/.test(e.message),
    );
    assert.ok(Date.now() - stoppedAt >= 1000, 'not before the wait had passed with no matching worker');
  } finally {
    await matching.stop();
    await worker.close();
    await queue.close();
    await pool.close();
    await aliases.close();
  }
});

test('an announcement that is not refreshed (a killed worker) runs out; a clean stop withdraws only its own', async () => {
  const r = redis();
  const prefix = `t-expiry-${Date.now()}`;
  // A worker announced, then was killed -9: its entry has an expiry and nobody refreshes it.
  await r.zadd(modelPresenceKey(prefix, 'fp'), Date.now() + 300, 'killed-worker');
  assert.equal(await modelsServed(r, prefix, 'fp'), true);
  await sleep(400);
  assert.equal(await modelsServed(r, prefix, 'fp'), false, 'expired announcements do not count');
  const a = new ModelPresence({ redis: r, prefix, logger, ttlMs: 300 });
  const b = new ModelPresence({ redis: r, prefix, logger, ttlMs: 300 });
  await a.start(['fp', 'fp-other']);
  await b.start(['fp']);
  await sleep(700); // past two TTLs: the refreshes keep both alive
  assert.equal(await modelsServed(r, prefix, 'fp-other'), true);
  await a.stop();
  assert.equal(await modelsServed(r, prefix, 'fp'), true, 'b still serves fp');
  assert.equal(await modelsServed(r, prefix, 'fp-other'), false);
  assert.equal(await r.zscore(modelPresenceKey(prefix, 'fp'), 'killed-worker'), null, 'a refresh cleared the dead entry');
  await b.stop();
  assert.equal(await modelsServed(r, prefix, 'fp'), false);
});
