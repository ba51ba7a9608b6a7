/**
 * RAG decoding cost: RAG-Token vs RAG-Sequence (thorough, fast) vs the generator alone, per question.
 *
 *   node --import tsx bench/rag-decoding.ts [--k 5] [--beams 4] [--questions 16] [--batch 8]
 *        [--threads 1] [--reps 3] [--max-length N] [--model DIR ...]
 *
 * Models: the HF fixture generator (test/fixtures/hf-rag/generator, a random 2+2-layer BART) and
 * models/world-generator when it exists, plus any --model. Questions are real NQ-open questions; each
 * gets K real 100-word Wikipedia passages (round-robin from the enwiki sample; retrieval is not what is
 * measured, only the shapes matter) with fixed decreasing scores. Generator inputs are truncated to
 * min(300, tokenizer model_max_length) tokens, as HF's max_combined_length does.
 *
 * For each model × mode (modes interleaved, --reps times): ms/question one question at a time (mean, p50,
 * p90) and in batches of --batch (median), and decoder work per question (decodeStep calls, decoder
 * rows × new tokens). Prints one JSON object.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadGenerator, type Generator } from '@rag/generator';
import { ragGenerate, type RagItem, type RagMode } from '@rag/rag';
import { loadRagItems } from './lib/rag-items.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '5' },
    beams: { type: 'string', default: '4' },
    questions: { type: 'string', default: '16' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '3' },
    'max-length': { type: 'string' },
    model: { type: 'string', multiple: true, default: [] },
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
const MODES: RagMode[] = ['no-retrieval', 'rag-token', 'rag-sequence-fast', 'rag-sequence'];

const log = (msg: string) => process.stderr.write(`[rag-decoding] ${msg}\n`);

function modelDirs(): string[] {
  const dirs = [join(repo, 'test', 'fixtures', 'hf-rag', 'generator')];
  const world = join(repo, 'models', 'world-generator');
  if (existsSync(join(world, 'onnx')) || existsSync(join(world, 'encoder_model.onnx'))) dirs.push(world);
  return [...dirs, ...(values.model as string[]).map((m) => resolve(m))];
}

const loadItems = (): Promise<RagItem[]> => loadRagItems({ nq: values.nq!, dump: values.dump!, n: nQuestions, k: K });

/** Counts decoder work by wrapping decodeStep (rows × new tokens = decoder token-rows computed). */
function instrument(gen: Generator): { calls: number; tokenRows: number; reset(): void } {
  const c = { calls: 0, tokenRows: 0, reset() { c.calls = 0; c.tokenRows = 0; } };
  const orig = gen.decodeStep.bind(gen);
  gen.decodeStep = async (state, ids) => {
    c.calls++;
    c.tokenRows += ids.length * (ids[0]?.length ?? 0);
    return orig(state, ids);
  };
  return c;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const items = await loadItems();
const results: Record<string, unknown>[] = [];
for (const dir of modelDirs()) {
  const gen = await loadGenerator({ dir, intraOpThreads: threads });
  const counter = instrument(gen);
  const maxCombinedLength = Math.min(300, gen.tokenizer.modelMaxLength);
  const maxLength = values['max-length'] ? Number(values['max-length']) : gen.config.maxLength;
  log(`${gen.name}: ${gen.config.modelType}, ${gen.layout} decoder, vocab ${gen.vocabSize}, maxCombinedLength ${maxCombinedLength}, maxLength ${maxLength}`);
  const modes: Record<string, unknown> = {};
  const optsFor = (mode: RagMode) => ({ mode, beams, maxLength, maxCombinedLength, numReturnSequences: 1 });
  const single = new Map<RagMode, number[]>(MODES.map((m) => [m, []]));
  const batched = new Map<RagMode, number[]>(MODES.map((m) => [m, []]));
  const work = new Map<RagMode, { calls: number; tokenRows: number; answerTokens: number }>();
  for (const mode of MODES) await ragGenerate(gen, items.slice(0, 1), optsFor(mode)); // warm-up
  // Modes interleaved within each repetition, so load from other processes spreads over all of them.
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of MODES) {
      counter.reset();
      let answerTokens = 0;
      for (const it of items) {
        const t0 = performance.now();
        const [a] = await ragGenerate(gen, [it], optsFor(mode));
        single.get(mode)!.push(performance.now() - t0);
        answerTokens += a!.tokenIds.length;
      }
      if (rep === 0) work.set(mode, { calls: counter.calls, tokenRows: counter.tokenRows, answerTokens });
      const t0 = performance.now();
      for (let i = 0; i < items.length; i += batchSize) await ragGenerate(gen, items.slice(i, i + batchSize), optsFor(mode));
      batched.get(mode)!.push((performance.now() - t0) / items.length);
    }
  }
  for (const mode of MODES) {
    const xs = single.get(mode)!;
    const w = work.get(mode)!;
    modes[mode] = {
      msPerQuestion: round(xs.reduce((a, b) => a + b, 0) / xs.length),
      p50Ms: round(percentile(xs, 0.5)),
      p90Ms: round(percentile(xs, 0.9)),
      [`msPerQuestionBatch${batchSize}`]: round(percentile(batched.get(mode)!, 0.5)),
      meanAnswerTokens: round(w.answerTokens / items.length, 1),
      decodeCallsPerQuestion: round(w.calls / items.length, 1),
      decoderTokenRowsPerQuestion: round(w.tokenRows / items.length, 1),
    };
    log(`${gen.name} ${mode}: ${JSON.stringify(modes[mode])}`);
  }
  const base = (modes['rag-token'] as { p50Ms: number }).p50Ms;
  results.push({
    model: gen.name,
    dir,
    modelType: gen.config.modelType,
    layout: gen.layout,
    vocabSize: gen.vocabSize,
    maxCombinedLength,
    maxLength,
    modes,
    p50RelativeToRagToken: Object.fromEntries(MODES.map((m) => [m, round((modes[m] as { p50Ms: number }).p50Ms / base)])),
  });
  await gen.release();
}

console.log(
  JSON.stringify(
    {
      bench: 'rag-decoding',
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
