/**
 * The static encoder (models/minilm-static-256) against all-MiniLM-L6-v2 in one run: speed and retrieval quality.
 *
 *   npm run bench:static-encoder -- [--static models/minilm-static-256] [--baseline models/all-MiniLM-L6-v2]
 *        [--threads 2] [--batch 32] [--repeat 2] [--workers 2] [--worker-passages 1000] [--limit N]
 *        [--dump ../shared/data/wikipedia/enwiki-2016-sample.xml.bz2] [--world /tmp/w101] [--world-seed 101]
 *
 * Prints one JSON object on stdout (progress on stderr):
 *  speed           our Encoder's encodePassages on the enwiki sample's 100-word passages (the pipeline's own
 *                  ingest, @rag/corpus readPassages), one process with --threads ONNX threads; best of --repeat
 *                  runs per model, interleaved. Each static run loads a fresh encoder, so its word-piece cache
 *                  starts cold as in a new worker; the warm rate (the same passages again) is reported apart.
 *                  Also: the static model's tokenisation alone, to show where its time goes.
 *  workers         k forked processes x 1 ONNX thread each (as `--workers k` builds run), total passages/s.
 *  selfRetrieval   each enwiki passage's first 12 words as the query, every passage of the sample as the corpus
 *                  (exact inner-product search, FAISS flat): is the passage itself in the top 1 / 5 / 10?
 *  world           the synthetic world (seed --world-seed, generated into --world when absent), year 2016: each
 *                  model encodes the world's questions and its passages; recall@5 = a top-5 passage is a
 *                  positive (world_data.find_positives), answer recall@5 = a top-5 passage holds a gold answer.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readPassages } from '@rag/corpus';
import { loadEncoder, TextTokenizer, type Encoder } from '@rag/encoder';
import { buildShardIndex, ShardIndex } from '@rag/index';
import { generateWorld } from '@rag/world';
import { findPositives, type WorldQuestionRecord } from './lib/world-retrieval.js';
import { timeEncodeWorkers } from './lib/encode-workers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

const { values } = parseArgs({
  options: {
    static: { type: 'string', default: join(repo, 'models', 'minilm-static-256') },
    baseline: { type: 'string', default: join(repo, 'models', 'all-MiniLM-L6-v2') },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    batch: { type: 'string', default: '32' },
    repeat: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    'worker-passages': { type: 'string', default: '1000' },
    limit: { type: 'string' },
    dump: { type: 'string', default: join(repo, '..', 'shared', 'data', 'wikipedia', 'enwiki-2016-sample.xml.bz2') },
    world: { type: 'string', default: '/tmp/w101' },
    'world-seed': { type: 'string', default: '101' },
    'world-year': { type: 'string', default: '2016' },
  },
});
const threads = Number(values.threads);
const batchSize = Number(values.batch);
const repeat = Math.max(1, Number(values.repeat));
const workerCounts = values.workers!.split(',').filter(Boolean).map(Number);
const workerPassages = Number(values['worker-passages']);
const QUERY_WORDS = 12;
const KS = [1, 5, 10];

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

interface Passage {
  id: string;
  title: string;
  text: string;
}

async function loadPassages(path: string, limit?: number): Promise<Passage[]> {
  const out: Passage[] = [];
  for await (const p of readPassages(path)) {
    out.push({ id: p.id, title: p.title, text: p.text });
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

const open = (dir: string): Promise<Encoder> => loadEncoder({ dir, intraOpThreads: threads, batchSize });

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Exact top-k by inner product (the encoders L2-normalise), FAISS flat as a snapshot shard uses it. */
function topK(corpus: Float32Array, queries: Float32Array, dim: number, k: number): Int32Array {
  const built = buildShardIndex(corpus, dim, { kind: 'flat' });
  const index = ShardIndex.fromBuffer(built.bytes);
  try {
    return index.search(queries, queries.length / dim, k).labels;
  } finally {
    index.release();
  }
}

/** Fraction of queries whose target row is among the first k results. */
function hitRates(labels: Int32Array, targets: number[], kMax: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of KS) {
    let hits = 0;
    targets.forEach((t, q) => {
      for (let j = 0; j < k; j++) if (labels[q * kMax + j] === t) { hits++; break; }
    });
    out[`top${k}`] = round(hits / targets.length, 4);
  }
  return out;
}

