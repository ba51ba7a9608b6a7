import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@rag/storage';
import { BuildLease, type AcquireResult } from './build-lease.js';

function fresh() {
  const dir = mkdtempSync(join(tmpdir(), 'rag-lease-'));
  return { store: new LocalObjectStore(dir), done: () => rmSync(dir, { recursive: true, force: true }) };
}
const leaseOf = (r: AcquireResult) => { assert.ok('lease' in r, 'acquired'); return r.lease; };

test('one holder at a time; the other learns who holds it and what it builds', async () => {
  const { store, done } = fresh();
  try {
    const a = leaseOf(await BuildLease.acquire(store, 'snap', { requestSha256: 'req-a', request: { shardSize: 40 } }));
    const b = await BuildLease.acquire(store, 'snap', { requestSha256: 'req-b' });
    assert.ok('heldBy' in b);
    assert.equal(b.heldBy.requestSha256, 'req-a');
    assert.deepEqual(b.heldBy.request, { shardSize: 40 });
    assert.equal(b.heldBy.owner.pid, process.pid);
    assert.ok(b.expiresInMs > 0 && b.expiresInMs <= 30_000);
    // Another id is independent.
    await (leaseOf(await BuildLease.acquire(store, 'other', { requestSha256: 'x' }))).release();
    await a.release();
    const c = leaseOf(await BuildLease.acquire(store, 'snap', { requestSha256: 'req-b' }));
    assert.equal(c.record.generation, 2);
    await c.release();
    assert.deepEqual(await store.list('leases/build/snap/'), ['leases/build/snap/0000000002.json']);
  } finally {
    done();
  }
});

test('an expired lease is taken over by exactly one of many; the stalled holder finds out it lost', async () => {
  const { store, done } = fresh();
  try {
    let clock = Date.now();
    const now = () => clock;
    let lostTo: unknown;
    const stalled = leaseOf(await BuildLease.acquire(store, 'snap', { requestSha256: 'r', ttlMs: 1000, renewMs: 3_600_000, now, onLost: (by) => { lostTo = by; } }));
    clock += 500;
    assert.ok('heldBy' in (await BuildLease.acquire(store, 'snap', { requestSha256: 'r', now })), 'not expired yet');
    clock += 1000;
    const racers = await Promise.all(Array.from({ length: 8 }, () => BuildLease.acquire(store, 'snap', { requestSha256: 'r2', ttlMs: 1000, renewMs: 3_600_000, now })));
    const winners = racers.filter((r) => 'lease' in r);
    assert.equal(winners.length, 1, 'exactly one takes the expired lease over');
    const winner = leaseOf(winners[0]!);
    assert.equal(winner.record.generation, 2);
    await stalled.renew();
    assert.ok(stalled.isLost);
    assert.equal((lostTo as { generation: number }).generation, 2);
    // The loser's release leaves the winner's lease alone.
    await stalled.release();
    assert.ok('heldBy' in (await BuildLease.acquire(store, 'snap', { requestSha256: 'r3', now })));
    await winner.release();
  } finally {
    done();
  }
});

test('the heartbeat keeps a lease alive past its TTL', async () => {
  const { store, done } = fresh();
  try {
    const held = leaseOf(await BuildLease.acquire(store, 'snap', { requestSha256: 'r', ttlMs: 600, renewMs: 100 }));
    await new Promise((r) => setTimeout(r, 1500));
    const other = await BuildLease.acquire(store, 'snap', { requestSha256: 'r2' });
    assert.ok('heldBy' in other, 'still held thanks to the heartbeat');
    await held.release();
    assert.ok('lease' in (await BuildLease.acquire(store, 'snap', { requestSha256: 'r2' })));
  } finally {
    done();
  }
});
