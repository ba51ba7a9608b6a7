// Interleavings of actors that share storage (issue: storage you can bet a production alias on).
// One actor runs over a GatedObjectStore and is paused between two of its storage operations; the
// other runs to completion in the gap; then the first goes on. Real static encoder, real FAISS, a
// local object store, the real stage, alias, rm and gc code (no queue). Each case failed before the
// removal states, holds, fences and two-pass gc existed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GcAbortedError, LeaseLostError, SnapshotExistsError, TransientStorageError, createLogger } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { GatedObjectStore, LocalObjectStore, type ObjectStore } from '@rag/storage';
import {
  GC_EXCLUSIVE_KEY, SnapshotLayout, SnapshotRegistry, assertObjectsPresent, collectGarbage, contentKeysIn, holdsPrefix, leaseKey, putContent, retiringKey,
} from '@rag/snapshot';
import { AliasRegistry, SnapshotInUseError, removeSnapshot } from '@rag/registry';
import { BuildLease, assertFence } from './build-lease.js';
import { claimBuild } from './claim-build.js';
import { runBuildInProcess } from './build-in-process.js';
import { runEncode } from './encode-stage.js';
import { runIngest } from './ingest-stage.js';
import { runPublish } from './publish-stage.js';
import { buildRequestSha256 } from './build-request-diff.js';
import { PAYLOAD_VERSION, type BuildRequest } from './job-payloads.schema.js';
import { writeMarker } from './build-markers.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC = join(REPO, 'models/minilm-static-256');
const logger = createLogger({ service: 'test', level: 'silent' });

let dir: string;
let encoder: Encoder;
/** A store with snapshots `old` and `new` (night 1 and night 2 of one wiki), copied for every test. */
let seeded: string;
let night2: string;

const words = ['river', 'delta', 'silt', 'harbour', 'lantern', 'orchard', 'quarry', 'meadow', 'falcon', 'copper'];
function dump(path: string, edit: (d: number) => string): string {
  const docs = Array.from({ length: 24 }, (_, d) => ({
    id: `doc${d}`,
    title: `Page ${d}`,
    text: Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? `p${d}w${i}` : words[(i * 7 + d) % words.length])).join(' ') + edit(d),
  }));
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
}

