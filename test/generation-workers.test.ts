// Distributed generation workers under faults: an alias flip while a batch of real NQ-open
// questions is being answered, and kill -9 of a worker mid-run. Real redis-server, real workers.
// test-tier: full
// test-lane: serial
// test-fixtures: world-163
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { AliasRegistry } from '@rag/registry';
import { LocalObjectStore } from '@rag/storage';
import { collect, REPO, runRag, startRag, waitForOutput } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { startRedisServer } from './helpers/redis-server.js';
import { jsonl, TINY_GENERATOR, worldFixture } from './helpers/world-snapshots.js';

const NQ = join(REPO, '../shared/data/nq-open/NQ-open.dev.jsonl');
const skip = !existsSync(NQ) && 'shared/data NQ-open absent';
const dir = tempDir('genw');
let redis: EmbeddedRedis;
let env: Record<string, string>;
const PREFIX = 'genw';
const CHUNK = 8;

before(async () => {
  redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  env = {
    REDIS_URL: redis.url,
    RAG_QUEUE_PREFIX: PREFIX,
    RAG_STORAGE: join(dir.path, 'storage'),
    RAG_HOME: join(dir.path, 'home'),
    // The tiny HF-fixture generator: this file tests the machinery, not answer quality.
    RAG_GENERATOR: TINY_GENERATOR,
    RAG_QA_CHUNK: String(CHUNK),
    RAG_SNAPSHOT_POLL_MS: '1000',
    // A dead worker's job is taken over once its lock expires: keep that short here.
    RAG_LOCK_MS: '4000',
    RAG_STALLED_MS: '1000',
    RAG_LOG_LEVEL: 'info',
    // A worker with other models leaves a chunk to matching ones this long before failing it.
    RAG_MODEL_MISMATCH_WAIT_S: '3',
  };
  // The shared held-out world's snapshots, copied (runs write under storage); its questions are not used here.
  if (!skip) await worldFixture(dir.path);
});
after(async () => {
  await redis?.stop();
  dir.cleanup();
});

async function answers(target: string, limit: number): Promise<any[]> {
  const out = join(dir.path, `ref-${target}.jsonl`);
  const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', target, '--limit', String(limit), '--k', '3', '--beams', '2', '--workers', '2', '--out', out, '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  return jsonl(readFileSync(out, 'utf8'));
}

/** Chunks finished by runs started after `seen` was taken (earlier runs' progress is ignored). */
async function chunksDone(probe: Redis, seen: Set<string>): Promise<number> {
  let best = 0;
  for (const k of await probe.keys(`${PREFIX}:qa-progress:*`)) if (!seen.has(k)) best = Math.max(best, await probe.hlen(k));
  return best;
}

async function progressKeys(probe: Redis): Promise<Set<string>> {
  return new Set(await probe.keys(`${PREFIX}:qa-progress:*`));
}

