// Retrieval at scale: the snapshot-wide IVF-PQ (one trained quantizer, one merged index per server)
// against the per-shard layout it replaces, at two corpus sizes 10x apart, in one run. Prints one JSON
// object (progress on stderr); resumable (--work keeps corpora, builds and exact results).
//
//   npm run bench:retrieval -- [--sizes 200000,2000000] [--shard-size 10000] [--queries 1000] [--batch 64]
//        [--old-shards 8] [--s3-size 200000] [--encoder models/minilm-static-256] [--work DIR]
//
// Per size N:
//  build     `./rag snapshot build --index ivfpq` (2 worker processes, static encoder) of the synthetic
//            corpus (bench/lib/synthetic-corpus.ts): command wall time and the index stage's wall time
//            (train stage + every shard's lists), as passages/s.
//  old       the per-shard layout's index stage on the same stored embeddings (buildShardIndexAsync with a
//            quantizer trained per shard, FAISS on both cores), on every shard when N <= --s3-size, else on
//            --old-shards shards spread over the snapshot (its cost is per shard, so passages/s carries
//            over). With every shard built, the per-shard snapshot is published beside the new one (same
//            passages and embeddings) and served too.
//  serve     one process per layout (bench/lib/scale-serve.ts): NQ-open questions, k=10, FAISS on one
//            thread; p50/p99 one at a time, q/s in batches of --batch, recall@10 against an exact scan of
//            the stored vectors, RSS per passage, object-store requests per question.
//  s3        at N = --s3-size, the new snapshot copied to a real S3-API server on loopback (s3rver) and
//            served through the local disk cache (requests per question after loading) and without it.
// Then the growth of p50 from the smaller to the larger size as an exponent of N, and an extrapolation
// to 21M passages.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildShardIndexAsync, setFaissThreads } from '@rag/index';
import { LocalObjectStore, S3ObjectStore, startS3DevServer } from '@rag/storage';
import { SnapshotLayout, putContent, type SnapshotManifest } from '@rag/snapshot';
import { leBytesToFloat32 } from '@rag/pipeline';
import { writeSyntheticCorpus } from './lib/synthetic-corpus.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    sizes: { type: 'string', default: '200000,2000000' },
    'shard-size': { type: 'string', default: '10000' },
    queries: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '64' },
    'old-shards': { type: 'string', default: '8' },
    's3-size': { type: 'string', default: '200000' },
    encoder: { type: 'string', default: join(repo, 'models/minilm-static-256') },
    questions: { type: 'string', default: join(repo, '../shared/data/nq-open/NQ-open.dev.jsonl') },
    dump: { type: 'string', default: join(repo, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2') },
    work: { type: 'string', default: join(repo, '.rag', 'bench-retrieval') },
  },
});
const sizes = o.sizes!.split(',').map(Number);
const s3Size = Number(o['s3-size']);
const encoder = resolve(o.encoder!);
const log = (m: string) => process.stderr.write(`[retrieval] ${m}\n`);
const children = new Set<import('node:child_process').ChildProcess>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of children) c.kill(sig);
    log(`interrupted by ${sig}; corpora and finished builds under ${o.work} are kept (run again to resume)`);
    process.exit(130);
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(c);
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('close', (code) => {
      children.delete(c);
      if (code === 0) res(out);
      else rej(new Error(`${cmd} ${args.slice(0, 4).join(' ')} … exited ${code}`));
    });
  });
}

interface SizeResult {
  passages: number;
  shards: number;
  build: { commandWallS: number; indexStageWallS: number; indexPassagesPerSecond: number; trainS: number; quantizer: unknown };
  oldIndexStage: { shardsBuilt: number; seconds: number; passagesPerSecond: number };
  indexStageSpeedup: number;
  serve: Record<string, unknown>;
}

async function serve(work: string, id: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const out = await run(process.execPath, ['--import', 'tsx', '--expose-gc', join(repo, 'bench/lib/scale-serve.ts'), '--storage', join(work, 'storage'), '--snapshot', id,
    '--encoder', encoder, '--questions', o.questions!, '--queries', o.queries!, '--threads', '1', '--batch', o.batch!, '--exact', join(work, 'exact.json'), ...extra], { RAG_LOG_LEVEL: 'warn', ...env });
  return JSON.parse(out);
}

