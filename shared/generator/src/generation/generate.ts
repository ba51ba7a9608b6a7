import type { EncoderStates, Generator } from '../generator.js';
import type { TokenBatch } from '../seq2seq-tokenizer.js';
import { beamSearch } from './beam-search.js';
import { resolveDecodeOptions, type DecodeOptions, type DecodeOverrides } from './decode-options.js';
import { greedySearch } from './greedy-search.js';
import { Seq2SeqStepModel } from './seq2seq-step-model.js';
import type { SearchResult, StepModel } from './step-model.js';

export interface GeneratedSequence {
  /** Decoder start token first, as transformers returns them; no trailing padding. */
  tokenIds: number[];
  /** Decoded without special tokens. */
  text: string;
  /** Beam: transformers' sequences_scores (length-penalised); greedy: Σ transitionScores. */
  score: number;
  /** Processed log-prob of each generated token (forced tokens 0). */
  transitionScores: number[];
  /** Unprocessed log p(y_t | x, y_<t) of each generated token. */
  tokenLogprobs: number[];
}

export interface GenerateResult {
  /** transformers' `generate()` output: batch-major rows, padded to the longest. */
  sequences: number[][];
  /** [input][rank] */
  results: GeneratedSequence[][];
}

/** Greedy for numBeams 1, beam search otherwise, over any StepModel whose rows are already laid out. */
export function search<A>(model: StepModel<A>, batchSize: number, o: DecodeOptions): Promise<SearchResult<A>> {
  return o.numBeams === 1 ? greedySearch(model, batchSize, o) : beamSearch(model, batchSize, o);
}

/** Decodes from encoder states already computed (one row per input); rows are repeated per beam. */
export async function generateFromEncoder(gen: Generator, enc: EncoderStates, overrides: DecodeOverrides = {}): Promise<SearchResult<number>> {
  const o = resolveDecodeOptions(gen.config, overrides);
  const encRows = Array.from({ length: enc.rows * o.numBeams }, (_, i) => Math.floor(i / o.numBeams));
  const model = new Seq2SeqStepModel(gen, gen.startDecoding(enc, encRows));
  return search(model, enc.rows, o);
}

/**
 * transformers' `model.generate(input_ids, attention_mask, **kwargs)` for an encoder-decoder: texts are
 * tokenized with the generator's tokenizer (padded to the longest), or a pre-tokenized batch is used.
 */
export async function generate(gen: Generator, input: string[] | TokenBatch, overrides: DecodeOverrides = {}): Promise<GenerateResult> {
  const batch = Array.isArray(input) ? gen.tokenizer.encodeBatch(input) : input;
  const enc = await gen.encode(batch.inputIds, batch.attentionMask);
  const res = await generateFromEncoder(gen, enc, overrides);
  return {
    sequences: res.sequences,
    results: res.hypotheses.map((hs) =>
      hs.map((h) => ({
        tokenIds: h.tokens,
        text: gen.tokenizer.decode(h.tokens),
        score: h.score,
        transitionScores: h.transitionScores,
        tokenLogprobs: h.annotations,
      })),
    ),
  };
}
