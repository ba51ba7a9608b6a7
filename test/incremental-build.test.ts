// Nightly rebuilds end to end, through the CLI: night 1 from the enwiki sample (the shared fixture,
// built through the CLI once per run), night 2 from `dev next-night`, built with --base; diff, alias,
// rm, gc; and a kill -9 of a worker while it encodes an incremental build.
// test-tier: full
// test-lane: serial
// test-fixtures: enwiki-night-1
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '@rag/queue';
import { readProgress } from '@rag/pipeline';
import { runRag, startRag, collect, ENWIKI } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { copyFixture } from './helpers/shared-fixtures.js';

const dir = tempDir('incremental');
after(() => dir.cleanup());
const skip = !existsSync(ENWIKI) && 'shared/data dump absent';
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };
const night2 = join(dir.path, 'night-2.xml.bz2');
/** Night 1: snapshot enwiki-2016 of the fixture (4,282 passages in shards of 500), in this file's own storage. */
const NIGHT_1 = 'enwiki-2016';
before(async () => {
  if (!skip) await copyFixture('enwiki-night-1', dir.path);
});

async function ok(args: string[], e: Record<string, string> = env): Promise<string> {
  const r = await runRag(args, e);
  assert.equal(r.code, 0, `./rag ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('next-night makes the same dump for the same seed', { skip }, async () => {
  const report = JSON.parse(await ok(['dev', 'next-night', '--source', ENWIKI, '--out', night2, '--seed', '3', '--json']));
  assert.equal(report.articles, 106);
  assert.deepEqual([report.edited, report.added, report.removed], [1, 1, 1]);
  const again = join(dir.path, 'again.xml.bz2');
  await ok(['dev', 'next-night', '--source', ENWIKI, '--out', again, '--seed', '3']);
  assert.deepEqual(readFileSync(again), readFileSync(night2));
  const other = join(dir.path, 'other.xml.bz2');
  await ok(['dev', 'next-night', '--source', ENWIKI, '--out', other, '--seed', '4']);
  assert.notDeepEqual(readFileSync(other), readFileSync(night2));
});

test('night 2 built on night 1 reuses what did not change; diff, rm and gc', { skip, timeout: 900_000 }, async () => {
  const m = JSON.parse(await ok(['snapshot', 'build', '--source', night2, '--snapshot', 'night-2', '--base', NIGHT_1, '--shard-size', '500', '--no-progress', '--json']));
  assert.equal(m.base.id, NIGHT_1);
  assert.ok(m.base.passagesEncoded > 0 && m.base.passagesEncoded <= 0.05 * m.passages, `encoded ${m.base.passagesEncoded} of ${m.passages}`);
  assert.equal(m.base.passagesReused + m.base.passagesEncoded, m.passages);
  assert.ok(m.base.shardsReused >= 6, `shards reused: ${m.base.shardsReused}`);
  assert.match(await ok(['snapshot', 'show', 'night-2']), new RegExp(`base\\s+${NIGHT_1}: ${m.base.passagesReused} passages reused, ${m.base.passagesEncoded} encoded`));

  const d = JSON.parse(await ok(['snapshot', 'diff', NIGHT_1, 'night-2', '--json']));
  assert.equal(d.pages.added, 1);
  assert.equal(d.pages.removed, 1);
  assert.ok(d.pages.changed <= 1);
  assert.equal(d.shards.reused, m.base.shardsReused);
  assert.ok(d.bytes.onlyB < 0.1 * d.bytes.b, `new bytes ${d.bytes.onlyB} of ${d.bytes.b}`);
  assert.match(await ok(['snapshot', 'diff', NIGHT_1, 'night-2']), /pages\s+\+1 added, -1 removed/);

  // The paging of `snapshot passages` skips deleted rows: every id once, as many as the manifest says.
  const ids = (await ok(['snapshot', 'passages', 'night-2'])).trim().split('\n').map((l) => JSON.parse(l).id);
  assert.equal(ids.length, m.passages);
  assert.equal(new Set(ids).size, ids.length);

  await ok(['alias', 'set', 'prod', 'night-2']);
  const refused = await runRag(['snapshot', 'rm', 'night-2'], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /alias prod points at/);
  await ok(['snapshot', 'rm', NIGHT_1]);
  // A grace period shorter than the age below which builds reuse objects without rewriting them is refused.
  const short = await runRag(['snapshot', 'gc', '--grace', '0.05'], env);
  assert.equal(short.code, 2, short.stderr);
  assert.match(short.stderr, /--grace 0\.05 is shorter than 10 minutes/);
  // A grace period keeps what was only just freed: the first run marks, deleting nothing.
  const marked = JSON.parse(await ok(['snapshot', 'gc', '--grace', '1', '--json']));
  assert.equal(marked.deleted, 0);
  assert.ok(marked.keptInGrace > 0, JSON.stringify(marked));
  const gc = JSON.parse(await ok(['snapshot', 'gc', '--grace', '0', '--json']));
  assert.ok(gc.deleted > 0 && gc.bytesFreed > 0, JSON.stringify(gc));
  // What night 2 shares with night 1 survived; the alias still answers.
  const hits = JSON.parse(await ok(['search', '--snapshot', 'prod', '--query', 'What is albedo?', '--k', '3', '--json']));
  assert.match(hits[0].title, /Albedo/);
  const again = JSON.parse(await ok(['snapshot', 'gc', '--grace', '0', '--json']));
  assert.equal(again.deleted, 0, 'a second gc finds nothing');
});

test('kill -9 of a worker mid-incremental build still publishes the same snapshot as an undisturbed one', { skip, timeout: 900_000 }, async () => {
  // A night with many edits, so encoding lasts long enough to kill a worker in it.
  const night3 = join(dir.path, 'night-3.xml.bz2');
  await ok(['dev', 'next-night', '--source', night2, '--out', night3, '--seed', '5', '--edit', '0.3']);
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const denv = { ...env, REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'inckill', RAG_LOCK_MS: '10000', RAG_STALLED_MS: '1000', RAG_SOURCE_ROOTS: dir.path };
  const workers = [startRag(['worker'], denv), startRag(['worker'], denv)];
  const exits = workers.map((w) => collect(w, 900_000));
  const probe = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    const build = collect(startRag(['snapshot', 'build', '--source', night3, '--snapshot', 'night-3-killed', '--base', 'night-2', '--shard-size', '100', '--no-progress'], denv), 900_000);
    // Kill once both workers hold an encode job (each takes one encode job at a time, so two active
    // encode jobs means the one killed is mid-encode) and the build is part-way through encoding.
    const encodeQueue = new Queue('encode', { connection: probe, prefix: 'inckill' });
    let p = await readProgress(probe, 'inckill', 'night-3-killed');
    let active = 0;
    const deadline = Date.now() + 300_000;
    while (!(p.ingestDone && p.vectors > 0 && active >= 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      [p, active] = await Promise.all([readProgress(probe, 'inckill', 'night-3-killed'), encodeQueue.getActiveCount()]);
    }
    await encodeQueue.close();
    assert.ok(active >= 2 && p.vectors < p.passages, `killed mid-encode: ${active} encode jobs active, vectors ${p.vectors}/${p.passages}`);
    workers[0]!.kill('SIGKILL');
    assert.equal((await exits[0]!).signal, 'SIGKILL');
    const replacement = startRag(['worker'], denv);
    workers.push(replacement);
    exits.push(collect(replacement, 900_000));
    const r = await build;
    assert.equal(r.code, 0, r.stderr);
    // The undisturbed build must do its own work, not find the killed build's (work/ records): drop them.
    rmSync(join(denv.RAG_STORAGE, 'work'), { recursive: true, force: true });
    const clean = JSON.parse(await ok(['snapshot', 'build', '--source', night3, '--snapshot', 'night-3-clean', '--base', 'night-2', '--shard-size', '100', '--no-progress', '--json'], denv));
    const killed = JSON.parse(await ok(['snapshot', 'show', 'night-3-killed', '--json'], denv));
    // Same inputs, same objects: the killed build's shards are byte for byte the undisturbed one's.
    const objects = (mm: { shards: { sha256: string; passagesSha256: string; embeddingsSha256: string; deleted?: { sha256: string } }[] }) =>
      mm.shards.map((s) => [s.passagesSha256, s.embeddingsSha256, s.sha256, s.deleted?.sha256 ?? '']);
    assert.deepEqual(objects(killed), objects(clean));
    assert.equal(killed.passages, clean.passages);
    assert.ok(clean.base.passagesEncoded > 100, `enough encoding to be killed in: ${clean.base.passagesEncoded}`);
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(exits);
    probe.disconnect();
    await redis.stop();
  }
});