function request(id: string, source: string, base?: string): BuildRequest {
  return {
    v: PAYLOAD_VERSION, snapshotId: id, source: { path: source, format: 'jsonl' }, shardSize: 16, wordsPerPassage: 20,
    index: { kind: 'flat', params: {} }, encoderDir: STATIC, ...(base ? { base } : {}), requestedAt: new Date().toISOString(),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rag-interleave-'));
  encoder = await loadEncoder({ dir: STATIC });
  const night1 = dump(join(dir, 'night1.jsonl'), () => '');
  // Night 2 appends words to every third page: its first passages stay byte-identical (reuse plans).
  night2 = dump(join(dir, 'night2.jsonl'), (d) => (d % 3 === 0 ? ' appended tail words here' : ''));
  seeded = join(dir, 'seed');
  const store = new LocalObjectStore(seeded);
  await runBuildInProcess(request('old', night1), { store, encoder, logger });
  await runBuildInProcess(request('new', night1), { store, encoder, logger });
  await new AliasRegistry({ store }).set('prod', 'new');
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fresh(): { root: string; store: LocalObjectStore; gated: GatedObjectStore } {
  const root = join(dir, `t${n++}`);
  cpSync(seeded, root, { recursive: true });
  const store = new LocalObjectStore(root);
  return { root, store, gated: new GatedObjectStore(new LocalObjectStore(root)) };
}

const published = (store: ObjectStore, id: string) => new SnapshotRegistry(store).isPublished(id);

test('rm x alias set: a flip paused between its checks and its version claim fails, and the alias stays on a published snapshot', async () => {
  const { store, gated } = fresh();
  const flipper = new AliasRegistry({ store: gated });
  const paused = gated.pauseAt((op, key) => op === 'putIfAbsent' && key.startsWith('alias-history/prod/'));
  const flip = flipper.set('prod', 'old'); // a rollback
  await paused.reached;
  // In the gap: remove the rollback target. It sees the flip's hold and fences its version.
  const r = await removeSnapshot(store, new AliasRegistry({ store }), 'old');
  assert.equal(r.kind, 'snapshot');
  paused.release();
  await assert.rejects(flip, /old/);
  const aliases = new AliasRegistry({ store });
  const resolved = await aliases.resolveSnapshotRef('prod');
  assert.equal(resolved.snapshotId, 'new');
  assert.equal(await published(store, 'new'), true);
  const history = await aliases.history('prod');
  assert.equal(history.at(-1)!.voided !== undefined, true, 'the fenced version is recorded as voided');
});

test('rm x alias set: a flip that arrives while rm has marked the snapshot retiring is refused; rm finishes', async () => {
  const { store, gated } = fresh();
  const paused = gated.pauseAt((op, key) => op === 'list' && key === holdsPrefix('old'));
  const rm = removeSnapshot(gated, new AliasRegistry({ store: gated }), 'old');
  await paused.reached;
  assert.equal(await store.exists(retiringKey('old')), true);
  await assert.rejects(new AliasRegistry({ store }).set('prod', 'old'), /being removed/);
  paused.release();
  await rm;
  assert.equal((await new AliasRegistry({ store }).resolveSnapshotRef('prod')).snapshotId, 'new');
  assert.equal(await published(store, 'old'), false);
});

test('rm x alias set: an alias whose writer died after claiming its version (no pointer object) still keeps rm away', async () => {
  const { store, gated } = fresh();
  const paused = gated.pauseAt((op, key) => op === 'put' && key === 'aliases/staging.json');
  const flip = new AliasRegistry({ store: gated }).set('staging', 'old');
  await paused.reached; // the writer "dies" here: version 1 is claimed, the pointer never written
  await assert.rejects(removeSnapshot(store, new AliasRegistry({ store }), 'old'), (err: unknown) => err instanceof SnapshotInUseError && /alias staging/.test((err as Error).message));
  assert.equal(await published(store, 'old'), true);
  assert.equal(await store.exists(retiringKey('old')), false, 'the refused rm took its mark back');
  paused.release();
  await flip;
});

test('rm base x incremental build paused before publish: rm is refused while the build depends on it; the build publishes', async () => {
  const { store, gated } = fresh();
  const paused = gated.pauseAt((op, key) => op === 'putIfAbsent' && key === new SnapshotLayout('n2').manifest);
  const build = runBuildInProcess(request('n2', night2, 'old'), { store: gated, encoder, logger });
  await paused.reached;
  await assert.rejects(removeSnapshot(store, new AliasRegistry({ store }), 'old'), (err: unknown) => err instanceof SnapshotInUseError && /build n2 reads it as its base/.test((err as Error).message));
  paused.release();
  const m = (await build)!;
  assert.equal(m.base?.id, 'old');
  await assertObjectsPresent(store, m, 'n2');
  // Published: the base's hold is gone, so the base may go now.
  await removeSnapshot(store, new AliasRegistry({ store }), 'old');
  assert.equal(await published(store, 'old'), false);
});

test('gc x incremental build: reuse plans are gc roots, so base embeddings an unfinished build copies from survive the base going', async () => {
  const { store } = fresh();
  const req = request('n2', night2, 'old');
  const ingest = await runIngest(req, { store, logger });
  const planned = ingest.shards.filter((s) => !s.kept && s.reuse);
  assert.ok(planned.length > 0, 'night 2 has rows whose embeddings are copied from the base');
  // The base goes by a path that does not check holds (an older version's rm, or by hand), then gc.
  await store.delete(new SnapshotLayout('old').manifest);
  await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false });
  for (const s of planned) await runEncode({ v: PAYLOAD_VERSION, snapshotId: 'n2', shard: s.shard, encoderDir: STATIC, index: req.index }, { store, encoder, logger });
  // ...and publish refuses the build whose base is gone instead of taking another's encoder.
  await assert.rejects(runBuildInProcess(req, { store, encoder, logger }), /(snapshot old is not published|base snapshot old)/);
});

test('publish refuses a base id that was removed and built again since the build started', async () => {
  const { store, gated } = fresh();
  const paused = gated.pauseAt((op, key) => op === 'get' && key === new SnapshotLayout('old').manifest && gated.log.some((l) => l.includes('_build/index-')));
  const build = runBuildInProcess(request('n2', night2, 'old'), { store: gated, encoder, logger });
  await paused.reached;
  // Another manifest under the base id (a rebuild after an rm by hand): other bytes.
  const m = JSON.parse((await store.get(new SnapshotLayout('old').manifest)).toString()) as { createdAt: string };
  m.createdAt = new Date(0).toISOString();
  await store.put(new SnapshotLayout('old').manifest, JSON.stringify(m, null, 2) + '\n');
  paused.release();
  await assert.rejects(build, /not the one this build started from/);
  assert.equal(await published(store, 'n2'), false);
});

test('gc fails closed: a transient error reading an unfinished build\'s marker aborts the run with nothing deleted', async () => {
  const { store, gated } = fresh();
  await runBuildInProcess(request('half', night2), { store, encoder, logger, only: [0] });
  const before = (await store.list('objects/')).length;
  gated.failAt((op, key) => op === 'get' && key.startsWith('snapshots/half/_build/encode-'), () => new TransientStorageError('503 Slow Down'));
  await assert.rejects(collectGarbage(gated, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false }), GcAbortedError);
  assert.equal((await store.list('objects/')).length, before, 'nothing deleted');
  // The resumed build still finds every object it made.
  const m = (await runBuildInProcess(request('half', night2), { store, encoder, logger }))!;
  await assertObjectsPresent(store, m, 'half');
});

