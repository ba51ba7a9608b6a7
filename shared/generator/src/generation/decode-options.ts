import { UsageError } from '@rag/core';
import type { GenerationDefaults } from '../generator-config.js';

/** Every knob of one generate call, resolved (the generator's config filled in under explicit overrides). */
export interface DecodeOptions {
  decoderStartTokenId: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number;
  forcedBosTokenId: number | null;
  forcedEosTokenId: number[] | null;
  /** Total decoder length including the decoder start token (transformers' max_length for seq2seq). */
  maxLength: number;
  minLength: number;
  noRepeatNgramSize: number;
  repetitionPenalty: number;
  lengthPenalty: number;
  earlyStopping: boolean | 'never';
  /** 1 = greedy */
  numBeams: number;
  /** Sequences kept per input (≤ numBeams). */
  numReturnSequences: number;
}

export type DecodeOverrides = Partial<DecodeOptions>;

export function resolveDecodeOptions(defaults: GenerationDefaults, overrides: DecodeOverrides = {}): DecodeOptions {
  const o: DecodeOptions = {
    decoderStartTokenId: defaults.decoderStartTokenId,
    bosTokenId: defaults.bosTokenId,
    eosTokenIds: defaults.eosTokenIds,
    padTokenId: defaults.padTokenId,
    forcedBosTokenId: defaults.forcedBosTokenId,
    forcedEosTokenId: defaults.forcedEosTokenId,
    maxLength: defaults.maxLength,
    minLength: defaults.minLength,
    noRepeatNgramSize: defaults.noRepeatNgramSize,
    repetitionPenalty: defaults.repetitionPenalty,
    lengthPenalty: defaults.lengthPenalty,
    earlyStopping: defaults.earlyStopping,
    numBeams: defaults.numBeams,
    numReturnSequences: 1,
  };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  const problems: string[] = [];
  if (!Number.isInteger(o.numBeams) || o.numBeams < 1) problems.push(`numBeams must be an integer >= 1, got ${o.numBeams}`);
  if (!Number.isInteger(o.numReturnSequences) || o.numReturnSequences < 1 || o.numReturnSequences > o.numBeams) {
    problems.push(`numReturnSequences must be between 1 and numBeams (${o.numBeams}), got ${o.numReturnSequences}`);
  }
  if (!Number.isInteger(o.maxLength) || o.maxLength < 2) problems.push(`maxLength must be an integer >= 2, got ${o.maxLength}`);
  if (o.eosTokenIds.length === 0) problems.push('eosTokenIds is empty');
  if (!(o.repetitionPenalty > 0)) problems.push(`repetitionPenalty must be > 0, got ${o.repetitionPenalty}`);
  if (problems.length > 0) throw new UsageError(`invalid decoding options: ${problems.join('; ')}`, { hint: 'fix the generate options' });
  return o;
}
