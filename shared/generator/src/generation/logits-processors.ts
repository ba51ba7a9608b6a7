import type { DecodeOptions } from './decode-options.js';

/**
 * Rewrites next-token scores in place: `scores` is [rows, vocab] row-major, `sequences[r]` the tokens
 * row r holds so far (decoder start first). Mirrors transformers' LogitsProcessor.__call__.
 */
export type LogitsProcessor = (sequences: readonly (readonly number[])[], scores: Float32Array, vocab: number) => void;

/** Scores of tokens already in the row are scaled: negatives × penalty, positives ÷ penalty (CTRL). */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (seqs, scores, vocab) => {
    for (let r = 0; r < seqs.length; r++) {
      for (const t of new Set(seqs[r])) {
        const i = r * vocab + t;
        const s = scores[i]!;
        scores[i] = s < 0 ? s * penalty : s / penalty;
      }
    }
  };
}

/**
 * Bans any token that would complete an n-gram already present in the row (fairseq / HF
 * `_calc_banned_ngram_tokens`): look up the last n-1 tokens among earlier (n-1)-gram prefixes.
 */
export function noRepeatNgram(n: number): LogitsProcessor {
  return (seqs, scores, vocab) => {
    for (let r = 0; r < seqs.length; r++) {
      const s = seqs[r]!;
      const len = s.length;
      if (len + 1 < n) continue;
      const tail = s.slice(len + 1 - n, len);
      for (let i = 0; i + n <= len; i++) {
        let same = true;
        for (let j = 0; j < n - 1 && same; j++) same = s[i + j] === tail[j];
        if (same) scores[r * vocab + s[i + n - 1]!] = -Infinity;
      }
    }
  };
}

/** Below minLength tokens (decoder start included), no EOS. */
export function minLength(min: number, eos: readonly number[]): LogitsProcessor {
  return (seqs, scores, vocab) => {
    for (let r = 0; r < seqs.length; r++) {
      if (seqs[r]!.length >= min) continue;
      for (const e of eos) scores[r * vocab + e] = -Infinity;
    }
  };
}

/** The first generated token (sequence length 1) is forced: every other token -inf, it gets 0. */
export function forcedBos(bos: number): LogitsProcessor {
  return (seqs, scores, vocab) => forceAt(seqs, scores, vocab, 1, [bos]);
}

/** At length maxLength-1, the next (last possible) token is forced to EOS. */
export function forcedEos(maxLength: number, eos: readonly number[]): LogitsProcessor {
  return (seqs, scores, vocab) => forceAt(seqs, scores, vocab, maxLength - 1, eos);
}

function forceAt(seqs: readonly (readonly number[])[], scores: Float32Array, vocab: number, atLength: number, ids: readonly number[]): void {
  for (let r = 0; r < seqs.length; r++) {
    if (seqs[r]!.length !== atLength) continue;
    scores.fill(-Infinity, r * vocab, (r + 1) * vocab);
    for (const id of ids) scores[r * vocab + id] = 0;
  }
}

/** transformers' `_get_logits_processor` for the options we support, in its order. */
export function buildLogitsProcessors(o: DecodeOptions): LogitsProcessor[] {
  const ps: LogitsProcessor[] = [];
  if (o.repetitionPenalty !== 1) ps.push(repetitionPenalty(o.repetitionPenalty));
  if (o.noRepeatNgramSize > 0) ps.push(noRepeatNgram(o.noRepeatNgramSize));
  if (o.minLength > 0) ps.push(minLength(o.minLength, o.eosTokenIds));
  if (o.forcedBosTokenId !== null) ps.push(forcedBos(o.forcedBosTokenId));
  if (o.forcedEosTokenId !== null) ps.push(forcedEos(o.maxLength, o.forcedEosTokenId));
  return ps;
}

export function applyProcessors(ps: readonly LogitsProcessor[], seqs: readonly (readonly number[])[], scores: Float32Array, vocab: number): void {
  for (const p of ps) p(seqs, scores, vocab);
}
