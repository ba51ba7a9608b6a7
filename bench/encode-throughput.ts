/**
 * Encoder throughput benchmark.
 *
 *   node --import tsx bench/encode-throughput.ts [--passages 1000] [--threads 2] [--batch 32]
 *        [--repeat 2] [--model models/all-MiniLM-L6-v2] [--workers 1,2] [--dump <enwiki .xml.bz2>]
 *
 * Prints one JSON object on stdout (progress on stderr):
 *  (a) our Encoder (length-sorted batches) and, as an ablation, the same Encoder fed one batch per call
 *      in corpus order (no sorting benefit);
 *  (b) transformers.js feature-extraction pipeline on the SAME ONNX file, same thread count, same texts,
 *      same batch size, mean pooling + normalize; ratio ours / peer, and the cosine agreement of the two;
 *  (c) 1..k forked worker processes running our Encoder with intraOpThreads=1 each, total passages/s.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEncoder, findModelFile, type Encoder } from '@rag/encoder';
import type { WorkerReply, WorkerRequest } from './lib/encode-worker.js';
import { loadWikiPassages, type BenchPassage } from './lib/wiki-passages.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '1000' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    batch: { type: 'string', default: '32' },
    repeat: { type: 'string', default: '2' },
    model: { type: 'string', default: join(repo, 'models', 'all-MiniLM-L6-v2') },
    workers: { type: 'string', default: '1,2' },
    dump: { type: 'string', default: '/work/shared/data/wikipedia/enwiki-2016-sample.xml.bz2' },
  },
});
const N = Number(values.passages);
const threads = Number(values.threads);
const batchSize = Number(values.batch);
const repeat = Math.max(1, Number(values.repeat));
const modelDir = resolve(values.model!);
const workerCounts = values.workers!.split(',').filter(Boolean).map(Number);

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function round(x: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function cosineStats(a: Float32Array, b: Float32Array, dim: number): { min: number; mean: number } {
  let min = Infinity;
  let sum = 0;
  const n = a.length / dim;
  for (let i = 0; i < n; i++) {
    let dot = 0, na = 0, nb = 0;
    for (let d = 0; d < dim; d++) {
      const x = a[i * dim + d]!, y = b[i * dim + d]!;
      dot += x * y; na += x * x; nb += y * y;
    }
    const c = dot / Math.sqrt(na * nb);
    min = Math.min(min, c);
    sum += c;
  }
  return { min: round(min, 6), mean: round(sum / n, 6) };
}

/** transformers.js wants <root>/<id>/onnx/model.onnx: link the same files there, nothing copied. */
function peerModelDir(): { root: string; id: string } {
  const root = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  const id = 'peer-model';
  const d = join(root, id);
  mkdirSync(join(d, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(modelDir, f))) symlinkSync(join(modelDir, f), join(d, f));
  }
  symlinkSync(findModelFile(modelDir), join(d, 'onnx', 'model.onnx'));
  return { root, id };
}

