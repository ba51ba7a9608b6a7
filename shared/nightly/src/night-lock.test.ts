// NightLock runs one night per alias at a time on a real local store: a held lock refuses a second run (naming
// the holder), is free again after release, is taken over once stale or when its holder process is gone here,
// and its heartbeat keeps refreshing the lock file's mtime until release (never over another run's lock).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalObjectStore } from '@rag/storage';
import { NightLock } from './night-lock.js';
import { nightLockKey } from './night-record.js';
import { NightRunningError } from './nightly-errors.js';

let dir: string;
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rag-night-lock-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = () => new LocalObjectStore(join(dir, `s${n++}`));
const lockPath = (store: LocalObjectStore, alias: string) => store.localPath(nightLockKey(alias));
/** Sets the lock file's mtime `ageMs` into the past, as if its holder stopped refreshing it then. */
const age = (path: string, ageMs: number) => { const t = (Date.now() - ageMs) / 1000; utimesSync(path, t, t); };
const body = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { token: string; pid: number; host: string; night: string; startedAt: string };
/** A pid that is certainly not running: a child that has already exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

test('the lock is the object nightly/<alias>/running.json with who holds it', async () => {
  const store = fresh();
  const lock = await NightLock.acquire(store, 'prod', '20261207', { heartbeatMs: 60_000 });
  try {
    assert.equal(nightLockKey('prod'), 'nightly/prod/running.json');
    const b = body(lockPath(store, 'prod'));
    assert.deepEqual([b.pid, b.host, b.night], [process.pid, hostname(), '20261207']);
    assert.ok(b.token.length > 0 && !Number.isNaN(Date.parse(b.startedAt)));
  } finally {
    await lock.release();
  }
  assert.equal(existsSync(lockPath(store, 'prod')), false, 'released: the lock object is gone');
});

test('a second acquire while the lock is held fails naming the holder; after release it can be taken', async () => {
  const store = fresh();
  const first = await NightLock.acquire(store, 'prod', '20261207', { heartbeatMs: 60_000 });
  await assert.rejects(NightLock.acquire(store, 'prod', '20261208', { heartbeatMs: 60_000 }), (err: unknown) => {
    assert.ok(err instanceof NightRunningError);
    assert.equal(err.retryable, true);
    assert.match(err.message, new RegExp(`a nightly run of prod is already running \\(night 20261207, pid ${process.pid} on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, since `));
    return true;
  });
  // Another alias has its own lock.
  const other = await NightLock.acquire(store, 'staging', '20261208', { heartbeatMs: 60_000 });
  await other.release();
  await first.release();
  const second = await NightLock.acquire(store, 'prod', '20261208', { heartbeatMs: 60_000 });
  assert.equal(body(lockPath(store, 'prod')).night, '20261208');
  await second.release();
});

test('a lock not refreshed for staleMs is taken over; the old holder\'s release leaves the new lock alone', async () => {
  const store = fresh();
  const stale = await NightLock.acquire(store, 'prod', '20261206', { staleMs: 60_000, heartbeatMs: 60_000 });
  const path = lockPath(store, 'prod');
  // Younger than staleMs: still held.
  age(path, 30_000);
  await assert.rejects(NightLock.acquire(store, 'prod', '20261207', { staleMs: 60_000, heartbeatMs: 60_000 }), NightRunningError);
  // Older than staleMs: taken over.
  age(path, 120_000);
  const taker = await NightLock.acquire(store, 'prod', '20261207', { staleMs: 60_000, heartbeatMs: 60_000 });
  const now = body(path);
  assert.equal(now.night, '20261207');
  await stale.release();
  assert.deepEqual(body(path), now, 'the stale holder does not delete the lock it lost');
  await taker.release();
  assert.equal(existsSync(path), false);
});

test('a fresh lock whose holder process on this machine is gone is taken over at once; on another machine it is not', async () => {
  const store = fresh();
  const key = nightLockKey('prod');
  const dead = { token: 'dead', pid: deadPid(), host: hostname(), night: '20261206', startedAt: new Date().toISOString() };
  await store.put(key, JSON.stringify(dead));
  const lock = await NightLock.acquire(store, 'prod', '20261207', { heartbeatMs: 60_000 });
  assert.equal(body(lockPath(store, 'prod')).night, '20261207');
  await lock.release();

  await store.put(key, JSON.stringify({ ...dead, host: `not-${hostname()}` }));
  await assert.rejects(NightLock.acquire(store, 'prod', '20261207', { heartbeatMs: 60_000 }), /already running \(night 20261206, pid \d+ on not-/);
  await store.delete(key);
});

test('an unreadable lock body still holds until stale', async () => {
  const store = fresh();
  const key = nightLockKey('prod');
  await store.put(key, 'not json');
  await assert.rejects(NightLock.acquire(store, 'prod', '20261207', { staleMs: 60_000 }), (err: unknown) => err instanceof NightRunningError && /^a nightly run of prod is already running$/.test(err.message));
  age(lockPath(store, 'prod'), 120_000);
  const lock = await NightLock.acquire(store, 'prod', '20261207', { staleMs: 60_000, heartbeatMs: 60_000 });
  await lock.release();
});

test('the heartbeat refreshes the lock file\'s mtime while held and stops at release', async () => {
  const store = fresh();
  const path = lockPath(store, 'prod');
  const lock = await NightLock.acquire(store, 'prod', '20261207', { staleMs: 10_000, heartbeatMs: 50 });
  try {
    const aged = Date.now() - 5_000;
    age(path, 5_000);
    // Any mtime later than a second after the aged one was written by the heartbeat after age().
    const deadline = Date.now() + 2_000;
    while (statSync(path).mtimeMs < aged + 4_000 && Date.now() < deadline) await sleep(20);
    assert.ok(statSync(path).mtimeMs >= aged + 4_000, 'the heartbeat rewrote the lock');
    // Refreshed, so another run is still refused even though 5 s passed "before".
    await assert.rejects(NightLock.acquire(store, 'prod', '20261208', { staleMs: 10_000 }), NightRunningError);
  } finally {
    await lock.release();
  }
  await sleep(200);
  assert.equal(existsSync(path), false, 'no heartbeat recreates the lock after release');
});

test('the heartbeat does not overwrite a lock that another run took over', async () => {
  const store = fresh();
  const lock = await NightLock.acquire(store, 'prod', '20261207', { staleMs: 10_000, heartbeatMs: 50 });
  const other = { token: 'other', pid: process.pid, host: hostname(), night: '20261208', startedAt: new Date().toISOString() };
  await store.put(nightLockKey('prod'), JSON.stringify(other));
  await sleep(250);
  assert.deepEqual(body(lockPath(store, 'prod')), other);
  await lock.release();
  assert.deepEqual(body(lockPath(store, 'prod')), other, 'release leaves the other run\'s lock');
});

test('a heartbeat already under way when release starts does not recreate the lock after release', async () => {
  // A store whose next get() waits until we let it go: holds one heartbeat between reading and rewriting the lock.
  class SlowGetStore extends LocalObjectStore {
    hold: { reached: () => void; go: Promise<void> } | undefined;
    override async get(key: string): Promise<Buffer> {
      const h = this.hold;
      this.hold = undefined;
      const got = await super.get(key);
      if (h) { h.reached(); await h.go; }
      return got;
    }
  }
  const store = new SlowGetStore(join(dir, `s${n++}`));
  const path = lockPath(store, 'prod');
  const lock = await NightLock.acquire(store, 'prod', '20261207', { staleMs: 10_000, heartbeatMs: 20 });
  let go!: () => void;
  const reached = new Promise<void>((res) => { store.hold = { reached: res, go: new Promise<void>((g) => { go = g; }) }; });
  const keepAlive = setTimeout(() => undefined, 5_000); // the heartbeat timer is unref'd: keep the loop alive meanwhile
  await reached; // a heartbeat has read the lock (still ours) and waits before rewriting it
  clearTimeout(keepAlive);
  const released = lock.release();
  await sleep(50); // let release read and delete, as far as it does before the heartbeat finishes
  go();
  await released;
  await sleep(100);
  assert.equal(existsSync(path), false, 'the lock is gone after release');
  const next = await NightLock.acquire(store, 'prod', '20261208', { staleMs: 10_000, heartbeatMs: 60_000 });
  await next.release();
});