/** The per-shard layout's index stage on the stored embeddings of `shards`; each built index, by shard. */
async function oldIndexStage(store: LocalObjectStore, m: SnapshotManifest, shards: number[]): Promise<{ seconds: number; built: Map<number, { bytes: Buffer; params: Record<string, number | string> }> }> {
  setFaissThreads(cpus().length);
  const built = new Map<number, { bytes: Buffer; params: Record<string, number | string> }>();
  let ms = 0;
  for (const i of shards) {
    const s = m.shards[i]!;
    const vectors = leBytesToFloat32(await store.get(s.embeddingsKey));
    const t = performance.now();
    const b = await buildShardIndexAsync(vectors, m.dim, { kind: 'ivfpq-shard' });
    ms += performance.now() - t;
    built.set(i, { bytes: b.bytes, params: b.params });
    log(`  per-shard index of shard ${i}: ${(ms / 1000).toFixed(0)} s so far`);
  }
  return { seconds: ms / 1000, built };
}

/** The same snapshot with the per-shard layout: each shard's own IVF-PQ, no quantizer (manifest v2). */
async function publishPerShard(store: LocalObjectStore, m: SnapshotManifest, built: Map<number, { bytes: Buffer; params: Record<string, number | string> }>, id: string): Promise<void> {
  const shards = [];
  for (const [i, s] of m.shards.entries()) {
    const b = built.get(i)!;
    const stored = await putContent(store, b.bytes, 'index');
    shards.push({ ...s, key: stored.key, sha256: stored.sha256, bytes: stored.bytes, index: { kind: 'ivfpq' as const, params: b.params } });
  }
  const { quantizer: _q, ...rest } = m;
  await store.put(new SnapshotLayout(id).manifest, JSON.stringify({ ...rest, version: 2, id, index: { kind: 'ivfpq-shard', metric: 'ip', params: {} }, shards }, null, 2));
}

async function copyToS3(local: LocalObjectStore, m: SnapshotManifest, s3: S3ObjectStore): Promise<void> {
  const keys = [m.quantizer!.key, ...m.shards.flatMap((s) => [s.key, s.embeddingsKey, s.passagesKey, ...(s.offsets ? [s.offsets.key] : []), ...(s.deleted ? [s.deleted.key] : [])]), new SnapshotLayout(m.id).manifest];
  for (const k of keys) await s3.put(k, await local.get(k));
}