async function runPeer(texts: string[]): Promise<{ seconds: number[]; embeddings: Float32Array }> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  const { root, id } = peerModelDir();
  tf.env.localModelPath = root;
  try {
    const extractor = await tf.pipeline('feature-extraction', id, {
      local_files_only: true,
      dtype: 'fp32',
      device: 'cpu',
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
    });
    const encodeAll = async (): Promise<Float32Array> => {
      const parts: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const t = await extractor(texts.slice(i, i + batchSize), { pooling: 'mean', normalize: true });
        parts.push(t.data as Float32Array);
      }
      const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let off = 0;
      for (const p of parts) { out.set(p, off); off += p.length; }
      return out;
    };
    await extractor(texts.slice(0, batchSize), { pooling: 'mean', normalize: true }); // warm-up
    const seconds: number[] = [];
    let embeddings: Float32Array = new Float32Array(0);
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      embeddings = await encodeAll();
      seconds.push((performance.now() - t0) / 1000);
      progress(`transformers.js run ${r + 1}: ${round(texts.length / seconds[r]!)} passages/s`);
    }
    await extractor.dispose();
    return { seconds, embeddings };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function runWorkers(k: number, passages: BenchPassage[]): Promise<{ workers: number; seconds: number; passagesPerSec: number }> {
  const workerPath = join(here, 'lib', 'encode-worker.ts');
  const children = Array.from({ length: k }, () => fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const waitFor = (c: (typeof children)[number], type: WorkerReply['type']): Promise<WorkerReply> =>
    new Promise((res, rej) => {
      const onMsg = (m: WorkerReply): void => {
        if (m.type === 'error') rej(new Error(`worker: ${m.message}`));
        else if (m.type === type) { c.off('message', onMsg); res(m); }
      };
      c.on('message', onMsg);
      c.once('exit', (code) => { if (code) rej(new Error(`worker exited ${code}`)); });
    });
  try {
    const share = Math.ceil(passages.length / k);
    const ready = children.map((c) => waitFor(c, 'ready'));
    children.forEach((c, i) => c.send({ type: 'init', dir: modelDir, threads: 1, batchSize, passages: passages.slice(i * share, (i + 1) * share) } satisfies WorkerRequest));
    await Promise.all(ready);
    const done = children.map((c) => waitFor(c, 'done'));
    const t0 = performance.now();
    children.forEach((c) => c.send({ type: 'go' } satisfies WorkerRequest));
    await Promise.all(done);
    const seconds = (performance.now() - t0) / 1000;
    const r = { workers: k, seconds: round(seconds, 2), passagesPerSec: round(passages.length / seconds) };
    progress(`${k} worker process(es) x 1 thread: ${r.passagesPerSec} passages/s`);
    return r;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}

async function main(): Promise<void> {
  progress(`loading ${N} passages from ${values.dump}`);
  const passages = await loadWikiPassages(values.dump!, N);
  if (passages.length < N) progress(`only ${passages.length} passages available`);
  const n = passages.length;

  const enc: Encoder = await loadEncoder({ dir: modelDir, intraOpThreads: threads, batchSize });
  const sep = enc.settings.titleSeparator;
  // Same strings for both libraries: our concat passage format, spelled out.
  const texts = passages.map((p) => (p.title ? `${p.title}${sep}${p.text}` : p.text));
  let tokenTotal = 0;
  for (const t of texts) tokenTotal += enc.tokenCount(t);

  await enc.encodePassages(passages.slice(0, batchSize)); // warm-up
  const oursSec: number[] = [];
  const unsortedSec: number[] = [];
  let ours: Float32Array = new Float32Array(0);
  for (let r = 0; r < repeat; r++) {
    oursSec.push(await timeIt(async () => { ours = await enc.encodePassages(passages); }));
    progress(`ours run ${r + 1}: ${round(n / oursSec[r]!)} passages/s`);
    unsortedSec.push(await timeIt(async () => {
      for (let i = 0; i < n; i += batchSize) await enc.encodePassages(passages.slice(i, i + batchSize));
    }));
    progress(`ours, corpus order run ${r + 1}: ${round(n / unsortedSec[r]!)} passages/s`);
  }
  const dim = enc.dim;
  await enc.release();

  const peer = await runPeer(texts);

  const workers = [];
  for (const k of workerCounts) workers.push(await runWorkers(k, passages));

  const best = (s: number[]): number => Math.min(...s);
  const oursRate = n / best(oursSec);
  const peerRate = n / best(peer.seconds);
  const result = {
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model, node: process.version },
    model: { dir: modelDir, name: enc.name, sha256: enc.sha256, dim, maxLength: enc.maxLength, pooling: enc.pooling, normalize: enc.normalize },
    passages: n,
    meanTokens: round(tokenTotal / n),
    threads,
    batchSize,
    repeat,
    note: 'passages/s from the best of `repeat` timed runs after a warm-up batch; workers exclude model load',
    ours: { passagesPerSec: round(oursRate), runsSec: oursSec.map((s) => round(s, 2)) },
    oursCorpusOrder: { passagesPerSec: round(n / best(unsortedSec)), runsSec: unsortedSec.map((s) => round(s, 2)) },
    transformersJs: { passagesPerSec: round(peerRate), runsSec: peer.seconds.map((s) => round(s, 2)) },
    ratioOursOverPeer: round(oursRate / peerRate, 2),
    agreementWithPeer: cosineStats(ours, peer.embeddings, dim),
    workerProcesses: workers,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