function startWorkers(n: number) {
  const procs = Array.from({ length: n }, () => startRag(['worker', '--roles', 'generate', '--metrics-port', '0'], env));
  // Each worker logs (JSON on stderr) where it serves /metrics.
  const metricsUrls = procs.map((p) => new Promise<string>((resolve) => {
    let buf = '';
    p.stderr!.on('data', (d) => {
      buf += d;
      const m = /"event":"metrics.listening","host":"[^"]+","port":(\d+)/.exec(buf);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
  }));
  return { procs, exits: procs.map((p) => collect(p, 900_000)), metricsUrls };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

test('an alias flip during a run: 0 failed, each chunk from one snapshot, answers equal each snapshot\'s own run', { skip, timeout: 900_000 }, async () => {
  const N = 320;
  const ref16 = await answers('world-2016', N);
  const ref18 = await answers('world-2018', N);
  assert.ok(ref16.some((r, i) => r.answer !== ref18[i].answer || JSON.stringify(r.docs) !== JSON.stringify(ref18[i].docs)), 'the two snapshots give different results');

  let r = await runRag(['alias', 'set', 'prod', 'world-2016'], env);
  assert.equal(r.code, 0, r.stderr);
  const workers = startWorkers(2);
  const probe = new Redis(redis.url);
  try {
    const out = join(dir.path, 'prod.jsonl');
    const seen = await progressKeys(probe);
    const run = collect(startRag(['qa', 'run', '--questions', NQ, '--snapshot', 'prod', '--limit', String(N), '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--out', out, '--json', '--no-progress'], env), 900_000);
    const deadline = Date.now() + 300_000;
    while ((await chunksDone(probe, seen)) < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok((await chunksDone(probe, seen)) < N / CHUNK, 'flipped mid-run');
    // Flip in-process (a CLI start-up takes seconds; the tiny generator answers faster than that).
    const aliases = new AliasRegistry({ store: new LocalObjectStore(env.RAG_STORAGE!), redis: probe, prefix: PREFIX });
    await aliases.set('prod', 'world-2018');
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    const summary = JSON.parse(done.stdout);
    assert.equal(summary.failed, 0);
    assert.equal(summary.n, N);
    assert.ok(summary.snapshots['world-2016'] > 0 && summary.snapshots['world-2018'] > 0, JSON.stringify(summary.snapshots));
    const recs = jsonl(readFileSync(out, 'utf8'));
    for (let c = 0; c < N / CHUNK; c++) {
      const snaps = new Set(recs.slice(c * CHUNK, (c + 1) * CHUNK).map((x) => x.snapshot));
      assert.equal(snaps.size, 1, `chunk ${c} answered from one snapshot`);
    }
    for (const rec of recs) {
      const ref = (rec.snapshot === 'world-2016' ? ref16 : ref18)[rec.index];
      assert.equal(rec.answer, ref.answer, `q${rec.index} matches the ${rec.snapshot} run`);
      assert.deepEqual(rec.docs, ref.docs);
    }
    // Each worker's /metrics: answers per snapshot add up, and the followers report the flip.
    let answered = 0;
    let switched = 0;
    const urls = await Promise.race([Promise.all(workers.metricsUrls), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('workers never logged their metrics port')), 60_000))]);
    for (const url of urls) {
      const text = await scrape(url);
      answered += metric(text, 'rag_qa_questions_answered_total', 'snapshot="world-2016"') + metric(text, 'rag_qa_questions_answered_total', 'snapshot="world-2018"');
      switched += metric(text, 'rag_snapshot_switches_total', 'alias="prod"');
      assert.match(text, /rag_snapshot_serving\{[^}]*alias="prod"[^}]*snapshot="world-2018"/);
    }
    assert.equal(answered, N);
    assert.ok(switched >= 1, 'at least one worker switched while serving');
  } finally {
    for (const w of workers.procs) w.kill('SIGTERM');
    await Promise.all(workers.exits);
    probe.disconnect();
  }
});

