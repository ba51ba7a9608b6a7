import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from '@rag/core';

/**
 * The two ways Optimum (and our modelkit exporter) ship a seq2seq decoder:
 * - 'split': decoder_model.onnx for the first step (no cache in) and decoder_with_past_model.onnx after;
 * - 'merged': decoder_model_merged.onnx with both graphs behind an If on `use_cache_branch`
 *   (what transformers.js loads; one set of weights in memory).
 */
export type DecoderLayout = 'split' | 'merged';

export interface OnnxFiles {
  layout: DecoderLayout;
  encoder: string;
  /** split: decoder_model.onnx; merged: decoder_model_merged.onnx */
  decoder: string;
  /** split only */
  decoderWithPast?: string;
  /**
   * split only, optional (our exporter writes it for BART): the with-past decoder taking cross-attention
   * caches once per encoder row, for beam search (see services/modelkit grouped_decoder.py).
   */
  decoderWithPastGrouped?: string;
}

export const ENCODER_FILE = 'encoder_model.onnx';
export const DECODER_FILE = 'decoder_model.onnx';
export const DECODER_WITH_PAST_FILE = 'decoder_with_past_model.onnx';
export const DECODER_MERGED_FILE = 'decoder_model_merged.onnx';
export const DECODER_WITH_PAST_GROUPED_FILE = 'decoder_with_past_grouped_model.onnx';

export function seq2seqExportHint(dir: string): string {
  return `export a seq2seq model into ${dir}: \`python -m modelkit export-seq2seq\` (services/modelkit) or \`optimum-cli export onnx --task text2text-generation-with-past\``;
}

/**
 * Finds the ONNX files in `dir/onnx/` (Hub layout) or `dir/` (optimum-cli output). With both decoder
 * layouts present, split wins unless `prefer` says otherwise: it skips the If node on every step.
 */
export function findOnnxFiles(dir: string, prefer?: DecoderLayout): OnnxFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelLoadError(`generator directory ${dir} does not exist`, { hint: seq2seqExportHint(dir), details: { dir } });
  }
  const looked: string[] = [];
  for (const base of [join(dir, 'onnx'), dir]) {
    const p = (f: string) => join(base, f);
    const encoder = p(ENCODER_FILE);
    looked.push(encoder);
    if (!existsSync(encoder)) continue;
    const split = existsSync(p(DECODER_FILE)) && existsSync(p(DECODER_WITH_PAST_FILE));
    const merged = existsSync(p(DECODER_MERGED_FILE));
    const layout: DecoderLayout | undefined = prefer && (prefer === 'split' ? split : merged) ? prefer : split ? 'split' : merged ? 'merged' : undefined;
    if (layout === 'split') {
      const grouped = p(DECODER_WITH_PAST_GROUPED_FILE);
      return { layout, encoder, decoder: p(DECODER_FILE), decoderWithPast: p(DECODER_WITH_PAST_FILE), ...(existsSync(grouped) ? { decoderWithPastGrouped: grouped } : {}) };
    }
    if (layout === 'merged') return { layout, encoder, decoder: p(DECODER_MERGED_FILE) };
    throw new ModelLoadError(
      `${base} has ${ENCODER_FILE} but no decoder: need ${DECODER_MERGED_FILE}, or ${DECODER_FILE} + ${DECODER_WITH_PAST_FILE}`,
      { hint: seq2seqExportHint(dir), details: { dir: base } },
    );
  }
  throw new ModelLoadError(`no ${ENCODER_FILE} in ${dir} (looked for ${looked.join(', ')})`, {
    hint: seq2seqExportHint(dir),
    details: { dir, missing: looked },
  });
}
