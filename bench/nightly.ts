// Nightly rebuild: full build of night 2 vs incremental build of night 2 on night 1, through the real
// CLI (embedded Redis, local storage, 2 workers). Prints one JSON object.
//
//   node --import tsx bench/nightly.ts [--source DUMP] [--encoder DIR] [--seed 1] [--edit 0.01 --add 0.005 --remove 0.005]
//        [--workers 2] [--shard-size 2000] [--queries 1000] [--work DIR] [--keep]
//
// Night 2 is made from night 1 with `./rag dev next-night` (deterministic per seed). Reported: wall time
// of each build command, passages encoded, bytes the incremental snapshot added to the store holding
// night 1 vs the bytes of a full snapshot, and whether the two night-2 snapshots are the same: passages
// (as sets of {id,title,text}) and exact top-10 search results for `--queries` queries (the first 12
// words of random night-2 passages), ids in order and scores within 1e-4.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEncoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { SnapshotRegistry } from '@rag/snapshot';
import { SnapshotRetriever } from '@rag/retrieval';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    source: { type: 'string', default: join(repo, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2') },
    encoder: { type: 'string', default: join(repo, 'models/all-MiniLM-L6-v2') },
    seed: { type: 'string', default: '1' },
    edit: { type: 'string', default: '0.01' },
    add: { type: 'string', default: '0.005' },
    remove: { type: 'string', default: '0.005' },
    workers: { type: 'string', default: '2' },
    'shard-size': { type: 'string', default: '2000' },
    queries: { type: 'string', default: '1000' },
    work: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const source = resolve(o.source!);
const encoderDir = resolve(o.encoder!);
const work = resolve(o.work ?? join(tmpdir(), `rag-bench-nightly-${process.pid}`));
mkdirSync(work, { recursive: true });
const log = (msg: string) => process.stderr.write(`[nightly] ${msg}\n`);

function rag(args: string[], storage: string): { wallMs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(repo, 'rag'), args, {
    env: { ...process.env, RAG_STORAGE: storage, RAG_HOME: join(work, 'home'), REDIS_URL: '' },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`./rag ${args.join(' ')} exited ${r.status}`);
  }
  return { wallMs, stdout: r.stdout };
}

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}

const build = (night: string, id: string, storage: string, extra: string[] = []) =>
  rag(['snapshot', 'build', '--source', night, '--snapshot', id, '--encoder', encoderDir, '--workers', o.workers!, '--shard-size', o['shard-size']!, '--no-progress', '--json', ...extra], storage);

const incStore = join(work, 'incremental');
const fullStore = join(work, 'full');
rmSync(incStore, { recursive: true, force: true });
rmSync(fullStore, { recursive: true, force: true });

log(`night 1: full build of ${source}`);
const night1 = build(source, 'night-1', incStore);
const night2Path = join(work, `night-2${source.endsWith('.bz2') ? '.xml.bz2' : '.jsonl'}`);
const nn = JSON.parse(rag(['dev', 'next-night', '--source', source, '--out', night2Path, '--seed', o.seed!, '--edit', o.edit!, '--add', o.add!, '--remove', o.remove!, '--json'], incStore).stdout);
log(`night 2: ${nn.edited} edited, ${nn.added} added, ${nn.removed} removed of ${nn.articles} articles`);

const bytesNight1 = dirBytes(incStore);
log('night 2: incremental build on night 1');
const inc = build(night2Path, 'night-2-incremental', incStore, ['--base', 'night-1']);
const bytesAfterInc = dirBytes(incStore);
log('night 2: full build (fresh store)');
const full = build(night2Path, 'night-2-full', fullStore);
const bytesFull = dirBytes(fullStore);

const mInc = JSON.parse(inc.stdout);
const mFull = JSON.parse(full.stdout);

// Same snapshot? Passages as sets, then exact search.
log('comparing passages and search results');
const sInc = new LocalObjectStore(incStore);
const sFull = new LocalObjectStore(fullStore);
const manInc = await new SnapshotRegistry(sInc).read('night-2-incremental');
const manFull = await new SnapshotRegistry(sFull).read('night-2-full');
const key = (p: { id: string; title: string; text: string }) => JSON.stringify([p.id, p.title, p.text]);
const pInc: string[] = [];
for await (const p of SnapshotRetriever.readPassages(sInc, manInc)) pInc.push(key(p));
const pFull: string[] = [];
const texts: string[] = [];
for await (const p of SnapshotRetriever.readPassages(sFull, manFull)) { pFull.push(key(p)); texts.push(p.text); }
pInc.sort();
pFull.sort();
const samePassages = pInc.length === pFull.length && pInc.every((k, i) => k === pFull[i]);

const nq = Math.min(Number(o.queries), texts.length);
let state = 12345;
const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const queries = Array.from({ length: nq }, () => texts[Math.floor(rand() * texts.length)]!.split(' ').slice(0, 12).join(' '));
const encoder = await loadEncoder({ dir: encoderDir });
const rInc = await SnapshotRetriever.load(sInc, 'night-2-incremental');
const rFull = await SnapshotRetriever.load(sFull, 'night-2-full');
let sameTop10 = 0;
let maxScoreDiff = 0;
for (let i = 0; i < queries.length; i += 64) {
  const batch = queries.slice(i, i + 64);
  const v = await encoder.encodeQueries(batch);
  const a = await rInc.searchVectors(v, batch.length, 10);
  const b = await rFull.searchVectors(v, batch.length, 10);
  for (let q = 0; q < batch.length; q++) {
    const ids = (hits: { id: string }[]) => hits.map((h) => h.id).join('|');
    if (ids(a[q]!) === ids(b[q]!)) sameTop10++;
    a[q]!.forEach((h, j) => { maxScoreDiff = Math.max(maxScoreDiff, Math.abs(h.score - (b[q]![j]?.score ?? Infinity))); });
  }
}
await encoder.release();

const result = {
  bench: 'nightly',
  source,
  encoder: mInc.encoder.name,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg1: +loadavg()[0]!.toFixed(2),
  workers: Number(o.workers),
  shardSize: Number(o['shard-size']),
  change: { seed: Number(o.seed), articles: nn.articles, edited: nn.edited, editKinds: nn.editKinds, added: nn.added, removed: nn.removed },
  night1: { passages: JSON.parse(night1.stdout).passages, commandWallMs: Math.round(night1.wallMs), bytes: bytesNight1 },
  full: { passages: mFull.passages, shards: mFull.shards.length, commandWallMs: Math.round(full.wallMs), buildMs: mFull.build.durationMs, bytes: bytesFull },
  incremental: {
    passages: mInc.passages,
    shards: mInc.shards.length,
    commandWallMs: Math.round(inc.wallMs),
    buildMs: mInc.build.durationMs,
    base: mInc.base,
    bytesAdded: bytesAfterInc - bytesNight1,
  },
  ratios: {
    wallTime: +(inc.wallMs / full.wallMs).toFixed(4),
    passagesEncoded: +(mInc.base.passagesEncoded / mInc.passages).toFixed(4),
    bytesAdded: +((bytesAfterInc - bytesNight1) / bytesFull).toFixed(4),
  },
  same: { passages: samePassages, passageCount: [pInc.length, pFull.length], queries: nq, identicalTop10: sameTop10, maxScoreDiff: +maxScoreDiff.toExponential(2) },
};
writeFileSync(join(work, 'result.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
await sInc.close();
await sFull.close();
if (!o.keep && !o.work) rmSync(work, { recursive: true, force: true });
