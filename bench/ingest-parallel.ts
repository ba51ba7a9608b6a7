// Multistream ingest in parallel: the same multistream .bz2 dump built with 1 ingest job and with
// 2 range jobs (2 worker processes both times), through the real CLI (embedded Redis, local
// storage, the static encoder). Prints one JSON object.
//
//   node --import tsx bench/ingest-parallel.ts [--source DUMP] [--copies 10] [--pages-per-stream 100]
//        [--shard-size 2000] [--encoder DIR] [--work DIR] [--repeat 2]
//
// The dump is `./rag dev multistream SOURCE --copies N` (the enwiki sample's real pages repeated
// under new ids and titles; made once per --work dir). Reported per run: wall time of the ingest
// stage (manifest build.stagesWallMs.ingest: from the first ingest job's start to the ingest
// marker, plan and merge included) and of the whole command; for the 2-job run the plan, the range
// jobs and the merge separately; the ratio 1-job / 2-job ingest wall; and whether the two snapshots'
// shards are byte-identical (sha256 of every shard's passages object, read back from storage, and
// the page tables). The machine's load average is recorded: only same-run ratios count. With
// --repeat R the two builds run R times each in ABBA order (1,2,2,1,…) so that load drifting during
// the run weighs on both alike; the ratio of summed ingest times and each pair's ratio are reported.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    source: { type: 'string', default: join(repo, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2') },
    copies: { type: 'string', default: '10' },
    'pages-per-stream': { type: 'string', default: '100' },
    'shard-size': { type: 'string', default: '2000' },
    encoder: { type: 'string', default: join(repo, 'models/minilm-static-256') },
    work: { type: 'string' },
    repeat: { type: 'string', default: '2' },
  },
});
const work = resolve(o.work ?? join(tmpdir(), 'rag-bench-ingest-parallel'));
mkdirSync(work, { recursive: true });
const log = (msg: string) => process.stderr.write(`[ingest-parallel] ${msg}\n`);

function rag(args: string[], env: Record<string, string> = {}): { wallMs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(repo, 'rag'), args, { env: { ...process.env, REDIS_URL: '', ...env }, encoding: 'utf8', maxBuffer: 256 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`./rag ${args.join(' ')} exited ${r.status}`);
  }
  return { wallMs, stdout: r.stdout };
}

const dump = join(work, `enwiki-x${o.copies}-pages-articles-multistream.xml.bz2`);
if (!existsSync(dump)) {
  log(`making ${dump}`);
  rag(['dev', 'multistream', resolve(o.source!), '--out', dump, '--copies', o.copies!, '--pages-per-stream', o['pages-per-stream']!]);
}

interface Run {
  jobs: number;
  ingestWallMs: number;
  commandWallMs: number;
  passages: number;
  shards: number;
  shardSha256: string[];
  pagesSha256: string;
  parts?: { planMs: number; rangesMs: number[]; rangesWallMs: number; mergeMs: number; ranges: number; boundaries: string };
  load: number[];
}

function build(jobs: number, rep: number): Run {
  const storage = join(work, `store-j${jobs}-${rep}`);
  rmSync(storage, { recursive: true, force: true });
  const id = `ms-j${jobs}`;
  const load = loadavg().map((x) => Math.round(x * 10) / 10);
  log(`building with --ingest-jobs ${jobs} (load ${load.join(' ')})`);
  const r = rag(['snapshot', 'build', '--source', dump, '--snapshot', id, '--workers', '2', '--ingest-jobs', String(jobs),
    '--encoder', resolve(o.encoder!), '--shard-size', o['shard-size']!, '--no-progress', '--json'],
  { RAG_STORAGE: storage, RAG_HOME: join(work, `home-j${jobs}-${rep}`) });
  const m = JSON.parse(r.stdout);
  // The bytes themselves, read back, not only the recorded digests.
  const shardSha256 = m.shards.map((s: { passagesKey: string; passagesSha256: string }) => {
    const sha = createHash('sha256').update(readFileSync(join(storage, s.passagesKey))).digest('hex');
    if (sha !== s.passagesSha256) throw new Error(`shard object ${s.passagesKey} does not match its manifest`);
    return sha;
  });
  const run: Run = {
    jobs,
    ingestWallMs: m.build.stagesWallMs.ingest,
    commandWallMs: Math.round(r.wallMs),
    passages: m.passages,
    shards: m.shards.length,
    shardSha256,
    pagesSha256: m.pages.sha256,
    load,
  };
  const build = join(storage, 'snapshots', id, '_build');
  if (existsSync(join(build, 'ingest-plan.json'))) {
    const plan = JSON.parse(readFileSync(join(build, 'ingest-plan.json'), 'utf8'));
    const ingest = JSON.parse(readFileSync(join(build, 'ingest.json'), 'utf8'));
    const ranges = plan.ranges.map((_: unknown, k: number) => JSON.parse(readFileSync(join(build, `ingest-range-${String(k).padStart(5, '0')}.json`), 'utf8')));
    const firstStart = Math.min(...ranges.map((x: { finishedAt: number; durationMs: number }) => x.finishedAt - x.durationMs));
    const lastEnd = Math.max(...ranges.map((x: { finishedAt: number }) => x.finishedAt));
    run.parts = {
      planMs: firstStart - plan.startedAt,
      rangesMs: ranges.map((x: { durationMs: number }) => x.durationMs),
      rangesWallMs: lastEnd - firstStart,
      mergeMs: ingest.finishedAt - lastEnd,
      ranges: plan.ranges.length,
      boundaries: plan.boundaries,
    };
  }
  rmSync(storage, { recursive: true, force: true });
  return run;
}

const repeat = Math.max(1, Number(o.repeat));
const ones: Run[] = [];
const twos: Run[] = [];
for (let rep = 0; rep < repeat; rep++) {
  // ABBA: 1,2 then 2,1, so a load that drifts during the run weighs on both alike.
  if (rep % 2 === 0) { ones.push(build(1, rep)); twos.push(build(2, rep)); } else { twos.push(build(2, rep)); ones.push(build(1, rep)); }
}
const ref = ones[0]!;
const identical = [...ones, ...twos].every((r) => r.shardSha256.length === ref.shardSha256.length && r.shardSha256.every((s, i) => s === ref.shardSha256[i]) && r.pagesSha256 === ref.pagesSha256);
const summary = (r: Run) => ({ ...r, shardSha256: undefined });
const sum = (rs: Run[], f: (r: Run) => number) => rs.reduce((n, r) => n + f(r), 0);
const round2 = (x: number) => Math.round(x * 100) / 100;
process.stdout.write(JSON.stringify({
  bench: 'ingest-parallel',
  dump: { path: dump, bytes: readFileSync(dump).length, copies: Number(o.copies), pagesPerStream: Number(o['pages-per-stream']) },
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  passages: ref.passages,
  shards: ref.shards,
  firstShardSha256: ref.shardSha256[0],
  oneJob: ones.map(summary),
  twoJobs: twos.map(summary),
  pairRatios: ones.map((r, i) => round2(r.ingestWallMs / twos[i]!.ingestWallMs)),
  ingestSpeedup: round2(sum(ones, (r) => r.ingestWallMs) / sum(twos, (r) => r.ingestWallMs)),
  commandSpeedup: round2(sum(ones, (r) => r.commandWallMs) / sum(twos, (r) => r.commandWallMs)),
  shardsIdentical: identical,
  loadAfter: loadavg().map((x) => Math.round(x * 10) / 10),
}) + '\n');
if (!identical) process.exitCode = 1;
