// The chaos suite (npm run chaos): real processes on loopback only. A 2-worker snapshot build and a
// 2-worker QA run, each in turn under one fault: kill -9 of a worker (repeatedly), Redis killed and
// restarted with its AOF, Redis killed and restarted without it (all queue state lost), the S3-API
// server stopped for 30 s, and 20 alias flips. Every scenario reports whether it completed,
// passages/answers lost and duplicated, chunks that mix snapshots, the time to recover and (flips)
// the generation workers' RSS. Prints one JSON line per scenario, then a markdown table.
//
// The storage phase runs gc in a loop (one-pass and grace-period runs, as an operator's cron would)
// during a 2-worker build, an incremental build, and 20 alias flips raced by `snapshot rm` of a flip
// target; it reports objects missing from published manifests, aliases found pointing at an
// unpublished snapshot, and searches on the alias that failed or came from another snapshot.
//
//   npm run chaos [-- --only qa|build|storage] [--out table.md]
import '@rag/core/quiet-warnings';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRedisConnection, freePort } from '@rag/queue';
import { AliasRegistry } from '@rag/registry';
import { SnapshotRetriever } from '@rag/retrieval';
import { CONTENT_REFRESH_AFTER_MS, SnapshotRegistry, assertObjectsPresent, collectGarbage, DEFAULT_ABANDONED_AFTER_MS } from '@rag/snapshot';
import { removeSnapshot } from '@rag/registry';
import { S3ObjectStore } from '@rag/storage';
import { collect, REPO, startRag, type RagResult } from '../helpers/run-rag.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { TINY_GENERATOR } from '../helpers/world-snapshots.js';

const { values: args } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string' }, keep: { type: 'boolean' } } });
const STATIC = join(REPO, 'models', 'minilm-static-256');
const NQ = join(REPO, '../shared/data/nq-open/NQ-open.dev.jsonl');
const CHUNK = 8;
const QUESTIONS = 240;
/** Builds use the enwiki sample (4.4k passages) cut into many shards, so faults land mid-build. */
const ENWIKI = join(REPO, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2');
const BUILD_SHARD = 300;
const SHARD = 150;
const S3_DOWN_MS = 30_000;
const COMMAND_TIMEOUT_MS = 240_000;
const root = join(tmpdir(), `rag-chaos-${process.pid}`);
const s3dir = join(root, 's3');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`chaos: ${msg}\n`);

type Fault = 'kill -9 worker x3' | 'Redis restart (AOF)' | 'Redis restart (no AOF)' | 'S3 down 30 s' | '20 alias flips';
const FAULTS: Fault[] = ['kill -9 worker x3', 'Redis restart (AOF)', 'Redis restart (no AOF)', 'S3 down 30 s', '20 alias flips'];

interface Row {
  phase: 'build' | 'qa';
  fault: Fault;
  completed: boolean;
  /** Extra runs of the same command it took (documented recovery for lost Redis state). */
  reruns: number;
  lost: number;
  duplicated: number;
  mixed: number;
  /** The fault began while the command was still running (else the row proves nothing). */
  midRun: boolean;
  recoverS: number | null;
  totalS: number;
  rssFirstMb?: number;
  rssAfterMb?: number;
  note?: string;
}

// ---- the S3-API server as its own process, so it can be stopped and started on the same port ----
let s3port = 0;
let s3proc: ChildProcess | undefined;
async function startS3(): Promise<void> {
  s3proc = spawn(join(REPO, 'rag'), ['dev', 's3', '--port', String(s3port), '--dir', s3dir, '--bucket', 'rag'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('S3 dev server did not start')), 60_000);
    s3proc!.stdout!.on('data', (d) => { if (String(d).includes('S3-API server on')) { clearTimeout(t); resolve(); } });
  });
}
async function stopS3(): Promise<void> {
  const p = s3proc;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGKILL'); });
}

