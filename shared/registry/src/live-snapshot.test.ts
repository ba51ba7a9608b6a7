// test-lane: serial (switch latencies are measured against a 250 ms load)
import '@rag/core/quiet-warnings';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotRegistry } from '@rag/snapshot';
import { AliasRegistry } from './alias-registry.js';
import { aliasHistoryKey, aliasKey } from './alias-layout.js';
import { LiveSnapshot, type SnapshotSwitchEvent } from './live-snapshot.js';
import { publishManifestOnly } from './testing.js';

let dir: string;
let redisServer: EmbeddedRedis;
const conns: Redis[] = [];
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-live-'));
  redisServer = await startEmbeddedRedis({ dir: join(dir, 'redis') });
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const c of conns) c.disconnect();
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a worker would load: here the manifest (real storage read) plus bookkeeping the test checks. */
interface Loaded {
  id: string;
  passages: number;
  active: number;
  unloaded: boolean;
}

async function fixture(opts: { loadMs?: number; pollMs?: number; failFirstLoadOf?: string; followerRedis?: boolean } = {}) {
  const store = new LocalObjectStore(join(dir, `store-${randomUUID()}`));
  const prefix = `t${randomUUID().slice(0, 8)}`;
  for (const id of ['snap-a', 'snap-b', 'snap-c']) await publishManifestOnly(store, id, id.charCodeAt(5));
  const conn = () => { const c = createRedisConnection(redisServer.url); conns.push(c); return c; };
  const writer = new AliasRegistry({ store, prefix, redis: conn() });
  /** Flips storage only: as if the pub/sub message were lost. */
  const silentWriter = new AliasRegistry({ store, prefix });
  const followerRegistry = new AliasRegistry({ store, prefix, redis: opts.followerRedis === false ? undefined : conn() });
  cleanups.push(() => writer.close(), () => followerRegistry.close());
  await writer.set('prod', 'snap-a');
  const manifests = new SnapshotRegistry(store);
  const loads: string[] = [];
  const unloads: string[] = [];
  const violations: string[] = [];
  const values = new Set<Loaded>();
  const failed = new Set<string>();
  const live = new LiveSnapshot<Loaded>({
    alias: 'prod',
    registry: followerRegistry,
    pollMs: opts.pollMs ?? 0,
    load: async (id) => {
      loads.push(id);
      const m = await manifests.read(id);
      await sleep(opts.loadMs ?? 0);
      if (id === opts.failFirstLoadOf && !failed.has(id)) {
        failed.add(id);
        throw new Error(`cannot open ${id} (first attempt)`);
      }
      const v: Loaded = { id, passages: m.passages, active: 0, unloaded: false };
      values.add(v);
      return v;
    },
    unload: async (v) => {
      if (v.active !== 0) violations.push(`${v.id} unloaded with ${v.active} job(s) using it`);
      if (v.unloaded) violations.push(`${v.id} unloaded twice`);
      v.unloaded = true;
      unloads.push(v.id);
    },
  });
  const switches: SnapshotSwitchEvent[] = [];
  live.on('switch', (e: SnapshotSwitchEvent) => switches.push(e));
  cleanups.push(() => live.stop({ drainTimeoutMs: 1000 }));
  return { store, prefix, writer, silentWriter, followerRegistry, live, loads, unloads, violations, values, switches };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - t0;
}

