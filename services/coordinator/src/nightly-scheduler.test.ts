// The nightly workflow on a cron pattern: two coordinators on one Redis (one BullMQ job scheduler id per
// alias) run each tick once, and a night that is still running is never started a second time at once.
// Real redis-server and BullMQ; the night itself is a timed stand-in for `./rag nightly run` here (the
// end-to-end nightly test runs the real command from a coordinator).
import '@rag/core/quiet-warnings';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { createLogger } from '@rag/core';
import { createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { startNightlyScheduler, type NightlyScheduler } from './nightly-scheduler.js';

let dir: string;
let server: EmbeddedRedis;
const conns: Redis[] = [];
const logger = createLogger({ service: 'test', level: 'silent' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-nightly-sched-'));
  server = await startEmbeddedRedis({ dir: join(dir, 'redis') });
});
after(async () => {
  for (const c of conns) c.disconnect();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('two coordinators, a tick every second, nights of 1.5 s: each tick runs once, never two nights at the same time', { timeout: 60_000 }, async () => {
  let running = 0;
  let maxRunning = 0;
  const ran: { jobId: string; night: string; by: string }[] = [];
  const schedulers: NightlyScheduler[] = [];
  for (const by of ['coordinator-1', 'coordinator-2']) {
    const connection = createRedisConnection(server.url);
    conns.push(connection);
    schedulers.push(await startNightlyScheduler({
      connection, prefix: 'ns', logger, alias: 'prod', configPath: '/etc/rag/nightly.json', schedule: { cron: '* * * * * *' },
      runNight: async (night, data, job) => {
        assert.equal(data.config, '/etc/rag/nightly.json');
        running++;
        maxRunning = Math.max(maxRunning, running);
        ran.push({ jobId: String(job.id), night, by });
        await new Promise((r) => setTimeout(r, 1500));
        running--;
        return 0;
      },
    }));
  }
  let jobs = 0;
  try {
    await new Promise((r) => setTimeout(r, 6500));
    const counts = await schedulers[0]!.queue.getJobCounts('completed', 'active', 'waiting', 'delayed', 'prioritized', 'failed');
    jobs = Object.values(counts).reduce((s, n) => s + n, 0);
  } finally {
    for (const s of schedulers) await s.close();
  }
  assert.equal(maxRunning, 1, 'never two nights at once, across both coordinators');
  assert.ok(ran.length >= 3, `nights ran on the schedule (${ran.length})`);
  assert.equal(new Set(ran.map((r) => r.jobId)).size, ran.length, 'no tick ran twice');
  for (const r of ran) assert.match(r.night, /^\d{4}-\d{2}-\d{2}$/);
  // One scheduler id per alias, whatever the number of coordinators: one job per tick, not two
  // (6.5 ticks and the next one scheduled; doubled would be about 15).
  assert.ok(jobs >= 5 && jobs <= 9, `one job per tick across both coordinators (${jobs} jobs in 6.5 s)`);
});

test('stopping a coordinator stops the night it is running instead of waiting for it', { timeout: 60_000 }, async () => {
  const connection = createRedisConnection(server.url);
  conns.push(connection);
  let started!: () => void;
  const running = new Promise<void>((r) => { started = r; });
  let aborted = false;
  const s = await startNightlyScheduler({
    connection, prefix: 'ns-stop', logger, alias: 'prod', configPath: '/etc/rag/nightly.json', schedule: { cron: '* * * * * *' },
    // A night of ten minutes, unless it is told to stop.
    runNight: (_night, _data, _job, signal) => new Promise((resolve) => {
      started();
      const t = setTimeout(() => resolve(0), 600_000);
      signal.addEventListener('abort', () => { aborted = true; clearTimeout(t); resolve(143); });
    }),
  });
  await running;
  const t0 = Date.now();
  await s.close();
  assert.ok(aborted, 'the running night was told to stop');
  assert.ok(Date.now() - t0 < 10_000, `close returned in ${Date.now() - t0} ms`);
});
