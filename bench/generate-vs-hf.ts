/**
 * Our RAG generation vs Hugging Face transformers (PyTorch) on the same weights, inputs and threads.
 *
 *   node --import tsx bench/generate-vs-hf.ts [--threads 1] [--reps 2] [--k 5] [--beams 4]
 *        [--world-questions 16] [--bart-questions 2] [--bart-context 128] [--models world-generator,bart-base-shape]
 *
 * Models: the shipped world generator (models/world-generator; PyTorch weights are read back from its
 * ONNX graphs) and a BART with bart-base's shape and random weights (built once by
 * `python -m modelkit random-bart-base` into .rag/bench/bart-base-shape, exported by our exporter:
 * the FLOP-bound regime). Inputs: real NQ-open questions, each with K real 100-word Wikipedia passages
 * and fixed decreasing scores, tokenized by our tokenizer and padded to max_combined_length as HF's
 * RagRetriever pads them; both sides get these very tensors, in one batch per model. Modes:
 * RAG-Token (`RagTokenForGeneration.generate`) and RAG-Sequence thorough
 * (`RagSequenceForGeneration.generate`). Each side: one warm-up, best of --reps wall times.
 * Prints one JSON object; `results` = [{model, mode, oursQps, hfQps, ratio, identicalSequences}].
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadGenerator } from '@rag/generator';
import { buildRagBatch, ragGenerateFromBatch, type RagItem, type RagMode } from '@rag/rag';
import { loadRagItems } from './lib/rag-items.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '2' },
    k: { type: 'string', default: '5' },
    beams: { type: 'string', default: '4' },
    'world-questions': { type: 'string', default: '16' },
    'bart-questions': { type: 'string', default: '2' },
    'bart-context': { type: 'string', default: '128' },
    'bart-max-length': { type: 'string', default: '12' },
    models: { type: 'string', default: 'world-generator,bart-base-shape' },
    modes: { type: 'string', default: 'rag-token,rag-sequence' },
    dump: { type: 'string', default: join(repo, '..', 'shared', 'data', 'wikipedia', 'enwiki-2016-sample.xml.bz2') },
    nq: { type: 'string', default: join(repo, '..', 'shared', 'data', 'nq-open', 'NQ-open.dev.jsonl') },
  },
});
const threads = Number(values.threads);
const reps = Number(values.reps);
const K = Number(values.k);
const beams = Number(values.beams);
const modes = values.modes!.split(',') as RagMode[];
const PYTHON = join(repo, 'services', 'modelkit', '.venv', 'bin', 'python');
const log = (m: string) => process.stderr.write(`[generate-vs-hf] ${m}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function modelkit(args: string[]): string {
  return execFileSync(PYTHON, ['-m', 'modelkit', ...args], {
    cwd: join(repo, 'services', 'modelkit'),
    env: { ...process.env, HF_HUB_OFFLINE: '1', PYTHONPATH: join(repo, 'services', 'modelkit', 'src'), OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const loadItems = (n: number): Promise<RagItem[]> => loadRagItems({ nq: values.nq!, dump: values.dump!, n, k: K });

interface ModelSpec {
  name: 'world-generator' | 'bart-base-shape';
  dir: string;
  questions: number;
  maxCombinedLength?: number;
  maxLength?: number;
}

function modelSpecs(): ModelSpec[] {
  const wanted = values.models!.split(',');
  const specs: ModelSpec[] = [];
  if (wanted.includes('world-generator')) specs.push({ name: 'world-generator', dir: join(repo, 'models', 'world-generator'), questions: Number(values['world-questions']) });
  if (wanted.includes('bart-base-shape')) {
    const dir = join(repo, '.rag', 'bench', 'bart-base-shape');
    if (!existsSync(join(dir, 'onnx', 'decoder_with_past_model.onnx'))) {
      log(`building the bart-base-shape model in ${dir} (once)`);
      mkdirSync(dirname(dir), { recursive: true });
      modelkit(['random-bart-base', '--out', dir, '--tokenizer', join(repo, 'models', 'world-generator')]);
    }
    specs.push({ name: 'bart-base-shape', dir, questions: Number(values['bart-questions']), maxCombinedLength: Number(values['bart-context']), maxLength: Number(values['bart-max-length']) });
  }
  return specs;
}

const scratch = mkdtempSync(join(tmpdir(), 'generate-vs-hf-'));
try {
  const results = [];
  for (const spec of modelSpecs()) {
    const gen = await loadGenerator({ dir: spec.dir, intraOpThreads: threads });
    const maxCombinedLength = spec.maxCombinedLength ?? Math.min(300, gen.tokenizer.modelMaxLength);
    const maxLength = spec.maxLength ?? gen.config.maxLength;
    const items = await loadItems(spec.questions);
    const batch = buildRagBatch(gen.tokenizer, items, { maxCombinedLength });
    log(`${spec.name}: ${items.length} questions × K ${K}, ${beams} beams, context ${maxCombinedLength} tokens, max_length ${maxLength}, ${threads} thread(s)`);

    // Hugging Face first (its own process), then ours on the same tensors.
    const request = join(scratch, `${spec.name}.json`);
    writeFileSync(
      request,
      JSON.stringify({
        model_dir: spec.dir,
        threads,
        reps,
        n_docs: K,
        beams,
        max_length: maxLength,
        max_combined_length: maxCombinedLength,
        modes,
        batches: [{ context_input_ids: batch.contextInputIds, context_attention_mask: batch.contextAttentionMask, doc_scores: batch.docScores }],
      }),
    );
    const hf = JSON.parse(modelkit(['generate-vs-hf', '--request', request])) as { threads: number; torch: string; modes: Record<string, { seconds: number; sequences: number[][] }> };

    for (const mode of modes) {
      const opts = { mode, beams, maxLength, numReturnSequences: 1 };
      await ragGenerateFromBatch(gen, batch, opts); // warm-up
      let best = Infinity;
      let ours: number[][] = [];
      for (let rep = 0; rep < reps; rep++) {
        const t0 = performance.now();
        const answers = await ragGenerateFromBatch(gen, batch, opts);
        best = Math.min(best, (performance.now() - t0) / 1000);
        ours = answers.map((a) => a.sequence);
      }
      const ref = hf.modes[mode]!;
      const pad = gen.config.padTokenId;
      const trim = (row: number[]) => {
        const r = [...row];
        while (r.length > 1 && r[r.length - 1] === pad) r.pop();
        return r.join(',');
      };
      const identical = ours.length === ref.sequences.length && ours.every((s, i) => trim(s) === trim(ref.sequences[i]!));
      const oursQps = items.length / best;
      const hfQps = items.length / ref.seconds;
      results.push({ model: spec.name, mode, oursQps: round(oursQps), hfQps: round(hfQps), ratio: round(oursQps / hfQps), identicalSequences: identical, questions: items.length, contextTokens: maxCombinedLength, maxLength });
      log(`${spec.name} ${mode}: ours ${round(oursQps)} q/s, HF ${round(hfQps)} q/s, ratio ${round(oursQps / hfQps)}, identical ${identical}`);
    }
    await gen.release();
  }
  console.log(
    JSON.stringify(
      {
        bench: 'generate-vs-hf',
        k: K,
        beams,
        threads,
        reps,
        host: { cpus: cpus().length, parallelism: availableParallelism(), model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x)) },
        results,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