test('gc x resumed build: a stage whose marker names a missing object is redone, not skipped, and publish checks every object', async () => {
  const { store } = fresh();
  await runBuildInProcess(request('half', night2), { store, encoder, logger, only: [0, 1] });
  const marker = JSON.parse((await store.get(new SnapshotLayout('half').encodeMarker(0))).toString()) as { key: string };
  await store.delete(marker.key); // lost (collected while the build was stopped, deleted by hand)
  const ingestMarker = (await store.get(new SnapshotLayout('half').ingestMarker())).toString();
  const shard1 = (JSON.parse(ingestMarker) as { shards: Array<{ key: string }> }).shards[1]!.key;
  await store.delete(shard1); // an ingest output too: ingest is redone and rewrites it
  const m = (await runBuildInProcess(request('half', night2), { store, encoder, logger }))!;
  const named = await assertObjectsPresent(store, m, 'half');
  assert.ok(named >= m.shards.length * 3);
  assert.equal(await store.exists(marker.key), true, 'the embeddings were made again');
});

test('gc is two-pass: an object goes only after a grace period unreferenced, and not if a build rewrote it meanwhile', async () => {
  const { store } = fresh();
  const T = Date.now() + 5000; // gc's clock: after both objects were written
  const a = await putContent(store, 'leftover a\n', 'passages');
  const b = await putContent(store, 'leftover b\n', 'passages');
  const hour = 3600_000;
  const r1 = await collectGarbage(store, { graceMs: hour, abandonedAfterMs: 1e12, dryRun: false, now: T });
  assert.equal(r1.deleted, 0);
  assert.ok(r1.keptInGrace >= 2);
  const r2 = await collectGarbage(store, { graceMs: hour, abandonedAfterMs: 1e12, dryRun: false, now: T + hour / 2 });
  assert.equal(r2.deleted, 0, 'not a whole grace period yet');
  // A build reuses b between the second and third runs (putContent rewrites what it reuses).
  await store.put(b.key, 'leftover b\n');
  utimesSync(store.localPath(b.key), (T + hour) / 1000, (T + hour) / 1000);
  const r3 = await collectGarbage(store, { graceMs: hour, abandonedAfterMs: 1e12, dryRun: false, now: T + 2 * hour });
  assert.ok(r3.deletedKeys.includes(a.key));
  assert.equal(await store.exists(a.key), false);
  assert.equal(await store.exists(b.key), true, 'rewritten after it was first seen: its grace period starts again');
});

test('gc x build reusing an object between gc\'s judgement and its delete: the rewritten object stays', async () => {
  const { store, gated } = fresh();
  const c = await putContent(store, 'an old passage shard\n', 'passages');
  const old = (Date.now() - 5 * 3600_000) / 1000;
  utimesSync(store.localPath(c.key), old, old);
  const hour = 3600_000;
  await collectGarbage(store, { graceMs: hour, abandonedAfterMs: 1e12, dryRun: false, now: Date.now() - 4 * hour });
  const paused = gated.pauseAt((op, key) => op === 'deleteIfUnmodifiedSince' && key === c.key);
  const gc = collectGarbage(gated, { graceMs: hour, abandonedAfterMs: 1e12, dryRun: false });
  await paused.reached;
  const reused = await putContent(store, 'an old passage shard\n', 'passages'); // a build takes it in the gap
  assert.equal(reused.written, true, 'an old object is rewritten when reused');
  paused.release();
  const r = await gc;
  assert.equal(r.deletedKeys.includes(c.key), false);
  assert.equal(await store.exists(c.key), true);
});

test('grace 0 is one exclusive pass: refused while a build holds a live lease', async () => {
  const { store } = fresh();
  const got = await BuildLease.acquire(store, 'running', { requestSha256: 'x', ttlMs: 60_000, renewMs: 60_000 });
  assert.ok('lease' in got);
  await writeMarker(store, new SnapshotLayout('running').ingestMarker(), { v: 1 });
  await assert.rejects(collectGarbage(store, { graceMs: 0, abandonedAfterMs: 1e12, dryRun: false }), /cannot run while build running runs/);
  await got.lease.release();
  await collectGarbage(store, { graceMs: 0, abandonedAfterMs: 0, dryRun: false });
});

