import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { ConfigError, ModelLoadError } from '@rag/core';
import type { Logger } from '@rag/core';
import { cudaProviderInstalled } from '@rag/encoder';
import { readGeneratorConfig } from './generator-config.js';
import { Generator } from './generator.js';
import { findOnnxFiles, seq2seqExportHint, type DecoderLayout } from './onnx-layout.js';
import { loadSeq2SeqTokenizer } from './seq2seq-tokenizer.js';

export interface GeneratorOptions {
  /** Model directory in the Optimum seq2seq layout (files in `onnx/` or at the top). */
  dir: string;
  /** @defaultValue 'cpu' */
  executionProvider?: 'cpu' | 'cuda';
  /** Intra-op threads per session; 0 lets ONNX Runtime decide. @defaultValue 0 */
  intraOpThreads?: number;
  /** Which decoder files to use when the directory has both layouts. @defaultValue 'split' */
  decoderLayout?: DecoderLayout;
  /**
   * Attention-score bytes one encoder call may hold: encode() runs its rows in chunks of about this
   * much (at least one row), which keeps them in cache. Outputs do not depend on it. @defaultValue 1 MiB
   */
  encoderChunkBytes?: number;
  /**
   * Use onnx/decoder_with_past_grouped_model.onnx when the directory has it: beams of one encoder row
   * share one cross-attention cache (no per-beam copies, a quarter of the cache reads at 4 beams).
   * Same outputs to float rounding. @defaultValue true
   */
  groupedDecoder?: boolean;
  logger?: Logger;
}

const CUDA_INSTALL_HINT =
  'install onnxruntime-node\'s CUDA provider on this node (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node; CUDA 12 + cuDNN 9; see docs/gpu.md), or set RAG_ONNX_EP=cpu';

async function sha256Files(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function createSession(path: string, ep: 'cpu' | 'cuda', threads: number): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(path, {
      executionProviders: ep === 'cuda' ? [{ name: 'cuda' }] : ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    });
  } catch (err) {
    throw new ModelLoadError(`ONNX Runtime could not load ${path} (${ep}): ${(err as Error).message}`, {
      cause: err,
      hint: ep === 'cuda' ? CUDA_INSTALL_HINT : 'the file may be truncated or from a newer opset; export the model again',
      details: { path, executionProvider: ep },
    });
  }
}

/**
 * Opens a generator directory: config (config.json + generation_config.json), tokenizer, and one
 * ONNX Runtime session per graph. The model is not run here; the first encode() is the first pass.
 */
export async function loadGenerator(opts: GeneratorOptions): Promise<Generator> {
  const dir = resolve(opts.dir);
  const files = findOnnxFiles(dir, opts.decoderLayout);
  const config = readGeneratorConfig(dir);
  const tokenizer = loadSeq2SeqTokenizer(dir, 1024);
  const ep = opts.executionProvider ?? 'cpu';
  const threads = opts.intraOpThreads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new ConfigError(`intraOpThreads must be an integer >= 0, got ${threads}`, { hint: '0 lets ONNX Runtime decide' });
  }
  if (opts.encoderChunkBytes !== undefined && !(opts.encoderChunkBytes > 0)) {
    throw new ConfigError(`encoderChunkBytes must be > 0, got ${opts.encoderChunkBytes}`, { hint: 'omit it for the default (1 MiB)' });
  }
  if (ep === 'cuda' && !cudaProviderInstalled()) {
    throw new ModelLoadError('executionProvider "cuda" was requested but ONNX Runtime has no CUDA provider on this machine', {
      hint: CUDA_INSTALL_HINT,
    });
  }
  const paths = [files.encoder, files.decoder, ...(files.decoderWithPast ? [files.decoderWithPast] : [])];
  // The grouped graph holds the same weights as the with-past one: it is not part of the model's identity.
  const grouped = opts.groupedDecoder !== false ? files.decoderWithPastGrouped : undefined;
  const sessionPaths = grouped ? [...paths, grouped] : paths;
  const [sha256, ...sessions] = await Promise.all([sha256Files(paths), ...sessionPaths.map((p) => createSession(p, ep, threads))]);
  const [encoderSession, decoderSession, decoderWithPastSession] = sessions as InferenceSession[];
  const groupedSession = grouped ? (sessions.at(-1) as InferenceSession) : undefined;
  let gen: Generator;
  try {
    gen = new Generator({
      name: basename(dir),
      sha256,
      dir,
      files,
      config,
      tokenizer,
      encoderSession: encoderSession!,
      decoderSession: decoderSession!,
      decoderWithPastSession,
      decoderWithPastGroupedSession: groupedSession,
      encoderChunkBytes: opts.encoderChunkBytes,
    });
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`cannot use the generator in ${dir}: ${(err as Error).message}`, { cause: err, hint: seq2seqExportHint(dir) });
  }
  opts.logger?.info(
    { model: gen.name, layout: files.layout, groupedDecoder: Boolean(groupedSession), sha256, modelType: config.modelType, vocab: config.vocabSize, executionProvider: ep, intraOpThreads: threads },
    'generator loaded',
  );
  return gen;
}
