/**
 * Batched RAG generation against the code (and model files) of an earlier commit, in one run.
 *
 *   node --import tsx bench/batched-generation.ts [--baseline REF] [--model DIR] [--k 5] [--beams 4]
 *        [--questions 16] [--batch 16] [--threads 1] [--reps 2] [--modes rag-token,rag-sequence,rag-sequence-fast]
 *
 * For each mode, interleaved --reps times: this tree answering --questions real NQ-open questions in
 * batches of --batch, this tree one question at a time, the batches again without the grouped decoder graph
 * (per-beam cross-attention caches; when the model has that graph), and (with --baseline) the baseline commit's
 * `shared/` libraries and generator files one at a time and in batches. Each question gets K real
 * 100-word Wikipedia passages (enwiki sample) with fixed decreasing scores. Every variant's answers
 * (token ids) must be identical to the baseline one-at-a-time answers; the JSON says whether they are.
 * Throughput is questions/s over wall time (best of --reps; the machine is shared), plus CPU ms per
 * question (process CPU time, less sensitive to other processes). Prints one JSON object.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as generatorLib from '@rag/generator';
import * as ragLib from '@rag/rag';
import type { RagAnswer, RagItem, RagMode } from '@rag/rag';
import { checkoutBaseline, type BaselineTree } from './lib/baseline-tree.js';
import { loadRagItems } from './lib/rag-items.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    model: { type: 'string', default: join(repo, 'models', 'world-generator') },
    k: { type: 'string', default: '5' },
    beams: { type: 'string', default: '4' },
    questions: { type: 'string', default: '16' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'rag-token,rag-sequence,rag-sequence-fast' },
    dump: { type: 'string', default: join(repo, '..', 'shared', 'data', 'wikipedia', 'enwiki-2016-sample.xml.bz2') },
    nq: { type: 'string', default: join(repo, '..', 'shared', 'data', 'nq-open', 'NQ-open.dev.jsonl') },
  },
});
const K = Number(values.k);
const beams = Number(values.beams);
const nQuestions = Number(values.questions);
const batchSize = Number(values.batch);
const threads = Number(values.threads);
const reps = Number(values.reps);
const modes = values.modes!.split(',') as RagMode[];
const log = (m: string) => process.stderr.write(`[batched-generation] ${m}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Libs = { generator: typeof generatorLib; rag: typeof ragLib };
interface Variant {
  name: string;
  libs: Libs;
  modelDir: string;
  batched: boolean;
  /** load options beyond dir and threads (ours only: e.g. the grouped decoder switched off) */
  load?: { groupedDecoder?: boolean };
}

const loadItems = (): Promise<RagItem[]> => loadRagItems({ nq: values.nq!, dump: values.dump!, n: nQuestions, k: K });

const items = await loadItems();
const modelDir = resolve(values.model!);
let base: BaselineTree | undefined;
const variants: Variant[] = [];
const ours: Libs = { generator: generatorLib, rag: ragLib };
if (values.baseline) {
  const rel = relative(repo, modelDir);
  const inRepo = !rel.startsWith('..');
  base = checkoutBaseline(repo, values.baseline, inRepo ? [rel] : []);
  const libs: Libs = { generator: await import(base.lib('generator')), rag: await import(base.lib('rag')) };
  const dir = inRepo ? base.path(rel) : modelDir;
  variants.push({ name: 'baseline-one-at-a-time', libs, modelDir: dir, batched: false }, { name: `baseline-batch${batchSize}`, libs, modelDir: dir, batched: true });
}
variants.push({ name: 'ours-one-at-a-time', libs: ours, modelDir, batched: false }, { name: `ours-batch${batchSize}`, libs: ours, modelDir, batched: true });
// The same batches through the Optimum graphs alone (cross-attention caches per beam), when the model has the grouped graph.
if (generatorLib.findOnnxFiles(modelDir).decoderWithPastGrouped) {
  variants.push({ name: `ours-batch${batchSize}-per-row-caches`, libs: ours, modelDir, batched: true, load: { groupedDecoder: false } });
}

