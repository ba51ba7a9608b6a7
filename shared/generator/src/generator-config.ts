import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptInputError, ModelLoadError, readTextFileSync } from '@rag/core';

/**
 * Decoding defaults of a seq2seq model, as transformers resolves them: GenerationConfig's built-in
 * defaults, overridden by generation keys in config.json, overridden by generation_config.json.
 * Names are camelCase versions of the transformers fields.
 */
export interface GenerationDefaults {
  decoderStartTokenId: number;
  bosTokenId: number | null;
  /** One or more ids that end a hypothesis (transformers accepts an int or a list). */
  eosTokenIds: number[];
  padTokenId: number;
  /** BART/mBART force `<s>` as the first generated token; T5 forces nothing. */
  forcedBosTokenId: number | null;
  forcedEosTokenId: number[] | null;
  /** Total decoder length including the decoder start token. */
  maxLength: number;
  minLength: number;
  noRepeatNgramSize: number;
  repetitionPenalty: number;
  lengthPenalty: number;
  numBeams: number;
  /** false = transformers' heuristic, true = stop once num_beams hypotheses are done, 'never' = canonical. */
  earlyStopping: boolean | 'never';
}

/** What the generator's graphs look like, from config.json. */
export interface ModelShape {
  modelType: string;
  vocabSize: number;
  decoderLayers: number;
  numHeads: number;
  headDim: number;
  dModel: number;
}

export type GeneratorConfig = GenerationDefaults & ModelShape;

/** transformers.GenerationConfig defaults (4.57) for the fields we use. */
const HF_DEFAULTS = {
  max_length: 20,
  min_length: 0,
  no_repeat_ngram_size: 0,
  repetition_penalty: 1.0,
  length_penalty: 1.0,
  num_beams: 1,
  early_stopping: false,
} as const;

const GENERATION_KEYS = [
  'decoder_start_token_id',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'forced_bos_token_id',
  'forced_eos_token_id',
  ...Object.keys(HF_DEFAULTS),
] as const;

type Json = Record<string, unknown>;

function readJson(path: string): Json {
  try {
    const v = JSON.parse(readTextFileSync(path, { expected: 'a JSON model config' })) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (err) {
    if (err instanceof CorruptInputError) throw err; // not text at all: the shared wording
    throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'export the generator again (python -m modelkit export-seq2seq)',
    });
  }
}

function intOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

function idList(v: unknown): number[] | null {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x))) return v as number[];
  return null;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** Model shape for the architectures the Optimum seq2seq layout covers here (BART family, T5 family). */
export function modelShape(config: Json, where: string): ModelShape {
  const modelType = typeof config.model_type === 'string' ? config.model_type : '';
  const vocabSize = intOrNull(config.vocab_size);
  const dModel = intOrNull(config.d_model);
  let decoderLayers: number | null;
  let numHeads: number | null;
  let headDim: number | null;
  if (modelType === 't5' || modelType === 'mt5' || modelType === 'umt5') {
    decoderLayers = intOrNull(config.num_decoder_layers) ?? intOrNull(config.num_layers);
    numHeads = intOrNull(config.num_heads);
    headDim = intOrNull(config.d_kv);
  } else {
    decoderLayers = intOrNull(config.decoder_layers);
    numHeads = intOrNull(config.decoder_attention_heads);
    headDim = numHeads && dModel ? dModel / numHeads : null;
  }
  if (!vocabSize || !dModel || !decoderLayers || !numHeads || !headDim || !Number.isInteger(headDim)) {
    throw new ModelLoadError(`${where}: cannot read the decoder shape of model_type "${modelType}"`, {
      hint: 'a BART- or T5-style config.json is required (vocab_size, d_model, decoder layers and heads)',
      details: { modelType, vocabSize, dModel, decoderLayers, numHeads, headDim },
    });
  }
  return { modelType, vocabSize, decoderLayers, numHeads, headDim, dModel };
}

/**
 * Merges config.json and generation_config.json the way transformers does and fills the gaps it fills:
 * pad falls back to the first eos, decoder start to bos.
 */
export function resolveGenerationDefaults(config: Json, generationConfig: Json | undefined, where: string): GenerationDefaults {
  const merged: Json = { ...HF_DEFAULTS };
  for (const k of GENERATION_KEYS) if (config[k] !== undefined && config[k] !== null) merged[k] = config[k];
  if (generationConfig) for (const k of GENERATION_KEYS) if (generationConfig[k] !== undefined) merged[k] = generationConfig[k];

  const eosTokenIds = idList(merged.eos_token_id);
  if (!eosTokenIds) {
    throw new ModelLoadError(`${where}: no eos_token_id in config.json or generation_config.json`, {
      hint: 'a generator needs an end-of-sequence token to stop',
    });
  }
  const bosTokenId = intOrNull(merged.bos_token_id);
  const padTokenId = intOrNull(merged.pad_token_id) ?? eosTokenIds[0]!;
  const decoderStartTokenId = intOrNull(merged.decoder_start_token_id) ?? bosTokenId;
  if (decoderStartTokenId === null) {
    throw new ModelLoadError(`${where}: neither decoder_start_token_id nor bos_token_id is set`, {
      hint: 'set decoder_start_token_id in generation_config.json',
    });
  }
  const es = merged.early_stopping;
  return {
    decoderStartTokenId,
    bosTokenId,
    eosTokenIds,
    padTokenId,
    forcedBosTokenId: intOrNull(merged.forced_bos_token_id),
    forcedEosTokenId: idList(merged.forced_eos_token_id),
    maxLength: num(merged.max_length, HF_DEFAULTS.max_length),
    minLength: num(merged.min_length, HF_DEFAULTS.min_length),
    noRepeatNgramSize: num(merged.no_repeat_ngram_size, 0),
    repetitionPenalty: num(merged.repetition_penalty, 1),
    lengthPenalty: num(merged.length_penalty, 1),
    numBeams: num(merged.num_beams, 1),
    earlyStopping: es === 'never' ? 'never' : es === true,
  };
}

/** Reads config.json (required) and generation_config.json (optional) from a model directory. */
export function readGeneratorConfig(dir: string): GeneratorConfig {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) {
    throw new ModelLoadError(`no config.json in ${dir}`, {
      hint: 'export the generator with python -m modelkit export-seq2seq (Optimum layout)',
      details: { dir, missing: [cfgPath] },
    });
  }
  const config = readJson(cfgPath);
  const genPath = join(dir, 'generation_config.json');
  const gen = existsSync(genPath) ? readJson(genPath) : undefined;
  return { ...modelShape(config, cfgPath), ...resolveGenerationDefaults(config, gen, dir) };
}
