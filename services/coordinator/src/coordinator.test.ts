import '@rag/core/quiet-warnings';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger } from '@rag/core';
import { createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { AliasRegistry } from '@rag/registry';
import { publishManifestOnly } from '@rag/registry/testing';
import { LocalObjectStore } from '@rag/storage';
import { startCoordinator, type Coordinator } from './coordinator-server.js';
import { discoverQueues } from './queue-discovery.js';

let dir: string;
let redisServer: EmbeddedRedis;
let redis: Redis;
let store: LocalObjectStore;
let coordinator: Coordinator;
const PREFIX = 'ct';
const queues: Queue[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-coord-'));
  redisServer = await startEmbeddedRedis({ dir: join(dir, 'redis') });
  redis = createRedisConnection(redisServer.url);
  store = new LocalObjectStore(join(dir, 'storage'));
  await publishManifestOnly(store, 'snap-a', 12);
  await publishManifestOnly(store, 'snap-b', 34);
  await new AliasRegistry({ store }).set('prod', 'snap-a');
  // Real BullMQ jobs: 3 waiting question chunks, and one in a queue the coordinator does not know by name.
  const qa = new Queue('qa', { connection: redis, prefix: PREFIX });
  const custom = new Queue('custom-queue', { connection: redis, prefix: PREFIX });
  queues.push(qa, custom);
  await qa.addBulk([1, 2, 3].map((i) => ({ name: 'chunk', data: { i } })));
  await custom.add('x', { y: 1 });
  coordinator = await startCoordinator({ store, redis, prefix: PREFIX, port: 0, logger: createLogger({ service: 'test', level: 'silent' }) });
});
after(async () => {
  await coordinator?.close();
  for (const q of queues) await q.close();
  redis.disconnect();
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

function sample(text: string, series: string): number | undefined {
  const key = (s: string) => {
    const m = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s);
    return `${m?.[1]}{${(m?.[2] ?? '').split(',').filter(Boolean).sort().join(',')}}`;
  };
  const want = key(series);
  for (const line of text.split('\n')) {
    const cut = line.lastIndexOf(' ');
    if (cut > 0 && !line.startsWith('#') && key(line.slice(0, cut)) === want) return Number(line.slice(cut + 1));
  }
  return undefined;
}

const get = (path: string) => fetch(`${coordinator.url}${path}`);

describe('coordinator', () => {
  it('finds the known queues and the ones that only exist in Redis', async () => {
    assert.deepEqual(coordinator.queueNames(), ['custom-queue', 'encode', 'index', 'ingest', 'publish', 'qa']);
    const found = await discoverQueues(redis, PREFIX, []);
    assert.ok(found.includes('custom-queue') && found.includes('qa'), `found ${found}`);
    assert.ok(found.every((q) => coordinator.queueNames().includes(q)), 'only queues, not alias keys');
    assert.deepEqual(await discoverQueues(redis, 'elsewhere', []), []);
  });

  it('GET /metrics reports alias versions, published snapshots and queue depths', async () => {
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, 'rag_alias_version{alias="prod",snapshot="snap-a",service="coordinator"}'), 1);
    assert.equal(sample(text, 'rag_snapshots_published{service="coordinator"}'), 2);
    assert.equal(sample(text, 'rag_queue_jobs{queue="qa",state="waiting",service="coordinator"}'), 3);
    assert.equal(sample(text, 'rag_queue_jobs{queue="qa",state="failed",service="coordinator"}'), 0);
    assert.equal(sample(text, 'rag_queue_jobs{queue="custom-queue",state="waiting",service="coordinator"}'), 1);
    assert.equal(sample(text, 'rag_queue_jobs{queue="encode",state="waiting",service="coordinator"}'), 0);
    assert.ok((sample(text, 'rag_process_resident_memory_bytes{service="coordinator"}') ?? 0) > 0);
  });

  it('a flip from another process shows up in /metrics and /api/aliases, counted from pub/sub', async () => {
    const writerRedis = createRedisConnection(redisServer.url);
    try {
      const writer = new AliasRegistry({ store, redis: writerRedis, prefix: PREFIX });
      const rec = await writer.set('prod', 'snap-b');
      let text = '';
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        text = await (await get('/metrics')).text();
        if (sample(text, 'rag_alias_events_total{alias="prod",service="coordinator"}') === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(sample(text, 'rag_alias_events_total{alias="prod",service="coordinator"}'), 1);
      assert.equal(sample(text, 'rag_alias_version{alias="prod",snapshot="snap-b",service="coordinator"}'), 2);
      assert.equal(sample(text, 'rag_alias_version{alias="prod",snapshot="snap-a",service="coordinator"}'), undefined);
      const list = await (await get('/api/aliases')).json();
      assert.deepEqual(list, [rec]);
      assert.deepEqual(await (await get('/api/aliases/prod')).json(), rec);
      const hist = (await (await get('/api/aliases/prod/history')).json()) as Array<{ snapshot: string }>;
      assert.deepEqual(hist.map((h) => h.snapshot), ['snap-a', 'snap-b']);
    } finally {
      writerRedis.disconnect();
    }
  });

  it('/api/snapshots lists published snapshots with the aliases pointing at them; errors are JSON with a status', async () => {
    const snaps = (await (await get('/api/snapshots')).json()) as Array<{ id: string; passages: number; aliases: string[] }>;
    assert.deepEqual(snaps.map((s) => [s.id, s.passages, s.aliases]), [['snap-a', 12, []], ['snap-b', 34, ['prod']]]);
    const missing = await get('/api/aliases/nope');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, 'ALIAS_NOT_FOUND');
    const bad = await get('/api/aliases/Bad..Name');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: string }).error, 'USAGE');
    assert.equal((await get('/api/snapshots/snap-z')).status, 404);
  });

  it('/queues serves the Bull Board dashboard, whose API sees the real jobs', async () => {
    const page = await get('/queues');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<div id="root"/);
    const api = (await (await get('/queues/api/queues')).json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    const qa = api.queues.find((q) => q.name === 'qa');
    assert.ok(qa, `queues: ${api.queues.map((q) => q.name)}`);
    assert.equal(qa.counts.waiting, 3);
    assert.equal((await get('/healthz')).status, 200);
    assert.match(await (await get('/')).text(), /href="queues"/);
  });

  it('binds loopback by default and is read-only without an admin token: every mutating route is refused', async () => {
    assert.match(coordinator.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(coordinator.readOnly, true);
    const attempts: Array<[string, string, unknown?]> = [
      ['POST', '/queues/api/queues/qa/add', { name: 'evil', data: { source: { path: '/etc/passwd' } } }],
      ['PUT', '/queues/api/queues/qa/empty'],
      ['PUT', '/queues/api/queues/qa/pause'],
      ['PUT', '/queues/api/queues/qa/clean/waiting'],
      ['DELETE', '/queues/api/queues/qa/obliterate'],
      ['PATCH', '/api/aliases/prod', { snapshot: 'snap-a' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await fetch(`${coordinator.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      assert.equal(res.status, 403, `${method} ${path}`);
      const err = (await res.json()) as { error: string; hint: string };
      assert.equal(err.error, 'READ_ONLY');
      assert.match(err.hint, /RAG_ADMIN_TOKEN/);
    }
    const api = (await (await get('/queues/api/queues')).json()) as { queues: Array<{ name: string; counts: Record<string, number>; readOnlyMode: boolean }> };
    const qa = api.queues.find((q) => q.name === 'qa')!;
    assert.equal(qa.counts.waiting, 3, 'nothing was added or emptied');
    assert.equal(qa.readOnlyMode, true, 'the dashboard hides its buttons');
    assert.equal(await queues[0]!.isPaused(), false);
  });

  it('with RAG_ADMIN_TOKEN, mutating routes need the token (bearer or basic auth) and then work', async () => {
    const token = 'admin-token-for-the-coordinator-test';
    const admin = await startCoordinator({ store, redis, prefix: PREFIX, port: 0, adminToken: token, logger: createLogger({ service: 'test', level: 'silent' }) });
    try {
      assert.equal(admin.readOnly, false);
      const pause = (headers: Record<string, string>) => fetch(`${admin.url}/queues/api/queues/custom-queue/pause`, { method: 'PUT', headers });
      const none = await pause({});
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
      assert.equal((await pause({ authorization: 'Bearer wrong-token-of-the-same-length!!' })).status, 401);
      assert.equal(await queues[1]!.isPaused(), false, 'refused requests changed nothing');
      assert.equal((await pause({ authorization: `Bearer ${token}` })).status, 200);
      assert.equal(await queues[1]!.isPaused(), true);
      const basic = `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`;
      assert.equal((await fetch(`${admin.url}/queues/api/queues/custom-queue/resume`, { method: 'PUT', headers: { authorization: basic } })).status, 200);
      assert.equal(await queues[1]!.isPaused(), false);
      // Reads stay open.
      assert.equal((await fetch(`${admin.url}/api/queues`)).status, 200);
    } finally {
      await admin.close();
    }
  });
});
