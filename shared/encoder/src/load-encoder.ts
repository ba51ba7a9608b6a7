import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CorruptInputError, ModelLoadError, readTextFileSync, sha256 } from '@rag/core';
import { Encoder } from './encoder.js';
import { resolveEncoderSettings, type EncoderOptions } from './encoder-options.js';
import type { BatchRunner } from './batch-runner.js';
import { SessionRunner } from './batch-runner.js';
import { LaneRunner } from './encode-lanes.js';
import type { EncoderSettings } from './encoder-options.js';
import { TextTokenizer } from './text-tokenizer.js';

/** The ONNX file inside a model directory: Optimum writes model.onnx, the Hub layout onnx/model.onnx. */
export const MODEL_FILE_CANDIDATES = ['model.onnx', join('onnx', 'model.onnx')];

export function exportHint(dir: string): string {
  return (
    `export an encoder into ${dir}: \`optimum-cli export onnx --model sentence-transformers/all-MiniLM-L6-v2 --task feature-extraction ${dir}\`` +
    ' or `python -m modelkit export-encoder` (services/modelkit)'
  );
}

/** Finds the ONNX file, or says exactly what is missing and how to make it. */
export function findModelFile(dir: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelLoadError(`encoder directory ${dir} does not exist`, { hint: exportHint(dir), details: { dir } });
  }
  for (const c of MODEL_FILE_CANDIDATES) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  throw new ModelLoadError(`no ONNX model in ${dir} (looked for ${MODEL_FILE_CANDIDATES.join(', ')})`, {
    hint: exportHint(dir),
    details: { dir, missing: MODEL_FILE_CANDIDATES.map((c) => join(dir, c)) },
  });
}

function readJsonObject(path: string): object {
  try {
    const v = JSON.parse(readTextFileSync(path, { expected: 'a JSON model config' })) as unknown;
    if (v === null || typeof v !== 'object') throw new Error('not a JSON object');
    return v;
  } catch (err) {
    if (err instanceof CorruptInputError) throw err; // not text at all: the shared wording
    throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`, { cause: err, hint: exportHint(resolve(path, '..')) });
  }
}

function loadTokenizer(dir: string, maxLength: number): TextTokenizer {
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) {
    throw new ModelLoadError(`no tokenizer.json in ${dir}`, {
      hint: `${exportHint(dir)}; a "fast" tokenizer is required (tokenizer.json), vocab.txt alone is not enough`,
      details: { dir, missing: [tokPath] },
    });
  }
  const cfgPath = join(dir, 'tokenizer_config.json');
  // tokenizer_config.json only refines behaviour (clean-up, pad token); tokenizer.json carries the pipeline.
  const cfg = existsSync(cfgPath) ? readJsonObject(cfgPath) : {};
  try {
    return new TextTokenizer(readJsonObject(tokPath), cfg, maxLength);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`@huggingface/tokenizers cannot build the tokenizer in ${tokPath}: ${(err as Error).message}`, {
      cause: err,
      hint: 'export the tokenizer again with a recent transformers release',
    });
  }
}

/**
 * One read of the model file: its sha256, and whether the graph has DynamicQuantizeLinear nodes
 * (op types are plain strings in the protobuf).
 */
async function hashAndInspect(modelPath: string): Promise<[string, boolean]> {
  const bytes = await readFile(modelPath);
  return [sha256(bytes), bytes.includes('DynamicQuantizeLinear')];
}

/** Lanes for these settings: N CPU threads with 'lanes' threading are N single-threaded sessions. */
export function laneCount(s: Pick<EncoderSettings, 'executionProvider' | 'threading' | 'intraOpThreads'>): number {
  return s.executionProvider === 'cpu' && s.threading === 'lanes' && s.intraOpThreads > 1 ? s.intraOpThreads : 1;
}

function openRunner(modelPath: string, s: EncoderSettings): Promise<BatchRunner> {
  const lanes = laneCount(s);
  if (lanes > 1) return LaneRunner.open(modelPath, s.executionProvider, lanes, 1);
  return SessionRunner.open(modelPath, s.executionProvider, s.intraOpThreads);
}

/**
 * Opens a model directory: validates files, resolves settings, shares the process-wide
 * InferenceSession for this model, and runs one probe pass so `dim` is known.
 */
export async function loadEncoder(opts: EncoderOptions): Promise<Encoder> {
  const dir = resolve(opts.dir);
  const modelPath = findModelFile(dir);
  const settings = resolveEncoderSettings({ ...opts, dir });
  const tokenizer = loadTokenizer(dir, settings.maxLength);
  const [inspected, opened] = await Promise.allSettled([hashAndInspect(modelPath), openRunner(modelPath, settings)]);
  if (opened.status === 'rejected') throw opened.reason;
  const runner = opened.value;
  if (inspected.status === 'rejected') {
    await runner.release();
    throw inspected.reason;
  }
  const [sha256, rowDependentBatches] = inspected.value;
  let encoder: Encoder;
  try {
    encoder = new Encoder({ name: basename(dir), sha256, modelPath, settings, runner, tokenizer, rowDependentBatches });
    await encoder.encode(['probe']);
  } catch (err) {
    await runner.release();
    throw err;
  }
  opts.logger?.info(
    {
      model: encoder.name,
      modelPath,
      sha256,
      dim: encoder.dim,
      maxLength: settings.maxLength,
      pooling: settings.pooling,
      normalize: settings.normalize,
      passageFormat: settings.passageFormat,
      executionProvider: settings.executionProvider,
      intraOpThreads: settings.intraOpThreads,
      lanes: encoder.lanes,
      textsPerCall: encoder.callBatchSize,
      sources: settings.sources,
    },
    'encoder loaded',
  );
  return encoder;
}
