// test-lane: serial (a 300 ms lock TTL must be renewed in time)
import '@rag/core/quiet-warnings';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { SnapshotNotReadyError, UsageError } from '@rag/core';
import { createRedisConnection, startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { LocalObjectStore, S3ObjectStore, startS3DevServer, type ObjectStore, type S3DevServer } from '@rag/storage';
import { AliasConflictError, AliasNotFoundError, UnknownSnapshotRefError } from './alias-errors.js';
import { aliasCacheKey, aliasHistoryKey, aliasKey, aliasLockKey } from './alias-layout.js';
import { AliasRegistry } from './alias-registry.js';
import type { AliasRecord } from './alias-record.schema.js';
import { publishManifestOnly } from './testing.js';

let dir: string;
let redisServer: EmbeddedRedis;
const conns: Redis[] = [];
const registries: AliasRegistry[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-alias-'));
  redisServer = await startEmbeddedRedis({ dir: join(dir, 'redis') });
});
after(async () => {
  for (const r of registries) await r.close();
  for (const c of conns) c.disconnect();
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves once `cond` holds; fails the test after 5 s. */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${cond}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function redis(): Redis {
  const c = createRedisConnection(redisServer.url);
  conns.push(c);
  return c;
}

/** A fresh store and key prefix per test, so tests never see each other's aliases. */
async function fixture(opts: { redis?: boolean } = {}) {
  const store = new LocalObjectStore(join(dir, `store-${randomUUID()}`));
  const prefix = `t${randomUUID().slice(0, 8)}`;
  for (const id of ['snap-a', 'snap-b', 'snap-c']) await publishManifestOnly(store, id);
  const make = (withRedis = opts.redis ?? true) => {
    const r = new AliasRegistry({ store, prefix, redis: withRedis ? redis() : undefined });
    registries.push(r);
    return r;
  };
  return { store, prefix, make };
}

describe('AliasRegistry (local storage + embedded redis)', () => {
  it('set/get/list: versions count up, previous is kept, the object in storage is the record', async () => {
    const { store, make } = await fixture();
    const reg = make();
    assert.equal(await reg.get('prod'), undefined);
    const r1 = await reg.set('prod', 'snap-a');
    assert.equal(r1.version, 1);
    assert.equal(r1.snapshot, 'snap-a');
    assert.equal(r1.previous, undefined);
    const r2 = await reg.set('prod', 'snap-b');
    assert.deepEqual([r2.version, r2.snapshot, r2.previous], [2, 'snap-b', 'snap-a']);
    assert.ok(Date.parse(r2.updatedAt) >= Date.parse(r1.updatedAt));
    await reg.set('staging', 'snap-c');
    assert.deepEqual(await reg.get('prod'), r2);
    const onDisk = JSON.parse(await readFile(join((store as LocalObjectStore).root, aliasKey('prod')), 'utf8'));
    assert.equal(onDisk.schema, 1);
    assert.deepEqual(onDisk, r2);
    assert.deepEqual((await reg.list()).map((a) => [a.name, a.snapshot, a.version]), [['prod', 'snap-b', 2], ['staging', 'snap-c', 1]]);
    assert.deepEqual((await reg.history('prod')).map((a) => [a.version, a.snapshot]), [[1, 'snap-a'], [2, 'snap-b']]);
    // A second instance over the same storage sees the same truth.
    assert.deepEqual(await make(false).get('prod'), r2);
  });

  it('refuses a snapshot that is not published, and changes nothing', async () => {
    const { store, make } = await fixture();
    const reg = make();
    await reg.set('prod', 'snap-a');
    // A build in progress has objects but no manifest yet.
    await store.put('snapshots/half-built/passages/00000.jsonl', '{}\n');
    for (const target of ['half-built', 'never-built']) {
      await assert.rejects(reg.set('prod', target), (e: unknown) => {
        assert.ok(e instanceof SnapshotNotReadyError, String(e));
        assert.match(e.message, new RegExp(`snapshot ${target} is not published`));
        assert.match(e.hint ?? '', /published snapshots: snap-a, snap-b, snap-c/);
        return true;
      });
    }
    const now = await reg.get('prod');
    assert.deepEqual([now?.snapshot, now?.version], ['snap-a', 1]);
    await assert.rejects(reg.set('fresh', 'never-built'), SnapshotNotReadyError);
    assert.equal(await reg.get('fresh'), undefined);
  });

  it('refuses bad alias names and snapshot ids with a UsageError, and alias names that are snapshot ids', async () => {
    const { make } = await fixture();
    const reg = make();
    for (const bad of ['Prod', '../x', 'a/b', '', '-x', 'a b', 'x'.repeat(129)]) {
      await assert.rejects(reg.set(bad, 'snap-a'), (e: unknown) => e instanceof UsageError && /invalid alias name/.test(e.message));
      await assert.rejects(reg.get(bad), UsageError);
    }
    await assert.rejects(reg.set('prod', 'Snap-A'), (e: unknown) => e instanceof UsageError && /invalid snapshot id/.test(e.message));
    await assert.rejects(reg.set('snap-b', 'snap-a'), (e: unknown) => e instanceof UsageError && /also a snapshot id/.test(e.message));
    assert.deepEqual(await reg.list(), []);
  });

  it('require() of a missing alias names the known ones', async () => {
    const { make } = await fixture();
    const reg = make();
    await reg.set('prod', 'snap-a');
    await assert.rejects(reg.require('nope'), (e: unknown) => e instanceof AliasNotFoundError && /known aliases: prod/.test(e.hint ?? ''));
  });

  it('resolveSnapshotRef: alias first, then snapshot id, else an error listing both', async () => {
    const { store, make } = await fixture();
    const reg = make();
    await reg.set('prod', 'snap-b');
    assert.deepEqual(await reg.resolveSnapshotRef('prod').then((r) => [r.kind, r.snapshotId, r.alias?.version]), ['alias', 'snap-b', 1]);
    assert.deepEqual(await reg.resolveSnapshotRef('snap-c'), { ref: 'snap-c', snapshotId: 'snap-c', kind: 'snapshot' });
    await assert.rejects(reg.resolveSnapshotRef('missing'), (e: unknown) => {
      assert.ok(e instanceof UnknownSnapshotRefError, String(e));
      assert.equal(e.code, 'UNKNOWN_SNAPSHOT_REF');
      assert.match(e.hint ?? '', /aliases: prod->snap-b; snapshots: snap-a, snap-b, snap-c/);
      return true;
    });
    await assert.rejects(reg.resolveSnapshotRef('../etc'), UsageError);
    // The target disappeared from storage after the flip.
    await store.delete('snapshots/snap-b/manifest.json');
    await assert.rejects(reg.resolveSnapshotRef('prod'), (e: unknown) => e instanceof SnapshotNotReadyError && /no longer published/.test(e.message));
  });

  it('a flip reaches a second registry instance over pub/sub, and lands in the Redis cache', async () => {
    const { prefix, make } = await fixture();
    const writer = make();
    const reader = make();
    const seen: AliasRecord[] = [];
    const sub = await reader.subscribe((rec) => seen.push(rec));
    const r1 = await writer.set('prod', 'snap-a');
    const r2 = await writer.set('prod', 'snap-c');
    await until(() => seen.length >= 2);
    assert.deepEqual(seen, [r1, r2]);
    const cached = JSON.parse((await redis().hget(aliasCacheKey(prefix, writer.deployment), 'prod'))!);
    assert.deepEqual(cached, r2);
    assert.deepEqual(await reader.getCached('prod'), r2);
    await sub.close();
    // A subscriber still open hears the next flip: once it has, a closed one would have heard it too.
    const heard: AliasRecord[] = [];
    const probe = await make().subscribe((rec) => heard.push(rec));
    const r3 = await writer.set('prod', 'snap-b');
    await until(() => heard.length === 1);
    assert.deepEqual(heard, [r3]);
    assert.equal(seen.length, 2, 'no messages after close()');
    await probe.close();
  });

  it('a record read while its PUT is still in flight (partial bytes) is read again; one that stays partial is corrupt', async () => {
    const { store, prefix } = await fixture();
    const writer = new AliasRegistry({ store, prefix });
    const r1 = await writer.set('prod', 'snap-a');
    // As s3rver serves an object it is still writing: the first reads of the record see a prefix of it.
    let partialReads = 0;
    const writing: ObjectStore = Object.create(store);
    writing.get = async (key) => {
      const whole = await store.get(key);
      return key === aliasKey('prod') && partialReads++ < 2 ? whole.subarray(0, whole.length >> 1) : whole;
    };
    assert.deepEqual(await new AliasRegistry({ store: writing, prefix }).get('prod'), r1);
    assert.equal(partialReads, 3, 'read again until whole');
    const stuck: ObjectStore = Object.create(store);
    stuck.get = async (key) => {
      const whole = await store.get(key);
      return key === aliasKey('prod') ? whole.subarray(0, whole.length >> 1) : whole;
    };
    await assert.rejects(new AliasRegistry({ store: stuck, prefix }).get('prod'), /alias record aliases\/prod\.json is not valid JSON/);
  });

  it('the cache never goes back to an older version; syncCache refills it from storage', async () => {
    const { prefix, make } = await fixture();
    const reg = make();
    const r = redis();
    await reg.set('prod', 'snap-a');
    const v2 = await reg.set('prod', 'snap-b');
    await r.del(aliasCacheKey(prefix, reg.deployment));
    assert.equal(await reg.syncCache(), 1);
    assert.deepEqual(JSON.parse((await r.hget(aliasCacheKey(prefix, reg.deployment), 'prod'))!), v2);
    assert.equal(await reg.syncCache(), 0, 'same version: not rewritten');
  });

  it('concurrent flips from two instances get unique versions 1..N and the pointer ends at N', async () => {
    const { make } = await fixture();
    const a = make();
    const b = make();
    const targets = ['snap-a', 'snap-b', 'snap-c'];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).set('prod', targets[i % 3]!)));
    assert.deepEqual(results.map((r) => r.version).sort((x, y) => x - y), Array.from({ length: 12 }, (_, i) => i + 1));
    const final = await a.get('prod');
    assert.equal(final?.version, 12);
    assert.equal(final?.snapshot, results.find((r) => r.version === 12)!.snapshot);
    assert.equal((await a.history('prod')).length, 12);
  });

  it('without Redis, racing writers still never share a version number (create-if-absent history)', async () => {
    const { make } = await fixture({ redis: false });
    const writers = [make(), make(), make()];
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => writers[i % 3]!.set('prod', i % 2 ? 'snap-a' : 'snap-b')));
    const versions = results.map((r) => r.version);
    assert.equal(new Set(versions).size, versions.length, `duplicate versions: ${versions}`);
    assert.equal((await writers[0]!.history('prod')).length, 9);
  });

  it('expectVersion makes a flip compare-and-set', async () => {
    const { make } = await fixture();
    const reg = make();
    await reg.set('prod', 'snap-a', { expectVersion: 0 });
    await assert.rejects(reg.set('prod', 'snap-b', { expectVersion: 0 }), AliasConflictError);
    const r = await reg.set('prod', 'snap-b', { expectVersion: 1 });
    assert.equal(r.version, 2);
  });

  it('expectVersion is a compare-and-set without the Redis lock: of two racing writers exactly one wins', async () => {
    const { make } = await fixture({ redis: false });
    const a = make();
    const b = make();
    await a.set('prod', 'snap-a');
    for (let round = 1; round <= 20; round++) {
      const results = await Promise.allSettled([a.set('prod', 'snap-b', { expectVersion: round }), b.set('prod', 'snap-c', { expectVersion: round })]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status)}`);
      assert.ok(lost[0]!.reason instanceof AliasConflictError, String(lost[0]!.reason));
      assert.match(lost[0]!.reason.message, new RegExp(`is at version ${round + 1}, not ${round}`));
      assert.equal((await a.get('prod'))?.version, round + 1);
    }
    assert.equal((await a.history('prod')).length, 21);
  });

  it('the pointer cannot go back: a slow writer\'s older version is overridden by the history, and set() repairs it', async () => {
    const { store, make } = await fixture({ redis: false });
    const reg = make();
    const v1 = await reg.set('prod', 'snap-a');
    const v2 = await reg.set('prod', 'snap-b');
    // A writer that claimed v1 long ago finally writes its pointer: out of order.
    await store.put(aliasKey('prod'), JSON.stringify(v1));
    assert.deepEqual(await reg.get('prod'), v2, 'readers follow the history past a stale pointer');
    // A writer that died between claiming v3 and writing the pointer: the claim is the flip.
    const v3 = { ...v2, version: 3, snapshot: 'snap-c', previous: 'snap-b' };
    await store.put(aliasHistoryKey('prod', 3), JSON.stringify(v3));
    assert.equal((await reg.get('prod'))?.snapshot, 'snap-c');
    const v4 = await reg.set('prod', 'snap-a');
    assert.equal(v4.version, 4);
    assert.equal(JSON.parse((await store.get(aliasKey('prod'))).toString()).version, 4);
  });

  it('the Redis lock is renewed while a slow flip holds it', async () => {
    const { store, prefix } = await fixture();
    // Storage that takes 900 ms to create the history entry: 3x the lock's lifetime.
    const slow: ObjectStore = Object.create(store);
    slow.putIfAbsent = async (key, body) => { await new Promise((r) => setTimeout(r, 900)); return store.putIfAbsent(key, body); };
    const reg = new AliasRegistry({ store: slow, prefix, redis: redis(), lockTtlMs: 300 });
    registries.push(reg);
    const probe = redis();
    const flip = reg.set('prod', 'snap-a');
    const ttls: number[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 120));
      ttls.push(await probe.pttl(aliasLockKey(prefix, reg.deployment, 'prod')));
    }
    await flip;
    assert.ok(ttls.every((t) => t > 0), `lock held throughout: pttl ${ttls}`);
    assert.equal(await probe.exists(aliasLockKey(prefix, reg.deployment, 'prod')), 0, 'released after the flip');
  });

  it('two deployments sharing one Redis and prefix do not hear each other\'s flips or share a cache', async () => {
    const one = await fixture();
    const other = new LocalObjectStore(join(dir, `store-${randomUUID()}`));
    await publishManifestOnly(other, 'snap-x');
    const regOne = one.make();
    const regOther = new AliasRegistry({ store: other, prefix: one.prefix, redis: redis() });
    registries.push(regOther);
    assert.notEqual(regOne.channel, regOther.channel);
    const heard: string[] = [];
    const sub = await regOther.subscribe((rec) => heard.push(rec.snapshot));
    // One's own subscriber hears its flip; the other deployment's, published first, must not reach regOther's.
    const oneHeard: string[] = [];
    const oneSub = await one.make().subscribe((rec) => oneHeard.push(rec.snapshot));
    await regOne.set('prod', 'snap-a');
    await until(() => oneHeard.length === 1);
    await regOther.set('prod', 'snap-x');
    await until(() => heard.length >= 1);
    assert.deepEqual(oneHeard, ['snap-a']);
    assert.deepEqual(heard, ['snap-x']);
    await oneSub.close();
    assert.equal((await regOther.getCached('prod'))?.snapshot, 'snap-x');
    assert.equal((await regOne.getCached('prod'))?.snapshot, 'snap-a');
    await sub.close();
  });

  it('without Redis, subscribers of the same instance still hear its flips', async () => {
    const { make } = await fixture({ redis: false });
    const reg = make();
    const seen: string[] = [];
    const sub = await reg.subscribe((rec) => seen.push(`${rec.name}@${rec.version}`));
    await reg.set('prod', 'snap-a');
    await sub.close();
    await reg.set('prod', 'snap-b');
    assert.deepEqual(seen, ['prod@1']);
    assert.equal(await reg.getCached('prod').then((r) => r?.snapshot), 'snap-b');
  });
});

describe('AliasRegistry on S3 (s3rver)', () => {
  let s3: S3DevServer;
  let store: ObjectStore;
  before(async () => {
    s3 = await startS3DevServer({ port: 0, dir: join(dir, 's3rver'), buckets: ['rag'] });
    store = new S3ObjectStore({ bucket: 'rag', prefix: `aliases-${randomUUID()}`, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, multipartMb: 5 });
  });
  after(async () => {
    await store.close();
    await s3.close();
  });

  it('set/get/list/history/resolve and the refusal of unpublished snapshots work the same', async () => {
    await publishManifestOnly(store, 'enwiki-2016');
    await publishManifestOnly(store, 'enwiki-2018');
    const reg = new AliasRegistry({ store, prefix: 's3t', redis: redis() });
    registries.push(reg);
    const seen: AliasRecord[] = [];
    await (await make2nd(reg)).subscribe((r) => seen.push(r));
    await reg.set('prod', 'enwiki-2016');
    const r2 = await reg.set('prod', 'enwiki-2018');
    await assert.rejects(reg.set('prod', 'enwiki-2020'), SnapshotNotReadyError);
    assert.deepEqual(await reg.get('prod'), r2);
    assert.deepEqual((await reg.list()).map((a) => `${a.name}->${a.snapshot}@${a.version}`), ['prod->enwiki-2018@2']);
    assert.deepEqual((await reg.history('prod')).map((a) => a.snapshot), ['enwiki-2016', 'enwiki-2018']);
    assert.equal((await reg.resolveSnapshotRef('prod')).snapshotId, 'enwiki-2018');
    assert.equal((await reg.resolveSnapshotRef('enwiki-2016')).kind, 'snapshot');
    assert.deepEqual(await store.list('aliases/'), ['aliases/prod.json']);
    await until(() => seen.length >= 2);
    assert.deepEqual(seen.map((r) => r.version), [1, 2]);
  });

  it('expectVersion races on s3rver (which ignores If-None-Match): exactly one winner per round', async () => {
    const race = new S3ObjectStore({ bucket: 'rag', prefix: `race-${randomUUID()}`, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, multipartMb: 5 });
    try {
      for (const id of ['snap-a', 'snap-b', 'snap-c']) await publishManifestOnly(race, id);
      const a = new AliasRegistry({ store: race });
      const b = new AliasRegistry({ store: race });
      await a.set('prod', 'snap-a');
      for (let round = 1; round <= 8; round++) {
        const results = await Promise.allSettled([a.set('prod', 'snap-b', { expectVersion: round }), b.set('prod', 'snap-c', { expectVersion: round })]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: ${results.map((r) => r.status === 'rejected' ? (r.reason as Error).message : 'ok')}`);
        const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        assert.ok(lost.reason instanceof AliasConflictError);
        const won = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<AliasRecord>).value;
        assert.deepEqual(await a.get('prod'), won, 'storage holds the winner\'s record');
      }
    } finally {
      await race.close();
    }
  });

  async function make2nd(reg: AliasRegistry): Promise<AliasRegistry> {
    const other = new AliasRegistry({ store: reg.store, prefix: reg.prefix, redis: redis() });
    registries.push(other);
    return other;
  }
});
