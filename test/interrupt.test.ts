// Stopping a command stops what it started: SIGTERM (kill, timeout), a terminal's Ctrl-C (SIGINT to
// the process group) and kill -9 of the CLI, each mid-build, with real workers and a real private
// redis-server. Nothing may survive 10 s, the CLI says so in one line, and a re-run resumes.
// test-tier: full
// test-lane: serial
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runRag, startRag, collect, type RagResult } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';
import { cmdline, descendants, waitGone } from './helpers/process-tree.js';
import { TINY_GENERATOR } from './helpers/world-snapshots.js';

const dir = tempDir('interrupt');
after(() => dir.cleanup());
const source = join(dir.path, 'corpus.jsonl');
// ~1,200 passages in shards of 40: long enough to stop mid-encode on a busy 2-core machine.
writeTopicCorpus(source, 300);

function envFor(name: string) {
  return { RAG_STORAGE: join(dir.path, name, 'storage'), RAG_HOME: join(dir.path, name, 'home'), RAG_SOURCE_ROOTS: dir.path };
}
const buildArgs = (id: string) => ['snapshot', 'build', '--source', source, '--snapshot', id, '--workers', '2', '--shard-size', '40', '--no-progress'];

/** Encode markers written so far, by file name, with their bytes (a resumed build must not rewrite them). */
function encodeMarkers(storage: string, id: string): Map<string, string> {
  const d = join(storage, 'snapshots', id, '_build');
  const out = new Map<string, string>();
  if (!existsSync(d)) return out;
  for (const f of readdirSync(d)) if (f.startsWith('encode-') && f.endsWith('.json')) out.set(f, readFileSync(join(d, f), 'utf8'));
  return out;
}

/** Starts the build and returns once some (not all) shards are encoded, with every process it started. */
async function startMidBuild(name: string, detached = false): Promise<{ child: ChildProcess; done: Promise<RagResult>; started: number[]; env: ReturnType<typeof envFor> }> {
  const env = envFor(name);
  const child = startRag(buildArgs(name), env, { detached });
  const done = collect(child, 600_000);
  const deadline = Date.now() + 300_000;
  while (encodeMarkers(env.RAG_STORAGE, name).size < 1) {
    assert.ok(Date.now() < deadline, 'no shard was encoded within 5 minutes');
    assert.equal(child.exitCode, null, 'the build ended before it could be interrupted');
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = descendants(child.pid!);
  // Two workers, the redis-server watchdog and redis-server itself.
  assert.ok(started.length >= 4, `processes started: ${started.map(cmdline).join('; ')}`);
  assert.ok(started.some((p) => cmdline(p).includes('redis-server')), 'a private redis-server runs');
  return { child, done, started, env };
}

function killAll(pids: number[]) {
  for (const p of pids) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
}

async function expectStoppedAndResumable(name: string, signal: 'SIGTERM' | 'SIGINT', asTerminal: boolean) {
  const { child, done, started, env } = await startMidBuild(name, asTerminal);
  try {
    const before = encodeMarkers(env.RAG_STORAGE, name);
    const t0 = Date.now();
    // A terminal's Ctrl-C goes to the whole foreground process group.
    process.kill(asTerminal ? -child.pid! : child.pid!, signal);
    const r = await done;
    const left = await waitGone(started, Math.max(0, 10_000 - (Date.now() - t0)));
    assert.deepEqual(left.map(cmdline), [], `still running 10 s after ${signal}`);
    assert.equal(r.code, signal === 'SIGTERM' ? 143 : 130, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`interrupted by ${signal}.*run the same command again to resume`));
    assert.doesNotMatch(r.stderr, /ECONNREFUSED|at .*\.ts:\d+/);
    assert.ok(!existsSync(join(env.RAG_STORAGE, 'snapshots', name, 'manifest.json')), 'nothing published');

    const again = await runRag(buildArgs(name), env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`published ${name}: (\\d+) passages, \\1 vectors`));
    // Resumed: the shards encoded before the stop were not encoded again.
    const afterRun = encodeMarkers(env.RAG_STORAGE, name);
    for (const [f, text] of before) assert.equal(afterRun.get(f), text, `${f} was rewritten instead of resumed`);
  } finally {
    killAll(started);
  }
}

test('SIGTERM mid-build stops every process it started within 10 s; a re-run resumes', { timeout: 900_000 }, async () => {
  await expectStoppedAndResumable('sigterm', 'SIGTERM', false);
});

