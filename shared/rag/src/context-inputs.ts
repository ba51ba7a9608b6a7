import { UsageError } from '@rag/core';
import type { Seq2SeqTokenizer } from '@rag/generator';
import type { RagItem } from './types.js';

/** How passages and the question are joined into one generator input (HF RagConfig fields). */
export interface ContextFormat {
  /** @defaultValue ' / ' */
  titleSep?: string;
  /** @defaultValue ' // ' */
  docSep?: string;
  /** @defaultValue '' */
  prefix?: string;
  /** @defaultValue 300 */
  maxCombinedLength?: number;
}

/**
 * What the RAG math runs on, shaped like HF's tensors: B questions × K documents, context rows grouped
 * by question (row = b*K + j).
 */
export interface RagBatch {
  /** K, documents per question */
  nDocs: number;
  /** [B*K][maxCombinedLength], right-padded with <pad> */
  contextInputIds: number[][];
  /** [B*K][maxCombinedLength] */
  contextAttentionMask: number[][];
  /** [B][K] q·p */
  docScores: number[][];
  /** [B*K] the strings that were tokenized */
  contextStrings: string[];
}

/**
 * One generator input, exactly as HF RagRetriever.postprocess_docs builds it:
 * `(prefix + title.removeprefix('"').removesuffix('"') + title_sep + text + doc_sep + question).replace("  ", " ")`
 * (Python's replace, like replaceAll, is one left-to-right pass: three spaces become two).
 */
export function contextString(title: string, text: string, question: string, f: ContextFormat = {}): string {
  let t = title;
  if (t.startsWith('"')) t = t.slice(1);
  if (t.endsWith('"')) t = t.slice(0, -1);
  return ((f.prefix ?? '') + t + (f.titleSep ?? ' / ') + text + (f.docSep ?? ' // ') + question).replaceAll('  ', ' ');
}

/**
 * Builds the RagBatch for questions and their retrieved documents: context strings, then
 * `generator_tokenizer.batch_encode_plus(..., max_length=max_combined_length, padding="max_length", truncation=True)`.
 * Every question must come with the same number of documents (HF's n_docs).
 */
export function buildRagBatch(
  tokenizer: Seq2SeqTokenizer,
  items: readonly RagItem[],
  f: ContextFormat & { questionForGenerator?: (q: string) => string } = {},
): RagBatch {
  if (items.length === 0) throw new UsageError('no questions to answer');
  const K = items[0]!.docs.length;
  if (K === 0 || items.some((it) => it.docs.length !== K)) {
    throw new UsageError(`every question needs the same number (>= 1) of documents; got ${items.map((it) => it.docs.length).join(', ')}`, {
      hint: 'retrieve a fixed top-K per question',
    });
  }
  const qText = f.questionForGenerator ?? ((q: string) => q);
  const contextStrings = items.flatMap((it) => {
    const q = qText(it.question);
    return it.docs.map((d) => contextString(d.title, d.text, q, f));
  });
  const maxLength = f.maxCombinedLength ?? 300;
  const enc = tokenizer.encodeBatch(contextStrings, { maxLength, padding: 'max_length' });
  return {
    nDocs: K,
    contextInputIds: enc.inputIds,
    contextAttentionMask: enc.attentionMask,
    docScores: items.map((it) => it.docs.map((d) => d.score)),
    contextStrings,
  };
}
