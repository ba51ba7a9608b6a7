import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, CorruptInputError, ModelLoadError, readTextFileSync } from '@rag/core';
import type { Logger } from '@rag/core';

export type ExecutionProvider = 'cpu' | 'cuda';
export type Pooling = 'mean' | 'cls';
export type Threading = 'lanes' | 'intra-op';
/**
 * How a passage {title, text} becomes model input.
 * - 'concat': one string `${title}${titleSeparator}${text}` — for single-text sentence-transformers models,
 *   which were trained on plain sentences; the title adds context the 100-word body often lacks.
 * - 'pair': the tokenizer's text pair (title, text) with segment ids, as DPR's context encoder was trained.
 * - 'text': the body only.
 */
export type PassageFormat = 'concat' | 'pair' | 'text';

/** What callers pass to loadEncoder. Unset fields come from the model directory, then built-in defaults. */
export interface EncoderOptions {
  /** Model directory in the Optimum / sentence-transformers layout. */
  dir: string;
  /** @defaultValue 'cpu' */
  executionProvider?: ExecutionProvider;
  /** Threads the encoder computes with (see `threading`); 0 lets ONNX Runtime decide. @defaultValue 0 */
  intraOpThreads?: number;
  /**
   * How more than one CPU thread is used. 'lanes': that many single-threaded sessions on worker threads,
   * each running whole batches (robust on a busy machine: no barriers between threads, no spinning);
   * 'intra-op': one session whose operators are split over the threads. Vectors are the same bits either way.
   * The CUDA provider always runs one session. @defaultValue 'lanes'
   */
  threading?: Threading;
  /** Texts per forward pass. @defaultValue 32 */
  batchSize?: number;
  /** Token limit incl. special tokens. @defaultValue sentence_bert_config.json max_seq_length, else config.json max_position_embeddings */
  maxLength?: number;
  /** @defaultValue 1_Pooling/config.json; no pooling file (DPR export) → 'cls' */
  pooling?: Pooling;
  /** L2-normalise embeddings. @defaultValue true for a Normalize module or a mean-pooled sentence-transformers model */
  normalize?: boolean;
  /** @defaultValue rag_encoder.json, else 'concat' for sentence-transformers models and 'pair' for others */
  passageFormat?: PassageFormat;
  logger?: Logger;
}

/** Every knob decided; what the Encoder runs with. */
export interface EncoderSettings {
  dir: string;
  executionProvider: ExecutionProvider;
  intraOpThreads: number;
  threading: Threading;
  batchSize: number;
  maxLength: number;
  pooling: Pooling;
  normalize: boolean;
  passageFormat: PassageFormat;
  titleSeparator: string;
  queryPrefix: string;
  passagePrefix: string;
  /** ONNX output holding per-token states (or an already pooled [n, dim] vector). */
  outputName?: string;
  /**
   * For a question encoder fine-tuned against a frozen passage encoder (DPR-style): the sha256 of that
   * passage encoder's model file, so snapshots built with it accept this encoder's queries.
   */
  passageEncoderSha256?: string;
  /**
   * Multiplies query vectors after pooling/normalisation. A RAG generator trained with
   * doc_scores = scale · cosine needs the same scale at answer time; retrieval order is unchanged.
   */
  queryScale: number;
  /** Where each value came from, for logs and error messages. */
  sources: Record<string, string>;
}

/** Optional per-model overrides, committed next to the model as rag_encoder.json. */
export const ragEncoderFileSchema = z
  .object({
    pooling: z.enum(['mean', 'cls']).optional(),
    normalize: z.boolean().optional(),
    maxLength: z.number().int().min(2).optional(),
    passageFormat: z.enum(['concat', 'pair', 'text']).optional(),
    titleSeparator: z.string().optional(),
    /** Prepended to every query (e5-style models want "query: "). */
    queryPrefix: z.string().optional(),
    /** Prepended to every passage (after title formatting). */
    passagePrefix: z.string().optional(),
    outputName: z.string().min(1).optional(),
    passageEncoderSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    queryScale: z.number().positive().optional(),
  })
  .strict();
export type RagEncoderFile = z.infer<typeof ragEncoderFileSchema>;

export const RAG_ENCODER_FILE = 'rag_encoder.json';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readTextFileSync(path, { expected: 'a JSON model config' })) as unknown;
  } catch (err) {
    if (err instanceof CorruptInputError) throw err; // not text at all: the shared wording
    throw new ModelLoadError(`cannot parse ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'the model directory looks damaged; export it again',
      details: { path },
    });
  }
}

function readJsonIfExists(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const v = readJson(path);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** Reads rag_encoder.json; absent → {}. */
export function readRagEncoderFile(dir: string): RagEncoderFile {
  const path = join(dir, RAG_ENCODER_FILE);
  if (!existsSync(path)) return {};
  const parsed = ragEncoderFileSchema.safeParse(readJson(path));
  if (!parsed.success) {
    throw new ConfigError(`${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: `allowed keys: ${Object.keys(ragEncoderFileSchema.shape).join(', ')}`,
      details: { path },
    });
  }
  return parsed.data;
}

/**
 * Decides every setting. Precedence: explicit options > rag_encoder.json > the model's own files
 * (sentence-transformers metadata, config.json) > built-in defaults.
 */
