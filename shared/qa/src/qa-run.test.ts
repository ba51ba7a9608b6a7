// A QA run does not trust Redis to be durable: completion is read from storage, chunks that Redis
// forgot are queued again, and a failed chunk is found by id however many other failed jobs exist.
// Real redis-server, real BullMQ queue and worker, local storage.
import '@rag/core/quiet-warnings';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QaRunFailedError, createLogger } from '@rag/core';
import { QA_QUEUE, createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { LocalObjectStore } from '@rag/storage';
import { enqueueQaRun, prepareQaRun, waitForQaRun, type QaRunContext } from './qa-run.js';
import { QaRunLayout } from './qa-run-layout.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let dir: string;
let server: EmbeddedRedis;
const conns: Redis[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-qarun-'));
  server = await startEmbeddedRedis({ dir: join(dir, 'redis') });
});
after(async () => {
  for (const c of conns) c.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function context(name: string): QaRunContext {
  const redis = createRedisConnection(server.url);
  const connection = createRedisConnection(server.url);
  conns.push(redis, connection);
  return {
    connection,
    redis,
    prefix: `t-${name}-${Date.now()}`,
    queue: { attempts: 1, backoffMs: 0, lockMs: 5000, stalledMs: 1000 } as QaRunContext['queue'],
    store: new LocalObjectStore(join(dir, name)),
    logger,
  };
}

const questions = (n: number) => ({
  questions: Array.from({ length: n }, (_, i) => ({ id: `q${i}`, index: i, question: `question ${i}?` })),
  source: { path: 'q.jsonl', sha256: 'a'.repeat(64), format: 'text' },
});
const settings = { target: 'snap', mode: 'rag-token' as const, k: 2, beams: 1 };

test('Redis loses every job and the progress hash: the wait queues the chunks again and ends when storage has all results', async () => {
  const ctx = context('lost');
  const { manifest } = await prepareQaRun(ctx.store, questions(6), settings, 2, { models: 'fp-1' });
  assert.equal((await enqueueQaRun(ctx, manifest)).pending, 3);
  const layout = new QaRunLayout(manifest.runId);
  // A worker finished chunk 0 (results in storage), then Redis restarted without its data.
  await ctx.store.put(layout.results(0), '{}\n');
  await ctx.redis.flushall();
  const requeued: number[] = [];
  const waiting = waitForQaRun(ctx, manifest, { pollMs: 50, checkMs: 100, onRequeue: (n) => requeued.push(n) });
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const deadline = Date.now() + 5000;
    // The jobs appear in Redis just before the wait reports them: wait for both.
    while ((requeued.length === 0 || !(await queue.getJob(layout.jobId(2)))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(requeued, [2], 'the two unfinished chunks were queued again');
    assert.equal(await queue.getJob(layout.jobId(0)), undefined, 'a finished chunk is not queued again');
    const job = await queue.getJob(layout.jobId(1));
    assert.equal(job?.data.models, 'fp-1', 'the job carries the model fingerprint');
    // Workers answer them (results objects): no Redis progress hash is written, and the wait still ends.
    await ctx.store.put(layout.results(1), '{}\n');
    await ctx.store.put(layout.results(2), '{}\n');
    await waiting;
  } finally {
    await queue.close();
  }
});

test('a failed chunk is found behind more than 1,000 other failed jobs, reported, and removed', { timeout: 120_000 }, async () => {
  const ctx = context('failed');
  const { manifest } = await prepareQaRun(ctx.store, questions(2), settings, 2, { models: 'fp-1' });
  await enqueueQaRun(ctx, manifest);
  const queue = new Queue(QA_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  const worker = new Worker(QA_QUEUE, async (job) => {
    throw new UnrecoverableError(job.name === 'chunk' ? 'the chunk cannot be answered' : 'junk');
  }, { connection: ctx.connection, prefix: ctx.prefix, concurrency: 50 });
  try {
    const layout = new QaRunLayout(manifest.runId);
    const waitFailed = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while ((await queue.getFailedCount()) < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    await waitFailed(1);
    // Then 1,100 failures of other runs: newer, so they fill the first 1,000 of the failed list.
    await queue.addBulk(Array.from({ length: 1100 }, (_, i) => ({ name: 'other', data: { i }, opts: { jobId: `qa.other.c${i}` } })));
    await waitFailed(1101);
    assert.equal(await queue.getFailedCount(), 1101);
    const first1000 = await queue.getJobs(['failed'], 0, 999);
    assert.ok(!first1000.some((j) => j.id === layout.jobId(0)), 'the run\'s failed job is not among the first 1,000');
    await assert.rejects(waitForQaRun(ctx, manifest, { pollMs: 50, checkMs: 100 }), (e: unknown) => e instanceof QaRunFailedError && e.message.includes(`${layout.jobId(0)} failed after 1 attempt(s): the chunk cannot be answered`));
    assert.equal(await queue.getJob(layout.jobId(0)), undefined, 'the reported failed job is removed');
  } finally {
    await worker.close();
    await queue.close();
  }
});
