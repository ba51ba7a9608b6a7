// Question-answering throughput and alias hot-swap latency through the real CLI and workers.
//   node --import tsx bench/qa-throughput.ts [--limit 3610] [--workers 1,2] [--mode rag-token] [--k 5] [--beams 4]
//        [--baseline REF] [--no-flip]
// Prints one JSON object. Snapshots: a synthetic-world pair built on the fly (fast to build);
// questions: the NQ-open dev set (real question text, 3,610 lines). With --baseline, the same runs go
// through the CLI, libraries and generator files of that commit too (interleaved per worker count, on
// the same snapshots), and the answers of every run are compared with the baseline's.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '@rag/queue';
import { AliasRegistry } from '@rag/registry';
import { LocalObjectStore } from '@rag/storage';
import { checkoutBaseline } from './lib/baseline-tree.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rag = join(repo, 'rag');
const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '3610' },
    workers: { type: 'string', default: '1,2' },
    mode: { type: 'string', default: 'rag-token' },
    k: { type: 'string', default: '5' },
    beams: { type: 'string', default: '4' },
    questions: { type: 'string', default: join(repo, '..', 'shared', 'data', 'nq-open', 'NQ-open.dev.jsonl') },
    generator: { type: 'string' },
    countries: { type: 'string', default: '60' },
    baseline: { type: 'string' },
    'no-flip': { type: 'boolean', default: false },
  },
});
const generator = values.generator ?? (existsSync(join(repo, 'models', 'world-generator', 'config.json')) ? join(repo, 'models', 'world-generator') : join(repo, 'test', 'fixtures', 'hf-rag', 'generator'));
const dir = mkdtempSync(join(tmpdir(), 'rag-bench-qa-'));
const baseEnv = { ...process.env, RAG_STORAGE: join(dir, 'storage'), RAG_HOME: join(dir, 'home'), RAG_GENERATOR: generator, RAG_LOG_LEVEL: 'warn', REDIS_URL: '' };
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function ragSync(args: string[], env: NodeJS.ProcessEnv = baseEnv, cli = rag): string {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`rag ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

try {
  log(`world snapshots (${values.countries} countries)`);
  ragSync(['world', 'generate', '--seed', '160', '--out', join(dir, 'world'), '--countries', values.countries!, '--questions', '50']);
  // --index flat, not the default auto: a manifest records the requested kind, and a baseline from
  // before `auto` existed reads only flat, hnsw and ivf.
  for (const y of ['2016', '2018']) ragSync(['snapshot', 'build', '--source', join(dir, 'world', y, 'world.xml.bz2'), '--snapshot', `world-${y}`, '--workers', '2', '--index', 'flat', '--no-progress']);

  // The baseline: that commit's CLI and libraries, and its copy of the generator when it is one of the repo's models.
  const genRel = relative(repo, resolve(generator));
  const genInRepo = !genRel.startsWith('..');
  const base = values.baseline ? checkoutBaseline(repo, values.baseline, ['rag', 'services', 'package.json', 'models/world-question-encoder', ...(genInRepo ? [genRel] : [])]) : undefined;
  const arms = [
    ...(base ? [{ name: 'baseline', cli: base.path('rag'), env: { ...baseEnv, RAG_GENERATOR: genInRepo ? base.path(genRel) : generator } }] : []),
    { name: 'ours', cli: rag, env: baseEnv },
  ];
  const throughput: { arm: string; workers: number; questions: number; failed: number; commandWallSec: number; questionsPerSec: number; latencyMs: unknown }[] = [];
  const answers = new Map<string, string[]>();
  try {
    for (const w of values.workers!.split(',').map(Number)) {
      for (const arm of arms) {
        log(`${arm.name}: ${values.limit} questions, ${w} worker(s)`);
        const out = join(dir, `answers-${arm.name}-${w}.jsonl`);
        const t0 = Date.now();
        const summary = JSON.parse(ragSync(['qa', 'run', '--questions', values.questions!, '--snapshot', 'world-2016', '--limit', values.limit!, '--mode', values.mode!, '--k', values.k!, '--beams', values.beams!, '--workers', String(w), '--fresh', '--json', '--no-progress', '--out', out], arm.env, arm.cli));
        const wall = (Date.now() - t0) / 1000;
        const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; answer: string; tokens: string[] });
        answers.set(`${arm.name}-${w}`, recs.sort((a, b) => a.index - b.index).map((r) => JSON.stringify([r.answer, r.tokens])));
        throughput.push({ arm: arm.name, workers: w, questions: summary.n, failed: summary.failed, commandWallSec: Math.round(wall * 10) / 10, questionsPerSec: Math.round((summary.n / wall) * 100) / 100, latencyMs: summary.latency_ms });
      }
    }
  } finally {
    base?.remove();
  }
  const reference = answers.get(`${arms[0]!.name}-${values.workers!.split(',')[0]}`)!;
  const identical = Object.fromEntries([...answers].map(([k, a]) => [k, { answers: a.length, differing: a.filter((x, i) => x !== reference[i]).length }]));
  const qps = (arm: string, w: number) => throughput.find((t) => t.arm === arm && t.workers === w)?.questionsPerSec;
  const vsBaseline = base ? Object.fromEntries(values.workers!.split(',').map((w) => [`workers${w}`, Math.round((qps('ours', Number(w))! / qps('baseline', Number(w))!) * 100) / 100])) : undefined;
  const result: Record<string, unknown> = {
    bench: 'qa-throughput',
    machine: { cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) },
    generator, mode: values.mode, k: Number(values.k), beams: Number(values.beams), questions: values.questions,
    baseline: base ? { ref: base.ref, commit: base.commit } : null,
    throughput,
    speedupOursVsBaseline: vsBaseline,
    answersComparedWith: `${arms[0]!.name}-${values.workers!.split(',')[0]}`,
    answersDiffering: identical,
  };
  if (values['no-flip']) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }

  log('alias flip with 2 distributed workers answering');
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis') });
  const env = { ...baseEnv, REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'bench', RAG_SNAPSHOT_POLL_MS: '5000' };
  const probe = new Redis(redis.url);
  const aliases = new AliasRegistry({ store: new LocalObjectStore(env.RAG_STORAGE), redis: probe, prefix: 'bench' });
  await aliases.set('prod', 'world-2016');
  const workers = [0, 1].map(() => spawn(rag, ['worker', '--roles', 'generate', '--metrics-port', '0'], { env: { ...env, RAG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] }));
  const urls = await Promise.all(workers.map((p) => new Promise<string>((res) => {
    let buf = '';
    p.stderr!.on('data', (d) => { buf += d; const m = /"event":"metrics.listening","host":"[^"]+","port":(\d+)/.exec(buf); if (m) res(`http://127.0.0.1:${m[1]}`); });
  })));
  const run = spawn(rag, ['qa', 'run', '--questions', values.questions!, '--snapshot', 'prod', '--limit', '400', '--k', values.k!, '--beams', values.beams!, '--workers', '0', '--fresh', '--json', '--no-progress'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const serving = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).split('\n').find((l) => l.startsWith('rag_snapshot_serving{') && l.includes('alias="prod"'))?.match(/snapshot="([^"]+)"/)?.[1];
  while ((await Promise.all(urls.map(serving))).some((s) => s !== 'world-2016')) await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await aliases.set('prod', 'world-2018');
  const seenAt: number[] = [];
  for (;;) {
    const s = await Promise.all(urls.map(serving));
    s.forEach((x, i) => { if (x === 'world-2018' && seenAt[i] === undefined) seenAt[i] = performance.now() - t0; });
    if (seenAt.filter((x) => x !== undefined).length === urls.length) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const flipOut = await new Promise<string>((res) => { let o = ''; run.stdout!.on('data', (d) => { o += d; }); run.on('close', () => res(o)); });
  const flipSummary = JSON.parse(flipOut);
  for (const w of workers) w.kill('SIGTERM');
  probe.disconnect();
  await redis.stop();

  const oursRuns = throughput.filter((t) => t.arm === 'ours');
  process.stdout.write(JSON.stringify({
    ...result,
    speedup: oursRuns.length > 1 ? Math.round((oursRuns.at(-1)!.questionsPerSec / oursRuns[0]!.questionsPerSec) * 100) / 100 : undefined,
    aliasFlip: { workers: urls.length, allSwitchedMs: Math.round(Math.max(...seenAt)), perWorkerMs: seenAt.map(Math.round), runDuringFlip: { n: flipSummary.n, failed: flipSummary.failed, snapshots: flipSummary.snapshots } },
  }, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
