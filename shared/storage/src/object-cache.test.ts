// The local disk cache a serving process reads remote objects through: one GET per object, then none;
// a copy that no longer matches its sha256 is fetched again, not served; least recently used copies
// not in use are evicted to stay under the budget. Against a real S3-API server (s3rver) on loopback.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShardIntegrityError } from '@rag/core';
import { CountingObjectStore } from './counting-store.js';
import { LocalObjectStore } from './local-store.js';
import { ObjectCache, objectRanges, type ObjectRef } from './object-cache.js';
import { startS3DevServer, type S3DevServer } from './s3-dev-server.js';
import { S3ObjectStore } from './s3-store.js';

let dir: string;
let server: S3DevServer;
let s3: S3ObjectStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-object-cache-'));
  server = await startS3DevServer({ port: 0, dir: join(dir, 's3rver'), buckets: ['cache-test'] });
  s3 = new S3ObjectStore({ bucket: 'cache-test', prefix: `t-${randomUUID()}`, endpoint: server.endpoint, region: 'us-east-1', multipartMb: 5, credentials: server.credentials });
});
after(async () => {
  await s3.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function putObject(name: string, bytes: number): Promise<{ ref: ObjectRef; body: Buffer }> {
  const body = randomBytes(bytes);
  const ref = { key: `objects/${name}`, sha256: createHash('sha256').update(body).digest('hex'), bytes };
  await s3.put(ref.key, body);
  return { ref, body };
}

describe('ObjectCache', () => {
  it('copies an object once (one GET) and serves every range read after that from disk, in this process and the next', async () => {
    const { ref, body } = await putObject('a.f32', 100_000);
    const store = new CountingObjectStore(s3);
    const cacheDir = join(dir, 'once');
    const cache = new ObjectCache(store, { dir: cacheDir, maxBytes: 1 << 30 });
    await cache.prepare(ref);
    assert.deepEqual([store.counts.getToFile, store.reads], [1, 1]);
    const rows = cache.ranges(ref);
    for (const [a, b] of [[0, 16], [99_000, 100_000], [4_096, 8_192]] as const) assert.ok((await rows.read(a, b)).equals(body.subarray(a, b)));
    assert.equal(store.reads, 1, 'no request per read');
    assert.deepEqual([cache.stats.fills, cache.stats.hits], [1, 0]);
    // A new process: the copy is verified, not fetched.
    const next = new ObjectCache(store, { dir: cacheDir, maxBytes: 1 << 30 });
    assert.ok((await next.ranges(ref).read(10, 20)).equals(body.subarray(10, 20)));
    assert.equal(store.reads, 1);
    assert.deepEqual([next.stats.fills, next.stats.hits], [0, 1]);
  });

  it('a copy altered on disk is fetched again when a process first uses it, never served', async () => {
    const { ref, body } = await putObject('b.f32', 50_000);
    const store = new CountingObjectStore(s3);
    const cacheDir = join(dir, 'corrupt');
    await new ObjectCache(store, { dir: cacheDir, maxBytes: 1 << 30 }).prepare(ref);
    const copy = join(cacheDir, ref.sha256.slice(0, 2), ref.sha256);
    const bad = Buffer.from(body);
    bad[1234] = bad[1234]! ^ 0xff;
    await writeFile(copy, bad);
    const next = new ObjectCache(store, { dir: cacheDir, maxBytes: 1 << 30 });
    assert.ok((await next.ranges(ref).read(1230, 1240)).equals(body.subarray(1230, 1240)), 'the original bytes');
    assert.deepEqual([next.stats.corrupt, next.stats.fills, store.counts.getToFile], [1, 1, 2]);
  });

  it('an object that does not match its sha256 in the store is refused, not cached', async () => {
    const { ref } = await putObject('c.f32', 1_000);
    const cache = new ObjectCache(s3, { dir: join(dir, 'mismatch'), maxBytes: 1 << 30 });
    await assert.rejects(cache.prepare({ ...ref, sha256: '0'.repeat(64) }), (e: unknown) => e instanceof ShardIntegrityError && /does not match its sha256/.test(e.message));
    assert.equal(await cache.has('0'.repeat(64)), false);
  });

  it('evicts the least recently used copies that are not in use to stay under its budget', async () => {
    const objs = await Promise.all(['e0', 'e1', 'e2', 'e3'].map((n) => putObject(`${n}.f32`, 40_000)));
    const cacheDir = join(dir, 'evict');
    const cache = new ObjectCache(s3, { dir: cacheDir, maxBytes: 100_000 });
    const [a, b, c, d] = objs.map((o) => o.ref) as [ObjectRef, ObjectRef, ObjectRef, ObjectRef];
    await cache.prepare(a);
    await cache.prepare(b);
    // a and b are in use (a snapshot being served reads them): c goes over budget rather than evict them.
    await cache.prepare(c);
    assert.equal(cache.stats.evictions, 0);
    assert.equal(cache.stats.bytes, 120_000);
    // The snapshot that used a and b is unloaded; d evicts the least recently used of them (a), then b.
    await cache.ranges(b).read(0, 10);
    cache.release([a, b]);
    await cache.prepare(d);
    assert.deepEqual([await cache.has(a.sha256), await cache.has(b.sha256), await cache.has(c.sha256), await cache.has(d.sha256)], [false, false, true, true]);
    assert.equal(cache.stats.evictions, 2);
    assert.equal(cache.stats.bytes, 80_000);
    const files = (await readdir(cacheDir, { recursive: true })).filter((f) => /[0-9a-f]{64}$/.test(f));
    assert.equal(files.length, 2);
    // An evicted object is fetched again when needed.
    assert.ok((await cache.ranges(a).read(5, 15)).equals(objs[0]!.body.subarray(5, 15)));
  });

  it('local storage is read in place (no copy, no request); without a cache a remote store gets range requests', async () => {
    const local = new CountingObjectStore(new LocalObjectStore(join(dir, 'local')));
    const body = randomBytes(5_000);
    const ref = { key: 'objects/x.f32', sha256: createHash('sha256').update(body).digest('hex') };
    await local.put(ref.key, body);
    const before = local.total;
    assert.ok((await objectRanges(local, undefined, ref).read(100, 200)).equals(body.subarray(100, 200)));
    assert.equal(local.total, before, 'read from its own file');
    const remote = new CountingObjectStore(s3);
    const { ref: r, body: b } = await putObject('y.f32', 5_000);
    assert.ok((await objectRanges(remote, undefined, r).read(0, 100)).equals(b.subarray(0, 100)));
    assert.equal(remote.counts.getRange, 1);
  });
});