test('Ctrl-C (SIGINT to the process group) mid-build: same, exit 130', { timeout: 900_000 }, async () => {
  await expectStoppedAndResumable('sigint', 'SIGINT', true);
});

test('kill -9 of the CLI mid-build leaves no worker and no redis-server behind', { timeout: 900_000 }, async () => {
  const { child, done, started } = await startMidBuild('kill9');
  try {
    child.kill('SIGKILL');
    await done;
    const left = await waitGone(started, 10_000);
    assert.deepEqual(left.map(cmdline), [], 'orphans 10 s after kill -9 of the CLI');
  } finally {
    killAll(started);
  }
});

test('SIGTERM mid qa run: workers and Redis gone within 10 s, one line; the re-run resumes the finished chunks', { timeout: 600_000 }, async () => {
  const questions = join(dir.path, 'questions.txt');
  writeFileSync(questions, Array.from({ length: 600 }, (_, i) => `what is the name of item number ${i} in the list?`).join('\n') + '\n');
  const env = { ...envFor('qa'), RAG_GENERATOR: TINY_GENERATOR, RAG_QA_CHUNK: '4' };
  const args = ['qa', 'run', '--questions', questions, '--mode', 'no-retrieval', '--max-length', '8', '--workers', '2', '--no-progress', '--json'];
  const child = startRag(args, env);
  const done = collect(child, 600_000);
  const results = () => {
    const runs = join(env.RAG_STORAGE, 'qa-runs');
    if (!existsSync(runs)) return new Map<string, string>();
    const out = new Map<string, string>();
    for (const run of readdirSync(runs)) {
      const d = join(runs, run, 'results');
      // Temporary files of a write in progress (renamed into place when whole) are not results yet.
      if (existsSync(d)) for (const f of readdirSync(d)) if (!f.startsWith('.')) out.set(`${run}/${f}`, readFileSync(join(d, f), 'utf8'));
    }
    return out;
  };
  let started: number[] = [];
  try {
    const deadline = Date.now() + 300_000;
    while (results().size < 1) {
      assert.ok(Date.now() < deadline, 'no chunk was answered within 5 minutes');
      assert.equal(child.exitCode, null, 'the run ended before it could be interrupted');
      await new Promise((r) => setTimeout(r, 100));
    }
    started = descendants(child.pid!);
    const before = results();
    const t0 = Date.now();
    child.kill('SIGTERM');
    const r = await done;
    assert.deepEqual((await waitGone(started, Math.max(0, 10_000 - (Date.now() - t0)))).map(cmdline), []);
    assert.equal(r.code, 143, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^rag: interrupted by SIGTERM.*run the same command again to resume/);
    assert.ok(before.size < 150, `interrupted mid-run (${before.size}/150 chunks)`);

    const again = await runRag(args, env);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout);
    assert.equal(summary.n, 600);
    assert.equal(summary.run.resumed, true);
    const afterRun = results();
    assert.equal(afterRun.size, 150);
    for (const [k, text] of before) assert.equal(afterRun.get(k), text, `${k} was answered again instead of resumed`);
  } finally {
    killAll(started);
  }
});

test('a distributed worker mid-job whose Redis is gone still stops on SIGTERM within 10 s', { timeout: 300_000 }, async () => {
  const { startEmbeddedRedis } = await import('@rag/queue');
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'worker-redis') });
  const env = { ...envFor('worker-sigterm'), REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'wsig' };
  const worker = startRag(['worker'], env);
  const exited = collect(worker, 300_000);
  const cli = startRag(buildArgs('worker-sigterm').filter((a) => a !== '--workers' && a !== '2'), env);
  const cliDone = collect(cli, 300_000);
  try {
    const deadline = Date.now() + 240_000;
    while (encodeMarkers(env.RAG_STORAGE, 'worker-sigterm').size < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(encodeMarkers(env.RAG_STORAGE, 'worker-sigterm').size >= 1, 'the worker got to encoding');
    redis.kill();
    await redis.exited;
    const t0 = Date.now();
    worker.kill('SIGTERM');
    const r = await exited;
    assert.ok(Date.now() - t0 < 10_000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
  } finally {
    worker.kill('SIGKILL');
    cli.kill('SIGKILL');
    await cliDone;
    await redis.stop();
  }
});
