import { UsageError } from '@rag/core';
import { Seq2SeqStepModel, resolveDecodeOptions, search } from '@rag/generator';
import type { DecodeOptions, Generator } from '@rag/generator';
import { buildRagBatch, type RagBatch } from './context-inputs.js';
import { docPrior } from './doc-scores.js';
import { ragSequencePosteriors, ragSequenceSearch } from './rag-sequence.js';
import { ragTokenPosteriors, ragTokenSearch } from './rag-token.js';
import type { RagAnswer, RagGenerateOptions, RagItem } from './types.js';

const MODES = ['rag-token', 'rag-sequence', 'rag-sequence-fast', 'no-retrieval'] as const;

/** The decoding options a RAG call implies, over the generator's own defaults. */
export function ragDecodeOptions(gen: Generator, opts: RagGenerateOptions): DecodeOptions {
  if (!MODES.includes(opts.mode)) throw new UsageError(`unknown RAG mode "${String(opts.mode)}"`, { hint: `use one of ${MODES.join(', ')}` });
  const numBeams = opts.beams ?? gen.config.numBeams;
  const n = opts.numReturnSequences ?? 1;
  // RAG-Sequence returns from the pooled K·beams candidates, so it may ask for more than `beams`.
  const sequenceMode = opts.mode === 'rag-sequence' || opts.mode === 'rag-sequence-fast';
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`numReturnSequences must be an integer >= 1, got ${n}`);
  const o = resolveDecodeOptions(gen.config, {
    numBeams,
    numReturnSequences: sequenceMode ? Math.min(n, numBeams) : n,
    maxLength: opts.maxLength,
    minLength: opts.minLength,
    noRepeatNgramSize: opts.noRepeatNgramSize,
    repetitionPenalty: opts.repetitionPenalty,
    lengthPenalty: opts.lengthPenalty,
    earlyStopping: opts.earlyStopping,
  });
  return sequenceMode ? { ...o, numReturnSequences: n } : o;
}

function tokenStrings(gen: Generator, ids: readonly number[]): string[] {
  return ids.map((id) => (gen.tokenizer.isSpecial(id) ? (gen.tokenizer.idToToken(id) ?? String(id)) : gen.tokenizer.decode([id], { skipSpecialTokens: false })));
}

function answer(gen: Generator, sequence: number[], fields: Omit<RagAnswer, 'answer' | 'tokenIds' | 'tokens' | 'sequence'>): RagAnswer {
  const tokenIds = sequence.slice(1);
  return { answer: gen.tokenizer.decode(tokenIds).trim(), tokenIds, tokens: tokenStrings(gen, tokenIds), sequence, ...fields };
}

/**
 * Answers questions from their retrieved documents with a RAG mode, on a batch already built
 * (context rows b*K + j; see buildRagBatch). Answers come question-major, numReturnSequences each.
 */
export async function ragGenerateFromBatch(gen: Generator, batch: RagBatch, opts: RagGenerateOptions): Promise<RagAnswer[]> {
  if (opts.mode === 'no-retrieval') throw new UsageError('no-retrieval has no context batch; call ragGenerate');
  const o = ragDecodeOptions(gen, opts);
  const enc = await gen.encode(batch.contextInputIds, batch.contextAttentionMask);
  const out: RagAnswer[] = [];
  if (opts.mode === 'rag-token') {
    const res = await ragTokenSearch(gen, enc, batch, o);
    res.hypotheses.forEach((hs, b) =>
      hs.forEach((h, rank) =>
        out.push(
          answer(gen, h.tokens, {
            score: h.transitionScores.reduce((a, c) => a + c, 0),
            beamScore: o.numBeams > 1 ? h.score : undefined,
            docPosteriors: ragTokenPosteriors(h.annotations),
            docPrior: docPrior(batch.docScores[b]!),
            questionIndex: b,
            rank,
          }),
        ),
      ),
    );
    return out;
  }
  const decoding = opts.mode === 'rag-sequence' ? 'thorough' : 'fast';
  const res = await ragSequenceSearch(gen, enc, batch, o, { decoding, dedup: opts.dedup });
  res.forEach((q, b) =>
    q.top.forEach((ci, rank) => {
      const c = q.candidates[ci]!;
      out.push(
        answer(gen, c.tokens, {
          score: c.score,
          docLoglik: c.docLoglik,
          docPosteriors: ragSequencePosteriors(c, batch.docScores[b]!, decoding),
          docPrior: docPrior(batch.docScores[b]!),
          questionIndex: b,
          rank,
        }),
      );
    }),
  );
  return out;
}

/** The baseline: the generator alone on the (prefixed) question, no documents. */
export async function noRetrievalGenerate(gen: Generator, items: readonly RagItem[], opts: RagGenerateOptions): Promise<RagAnswer[]> {
  const o = ragDecodeOptions(gen, opts);
  const q = opts.questionForGenerator ?? ((s: string) => s);
  const batch = gen.tokenizer.encodeBatch(
    items.map((it) => (opts.prefix ?? '') + q(it.question)),
    { maxLength: opts.maxCombinedLength ?? gen.tokenizer.modelMaxLength },
  );
  const enc = await gen.encode(batch.inputIds, batch.attentionMask);
  const encRows = Array.from({ length: items.length * o.numBeams }, (_, i) => Math.floor(i / o.numBeams));
  const res = await search(new Seq2SeqStepModel(gen, gen.startDecoding(enc, encRows)), items.length, o);
  return res.hypotheses.flatMap((hs, b) =>
    hs.map((h, rank) =>
      answer(gen, h.tokens, {
        score: h.transitionScores.reduce((a, c) => a + c, 0),
        beamScore: o.numBeams > 1 ? h.score : undefined,
        docPosteriors: [],
        docPrior: [],
        questionIndex: b,
        rank,
      }),
    ),
  );
}

/**
 * Answers each question from its retrieved documents (`docs[j].score` = q·p) with the given RAG mode.
 * Returns items.length × numReturnSequences answers, question-major, best first within a question.
 */
export async function ragGenerate(gen: Generator, items: RagItem[], opts: RagGenerateOptions): Promise<RagAnswer[]> {
  if (items.length === 0) return [];
  if (opts.mode === 'no-retrieval') return noRetrievalGenerate(gen, items, opts);
  // HF's default max_combined_length (300), but never past the generator's own position limit.
  const maxCombinedLength = opts.maxCombinedLength ?? Math.min(300, gen.tokenizer.modelMaxLength);
  const batch = buildRagBatch(gen.tokenizer, items, { ...opts, maxCombinedLength });
  return ragGenerateFromBatch(gen, batch, opts);
}
