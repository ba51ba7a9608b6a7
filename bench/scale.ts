// Scale benchmark: build a snapshot of N passages through the real CLI (2 workers, embedded Redis,
// local storage), then serve queries from one process. Prints one JSON object; resumable (the corpus
// and a published snapshot under --work are reused).
//
//   node --import tsx bench/scale.ts --passages 200000 [--encoder models/minilm-static-256] [--workers 2]
//        [--shard-size 2000] [--index auto] [--flat-budget-mb N] [--queries 1000] [--work DIR]
//
// The corpus is a DPR TSV of N 100-word passages cut at random offsets from the real enwiki sample's
// text (every tenth word replaced at random, so passages are distinct), deterministic. Peak RSS of
// every process of the build (the CLI, its workers, redis-server) is sampled from /proc every 200 ms;
// serving reports the worker's RSS growth per passage after loading the snapshot, query latency
// p50/p99 and recall@10 against exact search.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSyntheticCorpus } from './lib/synthetic-corpus.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    passages: { type: 'string', default: '200000' },
    encoder: { type: 'string', default: join(repo, 'models/minilm-static-256') },
    workers: { type: 'string', default: '2' },
    'shard-size': { type: 'string', default: '2000' },
    index: { type: 'string', default: 'auto' },
    queries: { type: 'string', default: '1000' },
    'flat-budget-mb': { type: 'string' },
    work: { type: 'string' },
    dump: { type: 'string', default: join(repo, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2') },
  },
});
const N = Number(o.passages);
const work = resolve(o.work ?? join(repo, '.rag', 'bench-scale', String(N)));
mkdirSync(work, { recursive: true });
const log = (m: string) => process.stderr.write(`[scale ${N}] ${m}\n`);
// Stopping the benchmark stops what it started: the build CLI (which stops its workers and Redis) and the server.
const children = new Set<import('node:child_process').ChildProcess>();
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of children) c.kill(sig);
    log(`interrupted by ${sig}; the corpus and finished build stages under ${work} are kept (run again to resume)`);
    stopping = true;
    process.exitCode = 130;
  });
}
const storage = join(work, 'storage');
const id = `scale-${N}`;

// 1. Corpus (reused if complete).
const corpus = await writeSyntheticCorpus(work, N, o.dump!, log);

// 2. Build, sampling the RSS of every process under the CLI.
interface Proc { pid: number; ppid: number; rssKiB: number; cmd: string }
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push({ pid: Number(d), ppid, rssKiB: rss ? Number(rss[1]) : 0, cmd });
    } catch { /* gone */ }
  }
  return out;
}
function role(p: Proc): string {
  if (p.cmd.includes('redis-server')) return 'redis';
  if (p.cmd.includes('snapshot build')) return 'cli';
  if (p.cmd.includes('worker/src/main')) return `worker-${p.pid}`;
  return `other-${p.pid}`;
}

const buildFile = join(work, 'build.json');
let build: { commandWallMs: number; peakRssMiB: Record<string, number>; manifest: any };
if (existsSync(buildFile)) {
  build = JSON.parse(readFileSync(buildFile, 'utf8'));
  log('snapshot already built; reusing its figures');
} else {
  log('building');
  const t0 = Date.now();
  const child = spawn(join(repo, 'rag'), ['snapshot', 'build', '--source', corpus, '--format', 'dpr-tsv', '--snapshot', id, '--encoder', resolve(o.encoder!), '--workers', o.workers!, '--shard-size', o['shard-size']!, '--index', o.index!, ...(o['flat-budget-mb'] ? ['--flat-budget-mb', o['flat-budget-mb']] : []), '--no-progress', '--json'], {
    env: { ...process.env, RAG_STORAGE: storage, RAG_HOME: join(work, 'home'), REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  const peak: Record<string, number> = {};
  const sample = () => {
    const all = processes();
    const tree = new Set<number>([child.pid!]);
    for (let grew = true; grew;) {
      grew = false;
      for (const p of all) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); grew = true; }
    }
    for (const p of all) if (tree.has(p.pid) && p.rssKiB > 0) peak[role(p)] = Math.max(peak[role(p)] ?? 0, p.rssKiB);
  };
  const timer = setInterval(sample, 200);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(timer);
  if (stopping) process.exit(130);
  if (code !== 0) throw new Error(`build exited ${code}`);
  const peakRssMiB: Record<string, number> = {};
  let w = 0;
  for (const [k, v] of Object.entries(peak).sort()) peakRssMiB[k.startsWith('worker') ? `worker${w++}` : k] = +(v / 1024).toFixed(1);
  build = { commandWallMs: Date.now() - t0, peakRssMiB, manifest: JSON.parse(stdout) };
  writeFileSync(buildFile, JSON.stringify(build));
}
const m = build.manifest;

// 3. Serve from one process.
log('serving');
const serve = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', join(repo, 'bench/lib/scale-serve.ts'), '--storage', storage, '--snapshot', id, '--encoder', resolve(o.encoder!), '--corpus', corpus, '--queries', o.queries!], {
  cwd: repo,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, RAG_LOG_LEVEL: 'warn' },
});
children.add(serve);
let served = '';
serve.stdout.on('data', (d) => { served += d; });
const served0 = await new Promise<number | null>((r) => serve.on('close', r));
if (stopping) process.exit(130);
if (served0 !== 0) throw new Error('serving failed');
const s = JSON.parse(served);

let storageBytes = 0;
for (const sh of m.shards) storageBytes += sh.bytes + (sh.passagesBytes ?? 0) + (sh.embeddingsBytes ?? 0) + (sh.offsets?.bytes ?? 0);
const wall = m.build.stagesWallMs;
process.stdout.write(JSON.stringify({
  bench: 'scale',
  passages: m.passages,
  shards: m.shards.length,
  shardSize: m.shardSize,
  index: m.index.kind,
  encoder: m.encoder.name,
  dim: m.dim,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg1: +loadavg()[0]!.toFixed(2),
  build: {
    commandWallMs: build.commandWallMs,
    passagesPerSecond: {
      overall: +(m.passages / (build.commandWallMs / 1000)).toFixed(0),
      ingest: +(m.passages / (wall.ingest / 1000)).toFixed(0),
      encode: +(m.passages / (wall.encode / 1000)).toFixed(0),
      index: +(m.passages / (wall.index / 1000)).toFixed(0),
    },
    stagesWallMs: wall,
    peakRssMiB: build.peakRssMiB,
  },
  storage: { bytes: storageBytes, bytesPerPassage: +(storageBytes / m.passages).toFixed(1) },
  serve: s,
}, null, 2) + '\n');