describe('LiveSnapshot', () => {
  it('hot-swaps under load: no failed job, one snapshot per lease, old one unloaded after its last lease', async () => {
    const f = await fixture({ loadMs: 250, pollMs: 5000 });
    const { live } = f;
    await live.start();
    assert.equal(live.snapshot, 'snap-a');

    let running = true;
    let failures = 0;
    const jobsPer = new Map<string, number>();
    const errors: string[] = [];
    const job = async (holdMs: number) => {
      const lease = await live.acquire();
      const v = lease.value;
      try {
        if (v.unloaded) throw new Error(`lease of ${lease.snapshot} got an unloaded value`);
        if (v.id !== lease.snapshot) throw new Error(`lease says ${lease.snapshot} but value is ${v.id}`);
        v.active++;
        await sleep(holdMs);
        // Still the same, still loaded, all the way through the job.
        if (v.unloaded || v.id !== lease.snapshot) throw new Error(`${lease.snapshot} changed under a running job`);
        v.active--;
        jobsPer.set(lease.snapshot, (jobsPer.get(lease.snapshot) ?? 0) + 1);
      } finally {
        lease.release();
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => (async () => {
      while (running) {
        try {
          // Mostly short jobs, and some that outlive a whole switch.
          await job(i === 0 ? 400 : 1 + Math.floor(Math.random() * 15));
        } catch (err) {
          failures++;
          if (errors.length < 20) errors.push((err as Error).message);
          await sleep(1); // a failing job must not starve the timers
        }
      }
    })());

    const latencies: number[] = [];
    let previous = 'snap-a';
    for (const target of ['snap-b', 'snap-c', 'snap-a']) {
      // A long job pinned to the old snapshot across the flip.
      const pinned = await live.acquire();
      assert.equal(pinned.snapshot, previous);
      pinned.value.active++;
      const t0 = Date.now();
      const rec = await f.writer.set('prod', target);
      // The new snapshot is still loading: jobs keep getting the old one meanwhile.
      const during = await live.acquire();
      assert.equal(during.snapshot, previous, 'acquire right after the flip still gets the loaded snapshot');
      during.release();
      await waitFor(`new leases get ${target}`, async () => {
        const l = await live.acquire();
        l.release();
        return l.snapshot === target;
      }, 3000);
      latencies.push(Date.now() - t0);
      assert.equal(live.version, rec.version);
      // The pinned old snapshot stays loaded until its lease is gone.
      await sleep(50);
      assert.equal(pinned.value.unloaded, false, `${previous} unloaded while a job still held it`);
      pinned.value.active--;
      pinned.release();
      await waitFor(`${previous} unloaded after its last lease`, () => [...f.values].filter((v) => v.id === previous).every((v) => v.unloaded), 3000);
      previous = target;
      await waitFor(`jobs served from ${target}`, () => (jobsPer.get(target) ?? 0) > 10, 5000);
    }
    running = false;
    await Promise.all(loops);

    assert.deepEqual(errors, []);
    assert.equal(failures, 0);
    assert.deepEqual(f.violations, []);
    assert.deepEqual(f.switches.map((s) => `${s.from}->${s.to}@${s.version}`), ['snap-a->snap-b@2', 'snap-b->snap-c@3', 'snap-c->snap-a@4']);
    for (const s of f.switches) {
      assert.ok(s.loadMs >= 250, `load took ${s.loadMs} ms`);
      assert.ok(s.latencyMs >= s.loadMs && s.latencyMs < 2000, `switch latency ${s.latencyMs} ms`);
    }
    for (const ms of latencies) assert.ok(ms < 2500, `flip visible to new leases after ${ms} ms`);
    for (const id of ['snap-a', 'snap-b', 'snap-c']) assert.ok((jobsPer.get(id) ?? 0) > 10, `jobs on ${id}: ${jobsPer.get(id)}`);
    assert.deepEqual(f.loads, ['snap-a', 'snap-b', 'snap-c', 'snap-a']);
    assert.deepEqual(f.unloads, ['snap-a', 'snap-b', 'snap-c']);
    const st = live.status();
    assert.deepEqual([st.snapshot, st.version, st.switches, st.loaded.length], ['snap-a', 4, 3, 1]);
    console.log(`# hot-swap: ${[...jobsPer.values()].reduce((a, b) => a + b, 0)} jobs, switch latency ${f.switches.map((s) => s.latencyMs).join('/')} ms (load 250 ms)`);

    await live.stop();
    assert.ok([...f.values].every((v) => v.unloaded), 'stop() unloads the current snapshot');
    await assert.rejects(live.acquire(), /stopped/);
  });

  it('recovers a missed pub/sub message by polling storage', async () => {
    const f = await fixture({ pollMs: 200 });
    await f.live.start();
    const t0 = Date.now();
    await f.silentWriter.set('prod', 'snap-c');
    await waitFor('poll finds the flip', () => f.live.snapshot === 'snap-c', 2000);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `took ${ms} ms with a 200 ms poll`);
    assert.deepEqual(f.switches.map((s) => s.to), ['snap-c']);
    await waitFor('snap-a unloaded', () => f.unloads.includes('snap-a'));
  });

  it('re-reads storage when the pub/sub connection comes back (no timer)', async () => {
    const f = await fixture({ pollMs: 0 });
    await f.live.start();
    await f.silentWriter.set('prod', 'snap-b');
    await sleep(100);
    assert.equal(f.live.snapshot, 'snap-a', 'no poll timer, no message: nothing yet');
    const admin = createRedisConnection(redisServer.url);
    conns.push(admin);
    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitFor('switch after reconnect', () => f.live.snapshot === 'snap-b', 5000);
  });

  it('works without Redis at all (storage polling only)', async () => {
    const f = await fixture({ pollMs: 100, followerRedis: false });
    await f.live.start();
    await f.writer.set('prod', 'snap-b');
    await waitFor('switch by polling', () => f.live.snapshot === 'snap-b', 2000);
  });

  it('a failed load keeps the old snapshot serving and is retried by the next poll', async () => {
    const f = await fixture({ pollMs: 150, failFirstLoadOf: 'snap-b' });
    const failures: string[] = [];
    f.live.on('load-failed', (e: { snapshot: string; error: Error }) => failures.push(`${e.snapshot}: ${e.error.message}`));
    await f.live.start();
    await f.writer.set('prod', 'snap-b');
    await waitFor('load failure', () => failures.length === 1);
    const l = await f.live.acquire();
    assert.equal(l.snapshot, 'snap-a');
    l.release();
    await waitFor('retry succeeds', () => f.live.snapshot === 'snap-b', 3000);
    assert.deepEqual(f.loads, ['snap-a', 'snap-b', 'snap-b']);
    assert.match(failures[0]!, /first attempt/);
  });

  it('a flip back while the new one is still loading discards it without switching', async () => {
    const f = await fixture({ loadMs: 300 });
    await f.live.start();
    await f.writer.set('prod', 'snap-b');
    await waitFor('snap-b loading', () => f.loads.includes('snap-b'));
    const back = await f.writer.set('prod', 'snap-a');
    await waitFor('snap-b loaded and dropped', () => f.unloads.includes('snap-b'), 3000);
    assert.equal(f.live.snapshot, 'snap-a');
    assert.equal(f.live.version, back.version);
    assert.deepEqual(f.switches, []);
    assert.deepEqual(f.violations, []);
  });

  it('a pub/sub message is only a hint: a forged or stale payload never moves a follower, storage does', async () => {
    // No poll timer: every storage read of the follower is one a message caused.
    const f = await fixture({ pollMs: 0 });
    let reads = 0;
    const get = f.followerRegistry.get.bind(f.followerRegistry);
    f.followerRegistry.get = async (name) => {
      try {
        return await get(name);
      } finally {
        reads++;
      }
    };
    await f.live.start();
    const readsBefore = reads;
    const pub = createRedisConnection(redisServer.url);
    conns.push(pub);
    // A message claiming a far-future version of another snapshot, as a stale or foreign publisher might send.
    const forged = { schema: 1, name: 'prod', snapshot: 'snap-c', version: 999, updatedAt: new Date().toISOString() };
    await pub.publish(f.followerRegistry.channel, JSON.stringify(forged));
    await waitFor('the follower read storage on the hint', () => reads > readsBefore);
    assert.equal(f.live.snapshot, 'snap-a', 'storage still says snap-a');
    assert.deepEqual(f.loads, ['snap-a']);
    // A real flip with a lower version than the forged one is followed (the old code only moved forwards).
    await f.writer.set('prod', 'snap-b');
    await waitFor('follows storage', () => f.live.snapshot === 'snap-b', 2000);
    assert.equal(f.live.version, 2);
  });

  it('the poll follows the stored alias backwards (a restored alias object and history)', async () => {
    const f = await fixture({ pollMs: 100 });
    await f.live.start();
    const v1 = JSON.parse((await f.store.get(aliasKey('prod'))).toString());
    await f.writer.set('prod', 'snap-b');
    await f.writer.set('prod', 'snap-c');
    await waitFor('at snap-c', () => f.live.snapshot === 'snap-c', 2000);
    // An operator restores the bucket from a backup taken at version 1.
    await f.store.delete(aliasHistoryKey('prod', 3));
    await f.store.delete(aliasHistoryKey('prod', 2));
    await f.store.put(aliasKey('prod'), JSON.stringify(v1));
    await waitFor('back at snap-a', () => f.live.snapshot === 'snap-a', 2000);
    assert.equal(f.live.version, 1);
  });

  it('acquire() before start() finishes waits for the first load; a fixed snapshot never follows', async () => {
    const f = await fixture({ loadMs: 100 });
    const starting = f.live.start();
    const early = await f.live.acquire();
    assert.equal(early.snapshot, 'snap-a');
    assert.equal(early.value.passages, 'snap-a'.charCodeAt(5));
    early.release();
    await starting;

    const fixedLoads: string[] = [];
    const fixed = new LiveSnapshot<string>({
      snapshot: 'snap-c',
      registry: new AliasRegistry({ store: f.store }),
      load: async (id) => { fixedLoads.push(id); return `value-of-${id}`; },
    });
    await fixed.start();
    await f.writer.set('prod', 'snap-b');
    const l = await fixed.acquire();
    assert.deepEqual([l.snapshot, l.version, l.value], ['snap-c', 0, 'value-of-snap-c']);
    l.release();
    await fixed.stop();
    assert.deepEqual(fixedLoads, ['snap-c']);
    assert.throws(() => new LiveSnapshot({ registry: f.writer, load: async () => 1 }), /exactly one of alias or snapshot/);
  });

  it('start() fails clearly when the alias does not exist', async () => {
    const f = await fixture();
    const other = new LiveSnapshot<number>({ alias: 'missing', registry: f.writer, load: async () => 1 });
    await assert.rejects(other.start(), /alias missing does not exist/);
  });

  it('stop() while start() is still loading unloads what it loaded and stops following', async () => {
    const f = await fixture({ loadMs: 200, pollMs: 50 });
    const starting = f.live.start();
    await f.live.stop();
    await starting;
    assert.deepEqual(f.unloads, ['snap-a']);
    // A subscriber still open hears the flip; once it has, the stopped follower would have too.
    const heard: string[] = [];
    const probe = await f.writer.subscribe((rec) => heard.push(rec.snapshot));
    await f.writer.set('prod', 'snap-b');
    await waitFor('the flip reached a live subscriber', () => heard.includes('snap-b'));
    await probe.close();
    assert.deepEqual(f.loads, ['snap-a'], 'no load after stop (no subscription, no poll timer)');
  });

  it('stop() waits for open leases before unloading', async () => {
    const f = await fixture();
    await f.live.start();
    const lease = await f.live.acquire();
    const t0 = Date.now();
    setTimeout(() => lease.release(), 150);
    await f.live.stop();
    assert.ok(Date.now() - t0 >= 140, 'stop returned before the lease was released');
    assert.deepEqual(f.unloads, ['snap-a']);
    assert.deepEqual(f.violations, []);
  });
});