test('kill -9 of a generation worker mid-run loses no answer', { skip, timeout: 900_000 }, async () => {
  const N = 200;
  const workers = startWorkers(2);
  const probe = new Redis(redis.url);
  try {
    const out = join(dir.path, 'killed.jsonl');
    const seen = await progressKeys(probe);
    const run = collect(startRag(['qa', 'run', '--questions', NQ, '--snapshot', 'world-2018', '--limit', String(N), '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--out', out, '--json', '--no-progress'], env), 900_000);
    const deadline = Date.now() + 300_000;
    while ((await chunksDone(probe, seen)) < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok((await chunksDone(probe, seen)) < N / CHUNK, 'killed mid-run');
    workers.procs[0]!.kill('SIGKILL');
    assert.equal((await workers.exits[0])!.signal, 'SIGKILL');
    const more = startWorkers(1);
    workers.procs.push(...more.procs);
    workers.exits.push(...more.exits);
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    const summary = JSON.parse(done.stdout);
    assert.equal(summary.n, N);
    assert.equal(summary.failed, 0);
    const recs = jsonl(readFileSync(out, 'utf8'));
    assert.equal(recs.length, N);
    assert.equal(new Set(recs.map((x) => x.id)).size, N, 'no duplicate or lost answers');
  } finally {
    for (const w of workers.procs) w.kill('SIGTERM');
    await Promise.all(workers.exits);
    probe.disconnect();
  }
});

/** Results objects of QA runs under storage, per run id (storage is what says a chunk is done). */
function resultsPerRun(): Map<string, number> {
  const root = join(env.RAG_STORAGE!, 'qa-runs');
  const out = new Map<string, number>();
  if (!existsSync(root)) return out;
  for (const run of readdirSync(root)) {
    const res = join(root, run, 'results');
    out.set(run, existsSync(res) ? readdirSync(res).length : 0);
  }
  return out;
}

test('Redis killed and restarted empty mid-run: the same qa run command queues the lost chunks again and completes', { skip, timeout: 900_000 }, async () => {
  const N = 120;
  const own = await startRedisServer({ dir: join(dir.path, 'redis-lost'), aof: false });
  const renv = { ...env, REDIS_URL: own.url };
  const procs = Array.from({ length: 2 }, () => startRag(['worker', '--roles', 'generate'], renv));
  const exits = procs.map((p) => collect(p, 900_000));
  try {
    const before = resultsPerRun();
    const out = join(dir.path, 'lost.jsonl');
    const run = collect(startRag(['qa', 'run', '--questions', NQ, '--snapshot', 'world-2018', '--limit', String(N), '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--out', out, '--json', '--no-progress'], renv), 900_000);
    const progress = () => Math.max(0, ...[...resultsPerRun()].filter(([id]) => !before.has(id)).map(([, n]) => n));
    const deadline = Date.now() + 300_000;
    while (progress() < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(progress() < N / CHUNK, 'Redis lost mid-run');
    // Restarted empty at once: whatever the CLI and workers noticed of the drop, the queue state is gone.
    await own.restart({ keepData: false });
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /no longer in Redis .*queued them again/);
    const recs = jsonl(readFileSync(out, 'utf8'));
    assert.equal(recs.length, N);
    assert.equal(new Set(recs.map((x) => x.id)).size, N, 'no duplicate or lost answers');
    assert.equal(JSON.parse(done.stdout).failed, 0);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(exits);
    await own.stop();
  }
});

test('a worker with other models leaves chunks to a matching worker; with none, the run fails with a clear error', { skip, timeout: 300_000 }, async () => {
  const other = join(dir.path, 'other-generator');
  cpSync(TINY_GENERATOR, other, { recursive: true });
  // Another export of the generator: a config the model is loaded from differs (a stray file would not count).
  const config = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(other, 'config.json'), JSON.stringify({ ...config, _exported_by: 'another run' }, null, 2));
  const w = startRag(['worker', '--roles', 'generate'], { ...env, RAG_GENERATOR: other });
  const exit = collect(w, 300_000);
  try {
    // A matching worker beside it: every chunk is answered by the run's models, none fails, however
    // long the matching worker is busy with one chunk while the other bounces the next (that used to
    // fail chunks after RAG_MODEL_MISMATCH_WAIT_S on a loaded machine).
    const good = startRag(['worker', '--roles', 'generate'], env);
    const goodExit = collect(good, 300_000);
    try {
      await waitForOutput(good, /qa\.models\.announced/, 120_000);
      const ok = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'world-2018', '--limit', '16', '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--no-progress', '--json'], env, { timeoutMs: 240_000 });
      assert.equal(ok.code, 0, ok.stderr);
      const summary = JSON.parse(ok.stdout) as { failed: number; answered: number };
      assert.equal(summary.answered, 16);
      assert.equal(summary.failed, 0);
    } finally {
      good.kill('SIGTERM');
      await goodExit;
    }
    // No matching worker: after RAG_MODEL_MISMATCH_WAIT_S the chunk fails, and the run says why.
    const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'world-2018', '--limit', '16', '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--no-progress'], env, { timeoutMs: 240_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /MODEL_MISMATCH.*this worker's models \(fingerprint \w+\) are not the ones run \w+ was queued for/);
  } finally {
    w.kill('SIGTERM');
    const out = await exit;
    assert.match(out.stderr + out.stdout, /qa\.model-mismatch/, 'the other worker put chunks back for a matching one');
  }
});
