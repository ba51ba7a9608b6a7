// A generation worker's memory over alias flips: RSS after flip 1 and after flip 21 of an alias
// flipping between two snapshots, with retired snapshots released (what SnapshotPool does) and,
// as the peer in the same run, kept (what it did before: no unload). Each variant runs in its own
// process. Real FAISS, real storage, the enwiki sample encoded with the static encoder.
//
//   node --import tsx bench/flip-memory.ts [--flips 20]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '@rag/core';
import { loadEncoder } from '@rag/encoder';
import { LocalObjectStore } from '@rag/storage';
import { PAYLOAD_VERSION, runBuildInProcess, type BuildRequest } from '@rag/pipeline';
import { AliasRegistry, LiveSnapshot } from '@rag/registry';
import { SnapshotRetriever } from '@rag/retrieval';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATIC = join(REPO, 'models/minilm-static-256');
const ENWIKI = join(REPO, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2');
const logger = createLogger({ service: 'bench', level: 'silent' });
const { values: args } = parseArgs({ options: { child: { type: 'string' }, store: { type: 'string' }, flips: { type: 'string', default: '20' } } });
const flips = Number(args.flips);
const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

async function build(store: LocalObjectStore, id: string): Promise<number> {
  const encoder = await loadEncoder({ dir: STATIC });
  const index = { kind: 'flat', params: {} } as const;
  const req: BuildRequest = { v: PAYLOAD_VERSION, snapshotId: id, source: { path: ENWIKI, format: 'wikixml' }, shardSize: 1000, wordsPerPassage: 100, index, encoderDir: STATIC, requestedAt: new Date().toISOString() };
  const m = await runBuildInProcess(req, { store, encoder, logger });
  await encoder.release();
  return m!.passages;
}

/** One variant: follow `prod` while it flips; RSS after flip 1 and after the last flip (same snapshot served). */
async function child(release: boolean, dir: string): Promise<void> {
  const store = new LocalObjectStore(dir);
  const aliases = new AliasRegistry({ store });
  await aliases.set('prod', 'snap-a');
  const live = new LiveSnapshot<SnapshotRetriever>({
    alias: 'prod', registry: aliases, pollMs: 0,
    load: (id) => SnapshotRetriever.load(store, id),
    ...(release ? { unload: async (r: SnapshotRetriever) => r.release() } : {}),
  });
  await live.start();
  // No forced GC: a worker's JS heap stays small, so V8 rarely collects, and FAISS memory held only
  // by unreachable wrappers would stay until it does.
  const rss = async () => {
    await new Promise((r) => setTimeout(r, 200));
    return process.memoryUsage().rss;
  };
  let first = 0;
  const series: number[] = [];
  for (let i = 1; i <= flips + 1; i++) {
    await aliases.set('prod', i % 2 ? 'snap-b' : 'snap-a');
    await live.refresh();
    if (i === 1) first = await rss();
    series.push(mb(process.memoryUsage().rss));
  }
  const last = await rss();
  process.stderr.write(`${release ? 'release' : 'keep'}: ${series.join(' ')}\n`);
  await live.stop();
  const peak = Math.max(...series);
  process.stdout.write(JSON.stringify({
    rssAfterFlip1Mb: mb(first), [`rssAfterFlip${flips + 1}Mb`]: mb(last), growthPct: Math.round(((last - first) / first) * 1000) / 10,
    peakMb: peak, peakGrowthPct: Math.round(((peak - mb(first)) / mb(first)) * 1000) / 10,
  }) + '\n');
}

async function main(): Promise<void> {
  if (args.child) return child(args.child === 'release', args.store!);
  const dir = mkdtempSync(join(tmpdir(), 'rag-flipmem-'));
  try {
    const store = new LocalObjectStore(dir);
    const passages = await build(store, 'snap-a');
    await build(store, 'snap-b');
    const run = (variant: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', variant, '--store', dir, '--flips', String(flips)], { encoding: 'utf8', cwd: REPO });
      if (r.status !== 0) throw new Error(r.stderr);
      process.stderr.write(r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { growthPct: number };
    };
    const released = run('release');
    const kept = run('keep');
    process.stdout.write(JSON.stringify({ bench: 'flip-memory', snapshots: 2, passagesEach: passages, flips, released, kept, cpu: (await import('node:os')).cpus()[0]?.model }) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