const results: SizeResult[] = [];
for (const N of sizes) {
  const work = resolve(o.work!, String(N));
  mkdirSync(work, { recursive: true });
  const corpus = await writeSyntheticCorpus(work, N, o.dump!, log);
  const id = `ret-${N}`;
  const store = new LocalObjectStore(join(work, 'storage'));
  const buildFile = join(work, 'build.json');
  if (!existsSync(buildFile)) {
    log(`building ${id} (--index ivfpq, shards of ${o['shard-size']})`);
    const t0 = Date.now();
    await run(join(repo, 'rag'), ['snapshot', 'build', '--source', corpus, '--format', 'dpr-tsv', '--snapshot', id, '--encoder', encoder, '--workers', '2', '--shard-size', o['shard-size']!, '--index', 'ivfpq', '--no-progress', '--json'],
      { RAG_STORAGE: join(work, 'storage'), RAG_HOME: join(work, 'home'), REDIS_URL: '', RAG_SOURCE_ROOTS: work });
    writeFileSync(buildFile, JSON.stringify({ commandWallMs: Date.now() - t0 }));
  }
  const m = JSON.parse((await store.get(new SnapshotLayout(id).manifest)).toString()) as SnapshotManifest;
  const commandWallMs = (JSON.parse(readFileSync(buildFile, 'utf8')) as { commandWallMs: number }).commandWallMs;
  const indexWallMs = m.build.stagesWallMs!.index!;

  const all = N <= s3Size;
  const oldFile = join(work, 'old-index.json');
  let old: SizeResult['oldIndexStage'];
  if (existsSync(oldFile)) old = JSON.parse(readFileSync(oldFile, 'utf8'));
  else {
    const pick = all ? m.shards.map((_, i) => i) : Array.from({ length: Number(o['old-shards']) }, (_, i) => Math.floor(((i + 0.5) * m.shards.length) / Number(o['old-shards'])));
    log(`per-shard index stage on ${pick.length} of ${m.shards.length} shards`);
    const r = await oldIndexStage(store, m, pick);
    const rows = pick.reduce((a, i) => a + m.shards[i]!.vectors, 0);
    old = { shardsBuilt: pick.length, seconds: +r.seconds.toFixed(1), passagesPerSecond: +(rows / r.seconds).toFixed(0) };
    if (all) await publishPerShard(store, m, r.built, `${id}-shard`);
    writeFileSync(oldFile, JSON.stringify(old));
  }
  const newRate = m.passages / (indexWallMs / 1000);
  const served: Record<string, unknown> = {};
  log(`serving ${id} (local)`);
  served.new = await serve(work, id, []);
  if (all) {
    log(`serving ${id}-shard (local)`);
    served.perShard = await serve(work, `${id}-shard`, []);
  }
  if (N === s3Size) {
    const s3dir = join(work, 's3rver');
    rmSync(s3dir, { recursive: true, force: true });
    const srv = await startS3DevServer({ port: 0, dir: s3dir, buckets: ['bench'] });
    try {
      const s3 = new S3ObjectStore({ bucket: 'bench', prefix: 'r', endpoint: srv.endpoint, region: 'us-east-1', multipartMb: 16, credentials: srv.credentials });
      log(`copying ${id} to s3rver`);
      await copyToS3(store, m, s3);
      await s3.close();
      const env = { AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey };
      const s3args = ['--s3-endpoint', srv.endpoint, '--s3-bucket', 'bench', '--s3-prefix', 'r'];
      const cacheDir = join(work, 'cache');
      rmSync(cacheDir, { recursive: true, force: true });
      log('serving from S3 through the disk cache');
      served.s3Cached = await serve(work, id, [...s3args, '--cache', cacheDir], env);
      log('serving from S3 without the cache (range requests, as before)');
      served.s3Uncached = await serve(work, id, [...s3args, '--queries', '100'], env);
    } finally {
      await srv.close();
    }
  }
  const q = m.quantizer!;
  results.push({
    passages: m.passages,
    shards: m.shards.length,
    build: { commandWallS: +(commandWallMs / 1000).toFixed(1), indexStageWallS: +(indexWallMs / 1000).toFixed(1), indexPassagesPerSecond: +newRate.toFixed(0), trainS: +((q.trainMs ?? 0) / 1000).toFixed(1), quantizer: { nlist: q.nlist, pqM: q.pqM, pqBits: q.pqBits, nprobe: q.nprobe, rerank: q.rerank, trainedOn: q.trainedOn, fit: q.fit } },
    oldIndexStage: old,
    indexStageSpeedup: +(newRate / old.passagesPerSecond).toFixed(2),
    serve: served,
  });
  await store.close();
}

// Growth from the smallest to the largest size, and 21M passages extrapolated from the largest.
const p50 = (r: SizeResult) => (r.serve.new as { latencyMs: { p50: number } }).latencyMs.p50;
const [lo, hi] = [results[0]!, results[results.length - 1]!];
const exponent = results.length > 1 ? Math.log(p50(hi) / p50(lo)) / Math.log(hi.passages / lo.passages) : null;
const WIKI = 21_000_000;
const bpp = (hi.serve.new as { bytesPerPassageInMemory: number }).bytesPerPassageInMemory;
const p50At21M = exponent === null ? null : p50(hi) * (WIKI / hi.passages) ** exponent;
process.stdout.write(JSON.stringify({
  bench: 'retrieval',
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg: loadavg().map((x) => +x.toFixed(2)),
  encoder: encoder.split('/').pop(),
  shardSize: Number(o['shard-size']),
  sizes: results,
  growth: {
    p50Ratio: +(p50(hi) / p50(lo)).toFixed(2),
    sizeRatio: hi.passages / lo.passages,
    exponent: exponent === null ? null : +exponent.toFixed(3),
    note: 'p50 grows as N^exponent: 0.5 is sqrt(N), 1 is linear',
  },
  extrapolation21M: exponent === null ? null : {
    p50Ms: +p50At21M!.toFixed(2),
    queriesPerSecondPerCore: +(1000 / p50At21M!).toFixed(0),
    serveGiBPerWorker: +((bpp * WIKI) / 2 ** 30 + 0.3).toFixed(2),
    indexStageHours: +(WIKI / hi.build.indexPassagesPerSecond / 3600).toFixed(2),
    oldIndexStageHours: +(WIKI / hi.oldIndexStage.passagesPerSecond / 3600).toFixed(2),
  },
}, null, 2) + '\n');
