// No silent hangs: unusable storage or Redis is a clear one-line error within 30 s, and a Redis lost
// mid-run is named on stderr (what the command waits for) instead of progress lines forever.
// test-lane: serial
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedRedis } from '@rag/queue';
import { cliStartupSeconds, runRag, startRag, collect } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';
import { descendants, waitGone, cmdline } from './helpers/process-tree.js';

const dir = tempDir('failfast');
const source = join(dir.path, 'corpus.jsonl');
writeTopicCorpus(source, 24);
// Questions are checked before any queue is opened: a valid file, so that Redis is what fails.
const questions = join(dir.path, 'questions.txt');
writeFileSync(questions, 'who wrote the first book?\nwhere is the capital?\n');
const base = { RAG_HOME: join(dir.path, 'home'), RAG_SOURCE_ROOTS: dir.path, RAG_JOB_ATTEMPTS: '2', RAG_JOB_BACKOFF_MS: '200' };
const REFUSING = 'redis://127.0.0.1:1';

/** A directory this process cannot write: chmod for a normal user; root ignores modes, so chattr +i. */
function readOnlyDir(): string | null {
  const d = join(dir.path, 'read-only');
  mkdirSync(d, { recursive: true });
  if (process.getuid?.() !== 0) {
    chmodSync(d, 0o555);
    return d;
  }
  try {
    execFileSync('chattr', ['+i', d], { stdio: 'ignore' });
    return d;
  } catch {
    return null;
  }
}
const ro = readOnlyDir();
after(() => {
  if (ro && process.getuid?.() === 0) execFileSync('chattr', ['-i', ro], { stdio: 'ignore' });
  else if (ro) chmodSync(ro, 0o755);
  dir.cleanup();
});

/**
 * Runs the command; `seconds` is its time beyond the CLI's start-up measured just before it, so a loaded
 * machine that starts processes slowly does not fail the bounds, while a command that waits on a dead
 * server still does.
 */
async function timed(args: string[], env: Record<string, string>) {
  const startup = await cliStartupSeconds(dir.path);
  const t0 = Date.now();
  const r = await runRag(args, { ...base, ...env }, { timeoutMs: 120_000 });
  return { ...r, seconds: (Date.now() - t0) / 1000 - startup };
}

test('RAG_STORAGE under /proc: one clear error within 30 s, not progress lines forever', async () => {
  const r = await timed(['snapshot', 'build', '--source', source, '--snapshot', 'procx', '--no-progress'], { RAG_STORAGE: '/proc/x' });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.seconds < 30, `${r.seconds} s`);
  assert.match(r.stderr, /^rag: cannot use storage file:\/\/\/proc\/x: .*RAG_STORAGE=\/proc\/x must be a directory/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('read-only storage directory: one clear error within 30 s', { skip: !ro && 'cannot make a read-only directory here' }, async () => {
  const r = await timed(['snapshot', 'build', '--source', source, '--snapshot', 'ro', '--no-progress'], { RAG_STORAGE: join(ro!, 'storage') });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.seconds < 30, `${r.seconds} s`);
  assert.match(r.stderr, /cannot use storage .*read-only.*(permission denied|EPERM|EACCES|EROFS)/);
  assert.match(r.stderr, /check that RAG_STORAGE=.* is writable/);
});

test('a worker that cannot write storage fails the build with the path and what to check', async () => {
  // The CLI's storage is fine; the (misconfigured) remote worker's is not: the job failure must reach the CLI.
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis-w') });
  const env = { ...base, REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'ffw', RAG_STORAGE: join(dir.path, 'good-storage') };
  const worker = startRag(['worker'], { ...env, RAG_STORAGE: '/proc/x' });
  const exited = collect(worker, 120_000);
  try {
    const r = await timed(['snapshot', 'build', '--source', source, '--snapshot', 'badworker', '--no-progress'], env);
    assert.equal(r.code, 1, r.stderr);
    // Worker start-up (ONNX, FAISS) is part of the wait on a busy machine; the failure itself is not retried.
    assert.ok(r.seconds < 60, `${r.seconds} s beyond start-up`);
    assert.match(r.stderr, /build of badworker failed: ingest job ingest\.badworker: \[STORAGE\] cannot put .* in file:\/\/\/proc\/x.*RAG_STORAGE=\/proc\/x must be a directory/);
  } finally {
    worker.kill('SIGTERM');
    await exited;
    await redis.stop();
  }
});

test('a Redis that refuses connections: every queue command says so within 30 s', async () => {
  const cases: string[][] = [
    ['snapshot', 'build', '--source', source, '--snapshot', 'noredis', '--no-progress'],
    ['qa', 'run', '--questions', questions, '--mode', 'no-retrieval', '--no-progress'],
    ['worker'],
    ['coordinator', '--port', '0'],
  ];
  for (const args of cases) {
    const r = await timed(args, { REDIS_URL: REFUSING, RAG_STORAGE: join(dir.path, 'storage') });
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.seconds < 30, `${args.join(' ')}: ${r.seconds} s`);
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*(start Redis or fix REDIS_URL)/, args.join(' '));
  }
});

test('Redis lost mid-build: the CLI says what it waits for within 30 s, and Ctrl-C still stops it', { timeout: 300_000 }, async () => {
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis-lost') });
  const env = { ...base, REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'fflost', RAG_STORAGE: join(dir.path, 'lost-storage') };
  const cli = startRag(['snapshot', 'build', '--source', source, '--snapshot', 'lost', '--workers', '1', '--no-progress'], env);
  let stderr = '';
  cli.stderr!.on('data', (d) => { stderr += d; });
  const done = collect(cli, 300_000);
  let started: number[] = [];
  try {
    // The local worker is up once the build's first storage object appears.
    const deadline = Date.now() + 120_000;
    while (!existsSync(join(env.RAG_STORAGE, 'snapshots', 'lost')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    started = descendants(cli.pid!);
    redis.kill();
    const t0 = Date.now();
    while (!/waiting for Redis/.test(stderr) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 200));
    assert.match(stderr, /rag: waiting for Redis at redis:\/\/127\.0\.0\.1:\d+\/?: unreachable for \d+ s.*press Ctrl-C/);
    cli.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual((await waitGone(started, 10_000)).map(cmdline), []);
  } finally {
    cli.kill('SIGKILL');
    for (const p of started) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    await redis.stop();
  }
});