async function runWorkers(dir: string, k: number, passages: Passage[]): Promise<{ workers: number; passages: number; seconds: number; passagesPerSec: number }> {
  return { ...(await timeEncodeWorkers(dir, k, passages, batchSize)), passages: passages.length };
}

async function loadWorld(dir: string, seed: number): Promise<void> {
  if (existsSync(join(dir, 'questions.jsonl'))) return;
  progress(`generating world seed ${seed} into ${dir}`);
  await generateWorld({ seed, outDir: dir });
}

function modelInfo(enc: Encoder, dir: string) {
  return { dir, name: enc.name, sha256: enc.sha256, dim: enc.dim, maxLength: enc.maxLength, bytesOnDisk: dirBytes(dir), outputName: enc.settings.outputName ?? 'last_hidden_state' };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const staticDir = resolve(values.static!);
  const baseDir = resolve(values.baseline!);
  const limit = values.limit ? Number(values.limit) : undefined;
  const passages = await loadPassages(values.dump!, limit);
  const n = passages.length;
  progress(`${n} enwiki passages from ${values.dump}`);

  // --- speed: interleaved rounds; the static encoder is loaded afresh each round (cold word-piece cache).
  const runs: Record<'static' | 'baseline' | 'tokenize', number[]> = { static: [], baseline: [], tokenize: [] };
  let staticVectors: Float32Array = new Float32Array(0);
  let baseVectors: Float32Array = new Float32Array(0);
  let staticWarm = 0;
  const baseline = await open(baseDir);
  await baseline.encodePassages(passages.slice(0, batchSize)); // warm-up (session, allocator)
  let tokenCount = 0;
  for (let r = 0; r < repeat; r++) {
    const enc = await open(staticDir);
    // Tokenisation alone, on a fresh tokenizer (cold cache), of the strings encodePassages tokenises.
    const sep = enc.settings.titleSeparator;
    const strings = passages.map((p) => (p.title ? `${p.title}${sep}${p.text}` : p.text));
    const tok = new TextTokenizer(
      JSON.parse(readFileSync(join(staticDir, 'tokenizer.json'), 'utf8')) as object,
      JSON.parse(readFileSync(join(staticDir, 'tokenizer_config.json'), 'utf8')) as object,
      enc.maxLength,
    );
    const tk = await timed(async () => strings.reduce((sum, t) => sum + tok.encode(t).ids.length, 0));
    runs.tokenize.push(tk.seconds);
    tokenCount = tk.value;
    const s = await timed(() => enc.encodePassages(passages));
    runs.static.push(s.seconds);
    staticVectors = s.value;
    const warm = await timed(() => enc.encodePassages(passages));
    staticWarm = Math.max(staticWarm, n / warm.seconds);
    await enc.release();
    const b = await timed(() => baseline.encodePassages(passages));
    runs.baseline.push(b.seconds);
    baseVectors = b.value;
    progress(`round ${r + 1}: static ${round(n / s.seconds)} (warm ${round(n / warm.seconds)}; tokenising alone ${round(n / tk.seconds)}), MiniLM ${round(n / b.seconds)} passages/s`);
  }
  const staticEnc = await open(staticDir);
  const sep = staticEnc.settings.titleSeparator;
  const strings = passages.map((p) => (p.title ? `${p.title}${sep}${p.text}` : p.text));
  const best = (s: number[]): number => Math.min(...s);
  const staticRate = n / best(runs.static);
  const baseRate = n / best(runs.baseline);
  const tokenizeRate = n / best(runs.tokenize);
  const speed = {
    passages: n,
    meanWords: round(passages.reduce((s, p) => s + p.text.split(' ').length, 0) / n),
    meanTokens: { static: round(tokenCount / n), baseline: round(strings.reduce((s, t) => s + baseline.tokenCount(t), 0) / n) },
    static: { passagesPerSec: round(staticRate), runsSec: runs.static.map((x) => round(x, 2)), warmCachePassagesPerSec: round(staticWarm) },
    baseline: { passagesPerSec: round(baseRate), runsSec: runs.baseline.map((x) => round(x, 2)) },
    ratioStaticOverBaseline: round(staticRate / baseRate, 1),
    staticTokenizeOnlyPassagesPerSec: round(tokenizeRate),
    staticTokenizeShareOfTime: round(staticRate / tokenizeRate, 2),
  };
  progress(`speed: static ${speed.static.passagesPerSec}, MiniLM ${speed.baseline.passagesPerSec} passages/s (x${speed.ratioStaticOverBaseline}); tokenising alone ${speed.staticTokenizeOnlyPassagesPerSec}/s`);

  // --- self-retrieval on the enwiki sample, with the vectors of the timed runs.
  const queries = passages.map((p) => p.text.split(' ').slice(0, QUERY_WORDS).join(' '));
  const targets = passages.map((_, i) => i);
  const kMax = KS[KS.length - 1]!;
  const selfRetrieval = {
    corpus: `${n} passages of the enwiki 2016 sample`,
    query: `first ${QUERY_WORDS} words of the passage text (no title)`,
    static: hitRates(topK(staticVectors, await staticEnc.encodeQueries(queries), staticEnc.dim, kMax), targets, kMax),
    baseline: hitRates(topK(baseVectors, await baseline.encodeQueries(queries), baseline.dim, kMax), targets, kMax),
  };
  progress(`self-retrieval top5: static ${selfRetrieval.static.top5}, MiniLM ${selfRetrieval.baseline.top5}`);

  // --- world questions, both sides encoded by the model under test.
  const worldDir = resolve(values.world!);
  const seed = Number(values['world-seed']);
  const year = values['world-year']!;
  await loadWorld(worldDir, seed);
  const worldPassages = await loadPassages(join(worldDir, year, 'world.xml.bz2'));
  const questions = readFileSync(join(worldDir, 'questions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WorldQuestionRecord);
  const positives = questions.map((q) => findPositives(worldPassages, q, year));
  const types = [...new Set(questions.map((q) => q.type))].sort();
  const worldRecall = async (enc: Encoder, label: string) => {
    const t = await timed(() => enc.encodePassages(worldPassages));
    progress(`world: ${label} encoded ${worldPassages.length} passages in ${round(t.seconds, 1)} s`);
    const labels = topK(t.value, await enc.encodeQueries(questions.map((q) => q.question)), enc.dim, 5);
    const tally = (keep: (i: number) => boolean) => {
      let withPos = 0, posHits = 0, ansHits = 0, total = 0;
      questions.forEach((q, i) => {
        if (!keep(i)) return;
        total++;
        const top = Array.from(labels.subarray(i * 5, i * 5 + 5));
        const answers = q.answers[year] ?? [];
        if (top.some((j) => j >= 0 && answers.some((a) => worldPassages[j]!.text.includes(a)))) ansHits++;
        if (positives[i]!.length > 0) {
          withPos++;
          if (top.some((j) => positives[i]!.includes(j))) posHits++;
        }
      });
      return { questions: total, withPositive: withPos, recallAt5: round(posHits / Math.max(1, withPos), 4), answerRecallAt5: round(ansHits / Math.max(1, total), 4) };
    };
    return { all: tally(() => true), ...Object.fromEntries(types.map((ty) => [ty, tally((i) => questions[i]!.type === ty)])) };
  };
  const world = {
    dir: worldDir,
    seed,
    year,
    passages: worldPassages.length,
    questions: questions.length,
    static: await worldRecall(staticEnc, 'static'),
    baseline: await worldRecall(baseline, 'MiniLM'),
  };
  progress(`world recall@5: static ${world.static.all.recallAt5}, MiniLM ${world.baseline.all.recallAt5}`);

  const models = { static: modelInfo(staticEnc, staticDir), baseline: modelInfo(baseline, baseDir) };
  await staticEnc.release();
  await baseline.release();

  // --- k processes x 1 thread, as a `--workers k` build runs them.
  const workers = [];
  for (const k of workerCounts) {
    const s = await runWorkers(staticDir, k, passages);
    const b = await runWorkers(baseDir, k, passages.slice(0, Math.min(n, workerPassages)));
    workers.push({ static: s, baseline: b, ratio: round(s.passagesPerSec / b.passagesPerSec, 1) });
    progress(`${k} processes x 1 thread: static ${s.passagesPerSec}, MiniLM ${b.passagesPerSec} passages/s`);
  }

  const result = {
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model, node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map((x) => round(x, 2)) },
    models,
    threads,
    batchSize,
    repeat,
    note:
      'passages/s: best of the interleaved timed runs of encodePassages (title + ". " + text), after a warm-up batch for MiniLM, model load excluded; ' +
      'static runs start with a cold word-piece cache; workers: static over all passages, MiniLM over the first --worker-passages',
    speed,
    workers,
    selfRetrieval,
    world,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