test('lease takeover x stalled holder: a holder stalled through two takeovers neither renews nor writes nor publishes', async () => {
  const { store } = fresh();
  let t = Date.now();
  const now = () => t;
  const reqA = request('contested', night2);
  const reqC = { ...request('contested', night2), shardSize: 8 };
  const a = await BuildLease.acquire(store, 'contested', { requestSha256: buildRequestSha256(reqA), ttlMs: 1000, renewMs: 1e9, now });
  assert.ok('lease' in a);
  t += 2000;
  const b = await BuildLease.acquire(store, 'contested', { requestSha256: buildRequestSha256(reqA), ttlMs: 1000, renewMs: 1e9, now });
  assert.ok('lease' in b);
  t += 2000;
  const c = await BuildLease.acquire(store, 'contested', { requestSha256: buildRequestSha256(reqC), ttlMs: 60_000, renewMs: 1e9, now });
  assert.ok('lease' in c);
  assert.equal(await store.exists(leaseKey('contested', 1)), false, 'takeovers delete older generations');
  await a.lease.renew();
  assert.equal(a.lease.isLost, true);
  assert.equal(await store.exists(leaseKey('contested', 1)), false, 'the stalled holder did not re-create its generation');
  const fenced = { ...reqA, fence: { requestSha256: buildRequestSha256(reqA), generation: 1 } };
  await assert.rejects(writeMarker(store, new SnapshotLayout('contested').ingestMarker(), { v: 1 }, fenced), LeaseLostError);
  await assert.rejects(assertFence(store, fenced), /taken over by another build/);
  for (const l of [b.lease, c.lease, a.lease]) await l.release();
});

test('a transient error reading the lease is not an expired lease: nobody takes over on it', async () => {
  const { store, gated } = fresh();
  const a = await BuildLease.acquire(store, 'busy', { requestSha256: 'r', ttlMs: 60_000, renewMs: 1e9 });
  assert.ok('lease' in a);
  gated.failAt((op, key) => op === 'get' && key === leaseKey('busy', 1), () => new TransientStorageError('connection reset'), 10);
  await assert.rejects(BuildLease.acquire(gated, 'busy', { requestSha256: 'r2', ttlMs: 60_000 }), TransientStorageError);
  assert.equal(await store.exists(leaseKey('busy', 2)), false);
  await a.lease.release();
});

test('two publishers of one id: the same build gets its manifest back; another build of the id is told it is not its own', async () => {
  const { store } = fresh();
  const req = request('twice', night2);
  await runBuildInProcess(req, { store, encoder, logger, only: Array.from({ length: 20 }, (_, i) => i) });
  const [m1, m2] = await Promise.all([runPublish(req, { store, logger }), runPublish(req, { store, logger })]);
  assert.equal(m1.createdAt, m2.createdAt, 'one manifest');
  const other = { ...req, skipBadLines: true };
  await assert.rejects(runPublish(other, { store, logger }), SnapshotExistsError);
  const manifest = (await store.get(new SnapshotLayout('twice').manifest)).toString();
  await assertObjectsPresent(store, JSON.parse(manifest), 'twice');
  assert.ok(contentKeysIn(manifest).length > 0);
});

test('the abandoned-build rule respects a live lease: a build whose markers are old but which still runs keeps them and its objects', async () => {
  const { root, store } = fresh();
  await runBuildInProcess(request('slow', night2), { store, encoder, logger, only: [0] });
  const week = (Date.now() - 8 * 24 * 3600_000) / 1000;
  for (const k of await store.list(new SnapshotLayout('slow').buildPrefix)) utimesSync(join(root, k), week, week);
  const got = await BuildLease.acquire(store, 'slow', { requestSha256: 'x', ttlMs: 60_000, renewMs: 1e9 });
  assert.ok('lease' in got);
  const r = await collectGarbage(store, { graceMs: 3600_000, abandonedAfterMs: 7 * 24 * 3600_000, dryRun: false });
  assert.deepEqual(r.abandonedBuilds, []);
  assert.ok(r.unfinishedBuilds.includes('slow'));
  assert.ok((await store.list(new SnapshotLayout('slow').buildPrefix)).length > 0, 'its markers stay');
  await got.lease.release();
  const after = await collectGarbage(store, { graceMs: 3600_000, abandonedAfterMs: 7 * 24 * 3600_000, dryRun: false });
  assert.deepEqual(after.abandonedBuilds, ['slow'], 'released and old: abandoned now');
});

test('a build that starts while a one-pass gc runs waits for it (and says so), then takes its lease', async () => {
  const { store } = fresh();
  await store.put(GC_EXCLUSIVE_KEY, '{"v":1}\n');
  let waits = 0;
  const claim = claimBuild(store, request('after-gc', night2), { pollMs: 50, onGcWait: () => { waits++; } });
  while (waits === 0) await new Promise((r) => setTimeout(r, 10));
  const top = await store.list('leases/build/after-gc/');
  assert.ok(top.length > 0, 'it took the lease, then gave it back while the sweep runs');
  await store.delete(GC_EXCLUSIVE_KEY);
  const got = await claim;
  assert.ok('lease' in got);
  await got.lease.release();
});
