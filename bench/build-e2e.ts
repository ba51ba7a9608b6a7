// End-to-end build time of the 2016 enwiki sample through the real CLI (embedded Redis, local
// storage), per stage, for 1 and 2 worker processes. Prints JSON.
//   node --import tsx bench/build-e2e.ts [--workers 1,2] [--shard-size 500] [--source PATH]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : def; };
const source = resolve(opt('--source', join(repo, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2')));
const shardSize = opt('--shard-size', '500');
const workerCounts = opt('--workers', '1,2').split(',').map(Number);

const runs = [];
for (const workers of workerCounts) {
  const dir = mkdtempSync(join(tmpdir(), 'rag-bench-build-'));
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(repo, 'rag'), ['snapshot', 'build', '--source', source, '--snapshot', `bench-${workers}w`, '--workers', String(workers), '--shard-size', shardSize, '--no-progress', '--json'], {
    env: { ...process.env, RAG_STORAGE: join(dir, 'storage'), RAG_HOME: join(dir, 'home'), REDIS_URL: '' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const m = JSON.parse(r.stdout);
  runs.push({
    workers,
    passages: m.passages,
    shards: m.shards.length,
    commandWallMs: Math.round(wallMs),
    buildMs: m.build.durationMs,
    stagesWallMs: m.build.stagesWallMs,
    stagesJobMsSummed: m.build.stagesMs,
    passagesPerSecond: +(m.passages / (m.build.durationMs / 1000)).toFixed(1),
    encodePassagesPerSecondWall: +(m.passages / (m.build.stagesWallMs.encode / 1000)).toFixed(1),
  });
}
const speedup = runs.length >= 2 ? +(runs[0]!.buildMs / runs[runs.length - 1]!.buildMs).toFixed(2) : undefined;
process.stdout.write(JSON.stringify({ bench: 'build-e2e', source, shardSize: Number(shardSize), cores: cpus().length, runs, speedupLastVsFirst: speedup }, null, 2) + '\n');