export function resolveEncoderSettings(opts: EncoderOptions): EncoderSettings {
  const dir = opts.dir;
  const sources: Record<string, string> = {};
  const file = readRagEncoderFile(dir);
  const config = readJsonIfExists(join(dir, 'config.json')) ?? {};
  const tokConfig = readJsonIfExists(join(dir, 'tokenizer_config.json')) ?? {};
  const sbert = readJsonIfExists(join(dir, 'sentence_bert_config.json'));
  const poolingCfg = readJsonIfExists(join(dir, '1_Pooling', 'config.json'));
  const modulesRaw = existsSync(join(dir, 'modules.json')) ? readJson(join(dir, 'modules.json')) : undefined;
  const modules = Array.isArray(modulesRaw) ? (modulesRaw as Array<Record<string, unknown>>) : undefined;
  const isSentenceTransformers = modules !== undefined || sbert !== undefined || poolingCfg !== undefined;

  // --- pooling
  let pooling: Pooling;
  if (opts.pooling) {
    pooling = opts.pooling;
    sources.pooling = 'options';
  } else if (file.pooling) {
    pooling = file.pooling;
    sources.pooling = RAG_ENCODER_FILE;
  } else if (poolingCfg) {
    if (poolingCfg.pooling_mode_mean_tokens === true) pooling = 'mean';
    else if (poolingCfg.pooling_mode_cls_token === true) pooling = 'cls';
    else {
      throw new ModelLoadError(`${join(dir, '1_Pooling', 'config.json')} asks for a pooling mode this encoder does not implement`, {
        hint: `only mean and CLS pooling are supported; set "pooling" in ${RAG_ENCODER_FILE} to override`,
        details: { pooling: poolingCfg },
      });
    }
    sources.pooling = '1_Pooling/config.json';
  } else {
    // No pooling module: a plain transformers export such as DPR, whose encoders emit the [CLS] state.
    pooling = 'cls';
    sources.pooling = 'default (no 1_Pooling/config.json)';
  }

  // --- normalize
  let normalize: boolean;
  const hasNormalizeModule = modules?.some((m) => typeof m.type === 'string' && m.type.endsWith('.Normalize')) ?? false;
  if (opts.normalize !== undefined) {
    normalize = opts.normalize;
    sources.normalize = 'options';
  } else if (file.normalize !== undefined) {
    normalize = file.normalize;
    sources.normalize = RAG_ENCODER_FILE;
  } else if (hasNormalizeModule) {
    normalize = true;
    sources.normalize = 'modules.json (Normalize module)';
  } else {
    // Mean-pooled sentence-transformers models are meant for cosine similarity; DPR's dot product is not.
    normalize = isSentenceTransformers && pooling === 'mean';
    sources.normalize = 'default';
  }

  // --- maxLength
  const maxPositions = positiveInt(config.max_position_embeddings);
  const tokMax = positiveInt(tokConfig.model_max_length);
  let maxLength: number;
  if (opts.maxLength !== undefined) {
    maxLength = opts.maxLength;
    sources.maxLength = 'options';
  } else if (file.maxLength !== undefined) {
    maxLength = file.maxLength;
    sources.maxLength = RAG_ENCODER_FILE;
  } else if (positiveInt(sbert?.max_seq_length) !== undefined) {
    maxLength = sbert!.max_seq_length as number;
    sources.maxLength = 'sentence_bert_config.json';
  } else if (maxPositions !== undefined) {
    // RoBERTa-style configs count two padding positions; tokenizer_config knows the usable length.
    maxLength = tokMax !== undefined && tokMax < maxPositions ? tokMax : maxPositions;
    sources.maxLength = 'config.json';
  } else {
    maxLength = 512;
    sources.maxLength = 'default';
  }
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new ConfigError(`encoder maxLength must be an integer >= 2, got ${maxLength}`, { hint: 'fix maxLength' });
  }
  if (maxPositions !== undefined && maxLength > maxPositions) {
    throw new ConfigError(`encoder maxLength ${maxLength} exceeds the model's ${maxPositions} position embeddings`, {
      hint: `use at most ${maxPositions}`,
    });
  }

  // --- passages
  let passageFormat: PassageFormat;
  if (opts.passageFormat) {
    passageFormat = opts.passageFormat;
    sources.passageFormat = 'options';
  } else if (file.passageFormat) {
    passageFormat = file.passageFormat;
    sources.passageFormat = RAG_ENCODER_FILE;
  } else {
    passageFormat = isSentenceTransformers ? 'concat' : 'pair';
    sources.passageFormat = 'default';
  }

  const executionProvider = opts.executionProvider ?? 'cpu';
  const intraOpThreads = opts.intraOpThreads ?? 0;
  const threading = opts.threading ?? 'lanes';
  if (threading !== 'lanes' && threading !== 'intra-op') {
    throw new ConfigError(`threading must be 'lanes' or 'intra-op', got ${String(threading)}`, { hint: "use 'lanes' (the default)" });
  }
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(intraOpThreads) || intraOpThreads < 0) {
    throw new ConfigError(`intraOpThreads must be an integer >= 0, got ${intraOpThreads}`, { hint: '0 lets ONNX Runtime decide' });
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`batchSize must be an integer >= 1, got ${batchSize}`, { hint: 'try 32' });
  }

  return {
    dir,
    executionProvider,
    intraOpThreads,
    threading,
    batchSize,
    maxLength,
    pooling,
    normalize,
    passageFormat,
    titleSeparator: file.titleSeparator ?? '. ',
    queryPrefix: file.queryPrefix ?? '',
    passagePrefix: file.passagePrefix ?? '',
    outputName: file.outputName,
    passageEncoderSha256: file.passageEncoderSha256,
    queryScale: file.queryScale ?? 1,
    sources,
  };
}