function baseEnv(prefix: string, redisUrl: string): Record<string, string> {
  return {
    RAG_STORAGE: 's3://rag/chaos', AWS_ENDPOINT_URL: `http://127.0.0.1:${s3port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1',
    REDIS_URL: redisUrl, RAG_QUEUE_PREFIX: prefix, RAG_HOME: join(root, 'home'),
    RAG_ENCODER: STATIC, RAG_GENERATOR: TINY_GENERATOR, RAG_QA_CHUNK: String(CHUNK), RAG_SNAPSHOT_POLL_MS: '1000',
    // A killed worker's job is taken over once its lock expires; retries with backoff ride out a
    // 30 s storage outage (1+2+4+...+32 s).
    RAG_LOCK_MS: '4000', RAG_STALLED_MS: '1000', RAG_MAX_STALLED: '20', RAG_JOB_ATTEMPTS: '8', RAG_JOB_BACKOFF_MS: '1000',
    RAG_ONNX_THREADS: '1', RAG_FAISS_THREADS: '1', RAG_LOG_LEVEL: 'warn',
    // Workers read sources from the shared data beside the repo and the worlds generated under the run's root.
    RAG_SOURCE_ROOTS: [join(REPO, '..', 'shared'), root].join(delimiter),
  };
}

/** Files under the s3rver directory of a key prefix (only under a `results/` folder when asked): grows with every object written (progress). */
function objectCount(keyPrefix: string, resultsOnly: boolean): number {
  const dir = join(s3dir, 'rag', 'chaos', keyPrefix);
  let n = 0;
  const walk = (d: string) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (!resultsOnly || d.includes(`${'/'}results`)) n++;
    }
  };
  walk(dir);
  return n;
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

class Workers {
  readonly procs: ChildProcess[] = [];
  readonly exits: Promise<RagResult>[] = [];
  constructor(private readonly roles: string, private readonly env: Record<string, string>) {}
  start(n: number): void {
    for (let i = 0; i < n; i++) {
      const p = startRag(['worker', '--roles', this.roles, '--concurrency', '1'], this.env);
      this.procs.push(p);
      this.exits.push(collect(p, 3_600_000));
    }
  }
  /** The live ones, oldest first. */
  live(): ChildProcess[] {
    return this.procs.filter((p) => p.exitCode === null && p.signalCode === null);
  }
  async stop(): Promise<void> {
    for (const p of this.live()) p.kill('SIGKILL');
    await Promise.all(this.exits);
  }
  /** Each worker's exit and the end of its stderr, for a scenario that failed. */
  async report(): Promise<string> {
    const out: string[] = [];
    for (const [i, e] of this.exits.entries()) {
      const r = await e;
      out.push(`worker ${i} (pid ${this.procs[i]!.pid}) exit ${r.code}: ${r.stderr.trim().split('\n').filter((l) => !/"level":30/.test(l)).slice(-4).join('\n').slice(0, 1200)}`);
    }
    return out.join('\n');
  }
}

interface Ctx {
  redis: RedisServer;
  workers: Workers;
  env: Record<string, string>;
  /** Objects written so far by this command (progress). */
  progress: () => number;
  running: () => boolean;
}

/** Waits until the command has made some progress, then injects the fault; returns when the fault is over. */
async function inject(fault: Fault, c: Ctx, out: Partial<Row>): Promise<number> {
  const start = c.progress();
  const t0 = Date.now();
  while (c.progress() < start + 3 && c.running() && Date.now() - t0 < 120_000) await sleep(100);
  out.midRun = c.running();
  switch (fault) {
    case 'kill -9 worker x3':
      for (let i = 0; i < 3 && c.running(); i++) {
        const victim = c.workers.live()[0];
        victim?.kill('SIGKILL');
        c.workers.start(1);
        await sleep(4000);
      }
      break;
    case 'Redis restart (AOF)':
    case 'Redis restart (no AOF)':
      await c.redis.kill();
      await sleep(3000);
      await c.redis.restart({ keepData: fault === 'Redis restart (AOF)' });
      break;
    case 'S3 down 30 s':
      await stopS3();
      await sleep(S3_DOWN_MS);
      await startS3();
      break;
    case '20 alias flips':
      await flipAlias(c, 20, 1000);
      break;
  }
  return Date.now();
}

/**
 * Flips prod between world-2016 and the larger enwiki build (4.4k passages) `n` times, then back to
 * world-2016; calls `after(i)` after flip i. A worker that kept every snapshot it stopped serving
 * would grow by the larger one's FAISS memory on every other flip.
 */
async function flipAlias(c: Ctx, n: number, gapMs: number, after?: (i: number) => Promise<void>): Promise<void> {
  const conn = createRedisConnection(c.redis.url);
  conn.on('error', () => {});
  const store = s3store();
  const aliases = new AliasRegistry({ store, redis: conn, prefix: c.env.RAG_QUEUE_PREFIX });
  try {
    for (let i = 1; i <= n; i++) {
      await aliases.set('prod', i % 2 ? 'enwiki-ref' : 'world-2016');
      await sleep(gapMs);
      await after?.(i);
    }
    await aliases.set('prod', 'world-2016');
  } finally {
    await aliases.close();
    conn.disconnect();
    await store.close();
  }
}

/**
 * Generation-worker RSS over 20 flips, measured once the run is over (answering questions grows
 * ONNX Runtime's arenas and would hide what the flips do): after flip 1 and after flip 21, both
 * serving enwiki-ref, once the old snapshot has drained.
 */
async function flipRss(c: Ctx, row: Row): Promise<void> {
  const rss = () => Math.max(...c.workers.live().map((p) => rssMb(p.pid)));
  await flipAlias(c, 21, 1000, async (i) => {
    if (i === 1) { await sleep(3000); row.rssFirstMb = rss(); }
    if (i === 21) { await sleep(3000); row.rssAfterMb = rss(); }
  });
}

function s3store(): S3ObjectStore {
  return new S3ObjectStore({ bucket: 'rag', prefix: 'chaos', endpoint: `http://127.0.0.1:${s3port}`, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, multipartMb: 5 });
}

/** Runs `args` under a fault; re-runs the same command once if it failed (the documented recovery). */
async function scenario(phase: 'build' | 'qa', fault: Fault, args: string[], keyPrefix: string, roles: string, n: number): Promise<{ row: Row; result: RagResult }> {
  const redis = await startRedisServer({ dir: join(root, `redis-${phase}-${n}`), aof: true });
  const env = baseEnv(`chaos${phase}${n}`, redis.url);
  const workers = new Workers(roles, env);
  workers.start(2);
  const row: Row = { phase, fault, completed: false, reruns: 0, lost: 0, duplicated: 0, mixed: 0, midRun: false, recoverS: null, totalS: 0 };
  const t0 = Date.now();
  try {
    let running = true;
    const cmd = collect(startRag(args, env), COMMAND_TIMEOUT_MS).finally(() => { running = false; });
    // QA progress is answered chunks, not the question chunks the command writes before queueing them.
    const ctx: Ctx = { redis, workers, env, progress: () => objectCount(keyPrefix, phase === 'qa'), running: () => running };
    const faultEnd = await inject(fault, ctx, row);
    // Time to recover: from the end of the fault to the next object written (or the end, if none was left).
    const base = ctx.progress();
    const recovered = (async () => {
      while (running && ctx.progress() <= base) await sleep(100);
      return Date.now();
    })();
    let result = await cmd;
    row.recoverS = round(((await recovered) - faultEnd) / 1000);
    if (fault === '20 alias flips' && phase === 'qa' && result.code === 0) await flipRss(ctx, row);
    if (result.code !== 0) {
      log(`${phase} / ${fault}: the command failed (${lastLine(result.stderr)}); running the same command again`);
      log(`its stderr ended with:\n${result.stderr.trim().split('\n').slice(-8).join('\n')}`);
      row.reruns++;
      row.note = lastLine(result.stderr);
      result = await collect(startRag(args, env), COMMAND_TIMEOUT_MS);
    }
    row.completed = result.code === 0;
    row.totalS = round((Date.now() - t0) / 1000);
    if (!row.completed) row.note = lastLine(result.stderr);
    return { row, result };
  } finally {
    await workers.stop();
    if (!row.completed || row.reruns > 0) log(`${phase} / ${fault} workers:\n${await workers.report()}`);
    await redis.stop();
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.startsWith('rag:')).pop()?.slice(0, 160) ?? s.trim().split('\n').pop()?.slice(0, 160) ?? '';
}
const round = (x: number) => Math.round(x * 10) / 10;

async function passageIds(snapshot: string): Promise<string[]> {
  const store = s3store();
  try {
    const manifest = await new SnapshotRegistry(store).read(snapshot);
    const ids: string[] = [];
    for await (const p of SnapshotRetriever.readPassages(store, manifest)) ids.push(p.id);
    return ids;
  } finally {
    await store.close();
  }
}

/** Shards whose index, passages and manifest disagree (a loaded retriever verifies sha256 and counts per shard). */
async function brokenShards(snapshot: string): Promise<number> {
  const store = s3store();
  try {
    const r = await SnapshotRetriever.load(store, snapshot);
    r.release();
    return 0;
  } catch (err) {
    log(`${snapshot}: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

async function setup(): Promise<{ source: string; reference: string[]; world: string }> {
  mkdirSync(root, { recursive: true });
  s3port = await freePort();
  await startS3();
  const env = baseEnv('chaossetup', '');
  delete (env as Record<string, string | undefined>).REDIS_URL;
  const world = join(root, 'world');
  const g = await collect(startRag(['world', 'generate', '--seed', '9', '--out', world, '--countries', '12', '--questions', '40'], env), 300_000);
  if (g.code !== 0) throw new Error(g.stderr);
  for (const year of ['2016', '2018']) {
    const r = await collect(startRag(['snapshot', 'build', '--source', join(world, year, 'world.xml.bz2'), '--snapshot', `world-${year}`, '--workers', '2', '--shard-size', String(SHARD), '--no-progress'], env), 600_000);
    if (r.code !== 0) throw new Error(r.stderr);
    log(`built world-${year}: ${r.stdout.trim()}`);
  }
  const a = await collect(startRag(['alias', 'set', 'prod', 'world-2016'], env), 60_000);
  if (a.code !== 0) throw new Error(a.stderr);
  const ref = await collect(startRag(['snapshot', 'build', '--source', ENWIKI, '--snapshot', 'enwiki-ref', '--workers', '2', '--shard-size', String(BUILD_SHARD), '--no-progress'], env), 600_000);
  if (ref.code !== 0) throw new Error(ref.stderr);
  log(`built the fault-free reference: ${ref.stdout.trim()}`);
  return { source: ENWIKI, reference: await passageIds('enwiki-ref'), world };
}

interface StorageRow {
  phase: 'storage';
  scenario: string;
  completed: boolean;
  gcRuns: number;
  gcRefused: number;
  gcDeleted: number;
  missingObjects: number;
  unpublishedBehindAlias: number;
  wrongAnswers: number;
  note?: string;
}

/** gc as a cron would run it, back to back until `stop`: one-pass runs (refused while a build runs) and grace-period runs. */
function gcLoop(): { stop: () => Promise<{ runs: number; refused: number; deleted: number }> } {
  let running = true;
  const stats = { runs: 0, refused: 0, deleted: 0 };
  const done = (async () => {
    const store = s3store();
    try {
      for (let i = 0; running; i++) {
        try {
          const r = await collectGarbage(store, { graceMs: i % 2 ? CONTENT_REFRESH_AFTER_MS : 0, abandonedAfterMs: DEFAULT_ABANDONED_AFTER_MS, dryRun: false });
          stats.deleted += r.deleted;
        } catch (err) {
          stats.refused++;
          if (!/cannot run while build|could not read/.test((err as Error).message)) log(`gc: ${(err as Error).message}`);
        }
        stats.runs++;
        await sleep(200);
      }
    } finally {
      await store.close();
    }
  })();
  return { stop: async () => { running = false; await done; return stats; } };
}

/** Objects named by published manifests that storage does not hold. */
async function missingObjects(): Promise<number> {
  const store = s3store();
  let missing = 0;
  try {
    for (const m of await new SnapshotRegistry(store).list()) {
      try { await assertObjectsPresent(store, m, m.id); } catch (err) { missing++; log(`${m.id}: ${(err as Error).message}`); }
    }
  } finally {
    await store.close();
  }
  return missing;
}

async function storagePhase(source: string, reference: string[], world: string): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  const run = async (scenario: string, body: (env: Record<string, string>, row: StorageRow) => Promise<void>) => {
    const redis = await startRedisServer({ dir: join(root, `redis-storage-${rows.length}`), aof: true });
    const env = baseEnv(`chaosstorage${rows.length}`, redis.url);
    const row: StorageRow = { phase: 'storage', scenario, completed: false, gcRuns: 0, gcRefused: 0, gcDeleted: 0, missingObjects: 0, unpublishedBehindAlias: 0, wrongAnswers: 0 };
    const gc = gcLoop();
    try {
      await body(env, row);
    } catch (err) {
      row.note = (err as Error).message.slice(0, 160);
    } finally {
      const s = await gc.stop();
      row.gcRuns = s.runs; row.gcRefused = s.refused; row.gcDeleted = s.deleted;
      await redis.stop();
    }
    row.missingObjects = await missingObjects();
    rows.push(row);
    process.stdout.write(JSON.stringify(row) + '\n');
  };
  const build = async (env: Record<string, string>, args: string[]) => {
    const workers = new Workers('ingest,encode,index', env);
    workers.start(2);
    try {
      return await collect(startRag(['snapshot', 'build', ...args, '--workers', '0', '--no-progress'], env), COMMAND_TIMEOUT_MS);
    } finally {
      await workers.stop();
    }
  };
  await run('gc loop x 2-worker build', async (env, row) => {
    const r = await build(env, ['--source', source, '--snapshot', 'chaos-gc-full', '--shard-size', '250']);
    if (r.code !== 0) throw new Error(lastLine(r.stderr));
    const got = new Set(await passageIds('chaos-gc-full'));
    row.completed = reference.every((x) => got.has(x)) && got.size === reference.length;
    if (!row.completed) row.note = 'passages differ from the reference build';
  });
  await run('gc loop x incremental build', async (env, row) => {
    const r = await build(env, ['--source', join(world, '2018', 'world.xml.bz2'), '--snapshot', 'world-2018-inc', '--base', 'world-2016', '--shard-size', String(SHARD)]);
    if (r.code !== 0) throw new Error(lastLine(r.stderr));
    const full = new Set(await passageIds('world-2018'));
    const inc = await passageIds('world-2018-inc');
    row.completed = inc.length === full.size && inc.every((x) => full.has(x));
    if (!row.completed) row.note = 'incremental passages differ from the full build';
  });
  await run('gc loop x 20 alias flips raced by snapshot rm', async (_env, row) => {
    const store = s3store();
    const aliases = new AliasRegistry({ store });
    const targets = ['world-2016', 'world-2018-inc', 'enwiki-ref', 'chaos-gc-full'];
    let removedOk = 0;
    let flipsRefused = 0;
    try {
      for (let i = 0; i < 20; i++) {
        const target = targets[i % targets.length]!;
        // A removal of the flip's target races the flip; one of them backs off, never both go ahead.
        const victim = target === 'world-2016' || target === 'enwiki-ref' ? undefined : target;
        const [flip, rm] = await Promise.allSettled([
          aliases.set('chaos-prod', target),
          victim ? removeSnapshot(store, new AliasRegistry({ store }), victim) : Promise.resolve(undefined),
        ]);
        if (flip.status === 'rejected') flipsRefused++;
        if (victim && rm.status === 'fulfilled') removedOk++;
        const resolved = await aliases.resolveSnapshotRef('chaos-prod').catch(() => undefined);
        if (!resolved || !(await new SnapshotRegistry(store).isPublished(resolved.snapshotId))) { row.unpublishedBehindAlias++; continue; }
        try {
          const r = await SnapshotRetriever.load(store, resolved.snapshotId);
          if (r.manifest.id !== resolved.snapshotId) row.wrongAnswers++;
          r.release();
        } catch (err) {
          row.wrongAnswers++;
          log(`search on chaos-prod (${resolved.snapshotId}): ${(err as Error).message}`);
        }
      }
      row.completed = true;
      row.note = `${flipsRefused} flips refused (target being removed), ${removedOk} removals went ahead`;
    } finally {
      await aliases.close();
      await store.close();
    }
  });
  return rows;
}

async function main(): Promise<void> {
  if (!existsSync(NQ)) throw new Error(`${NQ} is missing (shared/data)`);
  const started = Date.now();
  const { source, reference, world } = await setup();
  log(`setup done in ${round((Date.now() - started) / 1000)} s; reference snapshot has ${reference.length} passages`);
  const rows: Row[] = [];
  const storageRows = !args.only || args.only === 'storage' ? await storagePhase(source, reference, world) : [];
  let n = 0;
  for (const phase of ['build', 'qa'] as const) {
    if (args.only && args.only !== phase) continue;
    for (const fault of FAULTS) {
      n++;
      let row: Row;
      if (phase === 'build') {
        const id = `chaos-${n}`;
        // Each build its own shard size: work is found by content across snapshot ids (stage-work.ts),
        // so a build with the reference's shards would encode nothing and a fault would hit no real work.
        // Progress is content objects (shards, embeddings, indexes), not the command's own start-up writes
        // (storage probes, its lease), so the fault lands in the build, not before it is queued.
        const r = await scenario('build', fault, ['snapshot', 'build', '--source', source, '--snapshot', id, '--workers', '0', '--shard-size', String(BUILD_SHARD - 10 * n), '--no-progress'], 'objects', 'ingest,encode,index', n);
        row = r.row;
        if (row.completed) {
          const ids = await passageIds(id);
          const got = new Set(ids);
          row.lost = reference.filter((x) => !got.has(x)).length;
          row.duplicated = ids.length - got.size;
          row.mixed = await brokenShards(id);
        }
      } else {
        const out = join(root, `qa-${n}.jsonl`);
        const r = await scenario('qa', fault, ['qa', 'run', '--questions', NQ, '--snapshot', 'prod', '--limit', String(QUESTIONS), '--k', '3', '--beams', '2', '--workers', '0', '--fresh', '--out', out, '--json', '--no-progress'], 'qa-runs', 'generate', n);
        row = r.row;
        if (row.completed) {
          const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; index: number; snapshot: string; error?: string });
          const answered = new Set(recs.filter((x) => !x.error).map((x) => x.index));
          row.lost = QUESTIONS - answered.size;
          row.duplicated = recs.length - new Set(recs.map((x) => x.index)).size;
          const chunks = new Map<number, Set<string>>();
          for (const x of recs) {
            const c = Math.floor(x.index / CHUNK);
            if (!chunks.has(c)) chunks.set(c, new Set());
            chunks.get(c)!.add(x.snapshot);
          }
          row.mixed = [...chunks.values()].filter((s) => s.size > 1).length;
        }
      }
      rows.push(row);
      process.stdout.write(JSON.stringify(row) + '\n');
    }
  }
  const table = markdown(rows, round((Date.now() - started) / 1000)) + storageMarkdown(storageRows);
  process.stdout.write('\n' + table);
  if (args.out) writeFileSync(args.out, table);
}

function storageMarkdown(rows: StorageRow[]): string {
  if (rows.length === 0) return '';
  const lines = ['', '| storage scenario | completed | gc runs (refused) | objects deleted | missing objects | unpublished behind alias | wrong answers | note |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.scenario} | ${r.completed ? 'yes' : 'no'} | ${r.gcRuns} (${r.gcRefused}) | ${r.gcDeleted} | ${r.missingObjects} | ${r.unpublishedBehindAlias} | ${r.wrongAnswers} | ${r.note ?? ''} |`);
  return lines.join('\n') + '\n';
}

function markdown(rows: Row[], totalS: number): string {
  const lines = [
    '| phase | fault | fault mid-run | completed | re-runs | lost | duplicated | mixed-snapshot chunks | recover (s) | total (s) | generate-worker RSS after flip 1 / flip 21, idle (MB) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const rss = r.rssFirstMb !== undefined && r.rssAfterMb !== undefined && r.phase === 'qa'
      ? `${r.rssFirstMb.toFixed(0)} / ${r.rssAfterMb.toFixed(0)} (${r.rssAfterMb >= r.rssFirstMb ? '+' : ''}${(((r.rssAfterMb - r.rssFirstMb) / r.rssFirstMb) * 100).toFixed(1)}%)`
      : '-';
    lines.push(`| ${r.phase} | ${r.fault} | ${r.midRun ? 'yes' : 'no'} | ${r.completed ? 'yes' : 'no'} | ${r.reruns} | ${r.lost} | ${r.duplicated} | ${r.mixed} | ${r.recoverS ?? '-'} | ${r.totalS} | ${rss} |`);
  }
  lines.push('', `Suite wall time: ${totalS} s.`);
  return lines.join('\n') + '\n';
}

main()
  .catch((err) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopS3();
    if (!args.keep) rmSync(root, { recursive: true, force: true });
  });