try {
  const gens = new Map<string, generatorLib.Generator>();
  for (const v of variants) gens.set(v.name, await v.libs.generator.loadGenerator({ dir: v.modelDir, intraOpThreads: threads, ...v.load }));
  const first = gens.get(variants[0]!.name)!;
  const maxCombinedLength = Math.min(300, first.tokenizer.modelMaxLength);
  log(`${first.name}: K ${K}, beams ${beams}, ${items.length} questions, batch ${batchSize}, ${threads} thread(s), maxCombinedLength ${maxCombinedLength}; variants ${variants.map((v) => v.name).join(', ')}`);

  async function runVariant(v: Variant, mode: RagMode): Promise<{ wallMs: number; cpuMs: number; answers: RagAnswer[] }> {
    const gen = gens.get(v.name)!;
    const opts = { mode, beams, maxCombinedLength, numReturnSequences: 1 };
    const c0 = cpuMs();
    const t0 = performance.now();
    const answers: RagAnswer[] = [];
    const size = v.batched ? batchSize : 1;
    for (let i = 0; i < items.length; i += size) answers.push(...(await v.libs.rag.ragGenerate(gen, items.slice(i, i + size), opts)));
    return { wallMs: performance.now() - t0, cpuMs: cpuMs() - c0, answers };
  }

  const results = [];
  for (const mode of modes) {
    for (const v of variants) await v.libs.rag.ragGenerate(gens.get(v.name)!, items.slice(0, 2), { mode, beams, maxCombinedLength }); // warm-up
    const best = new Map<string, { wallMs: number; cpuMs: number }>();
    const answers = new Map<string, RagAnswer[]>();
    for (let rep = 0; rep < reps; rep++) {
      for (const v of variants) {
        const r = await runVariant(v, mode);
        const b = best.get(v.name);
        best.set(v.name, { wallMs: Math.min(b?.wallMs ?? Infinity, r.wallMs), cpuMs: Math.min(b?.cpuMs ?? Infinity, r.cpuMs) });
        answers.set(v.name, r.answers);
        log(`${mode} rep ${rep} ${v.name}: ${round(r.wallMs / items.length)} ms/question wall, ${round(r.cpuMs / items.length)} CPU`);
      }
    }
    const ref = answers.get(variants[0]!.name)!;
    const perVariant = variants.map((v) => {
      const b = best.get(v.name)!;
      const a = answers.get(v.name)!;
      const identical = a.length === ref.length && a.every((x, i) => x.tokenIds.join(',') === ref[i]!.tokenIds.join(','));
      const maxScoreDiff = Math.max(...a.map((x, i) => Math.abs(x.score - ref[i]!.score)));
      return { variant: v.name, questionsPerSec: round((1000 * items.length) / b.wallMs), cpuMsPerQuestion: round(b.cpuMs / items.length, 1), answersIdenticalToReference: identical, maxScoreDiff: Number(maxScoreDiff.toExponential(2)) };
    });
    const qps = (name: string) => perVariant.find((p) => p.variant === name)?.questionsPerSec;
    const cpu = (name: string) => perVariant.find((p) => p.variant === name)?.cpuMsPerQuestion;
    const oursBatch = `ours-batch${batchSize}`;
    results.push({
      mode,
      reference: variants[0]!.name,
      variants: perVariant,
      ...(base
        ? {
            speedupVsBaselineOneAtATime: round(qps(oursBatch)! / qps('baseline-one-at-a-time')!),
            speedupVsBaselineBatch: round(qps(oursBatch)! / qps(`baseline-batch${batchSize}`)!),
            cpuSpeedupVsBaselineOneAtATime: round(cpu('baseline-one-at-a-time')! / cpu(oursBatch)!),
          }
        : {}),
      ...(qps(`${oursBatch}-per-row-caches`) ? { groupedOverPerRowCaches: round(qps(oursBatch)! / qps(`${oursBatch}-per-row-caches`)!) } : {}),
    });
  }
  for (const g of gens.values()) await g.release();
  console.log(
    JSON.stringify(
      {
        bench: 'batched-generation',
        model: first.name,
        baseline: base ? { ref: base.ref, commit: base.commit } : null,
        k: K,
        beams,
        questions: items.length,
        batch: batchSize,
        intraOpThreads: threads,
        reps,
        host: { cpus: cpus().length, parallelism: availableParallelism(), model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x)) },
        results,
      },
      null,
      2,
    ),
  );
} finally {
  base?.remove();
}
