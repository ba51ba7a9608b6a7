import { Tokenizer } from '@huggingface/tokenizers';
import { ModelLoadError } from '@rag/core';

/** One tokenized input: ids and segment ids, special tokens included, already truncated. */
export interface TokenizedInput {
  ids: Int32Array;
  typeIds: Uint8Array;
}

/**
 * Wraps @huggingface/tokenizers with the one thing it lacks: truncation. We tokenize without special
 * tokens, cut the content so that content + specials fits maxLength (longest-first for pairs, as the
 * Rust tokenizers do), then let the tokenizer's own post-processor add [CLS]/[SEP] and segment ids.
 */
export class TextTokenizer {
  readonly padId: number;
  private readonly tok: Tokenizer;
  private readonly tokenToId: Map<string, number>;
  private readonly unkId: number;
  private readonly specialsSingle: number;
  private readonly specialsPair: number;

  constructor(
    tokenizerJson: object,
    tokenizerConfig: object,
    readonly maxLength: number,
  ) {
    this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    memoizeWordPiece(this.tok);
    // One map for every token: the model vocabulary, then the added tokens ([CLS], [SEP], ...), which may
    // live outside it and win, as in encode(). An added token marked `normalized` is matched after
    // normalisation ("[PAD]" in a text comes out as "[pad]" from a lower-casing tokenizer), so its
    // normalised form maps to it too, as in encode().
    const model = this.tok.model;
    const normalizer = this.tok.normalizer;
    this.tokenToId = new Map(model?.tokens_to_ids ?? []);
    for (const [id, t] of this.tok.get_added_tokens_decoder()) {
      this.tokenToId.set(t.content, id);
      if (t.normalized && normalizer) this.tokenToId.set(normalizer(t.content), id);
    }
    this.unkId = model?.unk_token_id ?? 0;
    this.specialsSingle = this.postProcess([], null).ids.length;
    this.specialsPair = this.postProcess([], []).ids.length;
    if (this.specialsSingle >= maxLength || this.specialsPair >= maxLength) {
      throw new ModelLoadError(`maxLength ${maxLength} leaves no room for text after the special tokens`, {
        hint: 'raise maxLength',
      });
    }
    const cfg = tokenizerConfig as Record<string, unknown>;
    const padToken = tokenContent(cfg.pad_token) ?? padTokenFromJson(tokenizerJson);
    this.padId = (padToken !== undefined ? this.idOf(padToken) : undefined) ?? 0;
  }

  private idOf(token: string): number | undefined {
    return this.tokenToId.get(token) ?? this.tok.token_to_id(token);
  }

  private postProcess(a: string[], b: string[] | null): TokenizedInput {
    let tokens: string[];
    let types: number[] | undefined;
    const pp = this.tok.post_processor;
    if (pp) {
      const out = pp(a, b, true);
      tokens = out.tokens;
      // Some post-processors (ByteLevel) hand the pair back unmerged.
      if (out.tokens_pair && b) tokens = tokens.concat(out.tokens_pair);
      types = out.token_type_ids;
    } else {
      tokens = b ? a.concat(b) : a;
    }
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.idOf(tokens[i]!) ?? this.unkId;
    const typeIds = new Uint8Array(tokens.length);
    if (types && types.length === tokens.length) typeIds.set(types);
    else if (b) typeIds.fill(1, tokens.length - b.length);
    return { ids, typeIds };
  }

  /** Tokenizes one text, or a (first, second) pair, truncated to maxLength tokens in all. */
  encode(text: string, pair?: string): TokenizedInput {
    let a = this.tok.tokenize(text, { add_special_tokens: false });
    if (pair === undefined) {
      const budget = this.maxLength - this.specialsSingle;
      if (a.length > budget) a = a.slice(0, budget);
      return this.postProcess(a, null);
    }
    let b = this.tok.tokenize(pair, { add_special_tokens: false });
    const budget = this.maxLength - this.specialsPair;
    if (a.length + b.length > budget) {
      const [na, nb] = longestFirst(a.length, b.length, budget);
      a = a.slice(0, na);
      b = b.slice(0, nb);
    }
    return this.postProcess(a, b);
  }
}

/** Distinct words remembered per tokenizer; the cache starts over when full (a Wikipedia shard has far fewer). */
export const WORD_PIECE_CACHE_LIMIT = 200_000;

/**
 * Remembers the word pieces of each pre-tokenized word. @huggingface/tokenizers' WordPiece encodes every
 * word from scratch by trying ever shorter prefixes (a string join per try), which is most of the
 * tokenizer's time on 100-word passages, and so most of a static encoder's. WordPiece encodes the words
 * of a text independently, so pieces(words) = concat(pieces([w]) for w in words) and a cache per word
 * returns exactly what the model would. Other model types (BPE, Unigram) are left alone.
 */
function memoizeWordPiece(tok: Tokenizer): void {
  const model = tok.model;
  if (!model || model.config.type !== 'WordPiece') return;
  const encodeWords = model.encode.bind(model);
  const cache = new Map<string, string[]>();
  model.encode = (words: string[]): string[] => {
    const out: string[] = [];
    for (const w of words) {
      let pieces = cache.get(w);
      if (pieces === undefined) {
        pieces = encodeWords([w]);
        if (cache.size >= WORD_PIECE_CACHE_LIMIT) cache.clear();
        cache.set(w, pieces);
      }
      for (const p of pieces) out.push(p);
    }
    return out;
  };
}

/**
 * Lengths to keep for a pair under a budget: the shorter side stays whole if it fits in half,
 * the longer gets the rest; if both are long, they split the budget (the longer gets the odd token).
 */
export function longestFirst(la: number, lb: number, budget: number): [number, number] {
  if (la + lb <= budget) return [la, lb];
  const aShorter = la <= lb;
  const short = aShorter ? la : lb;
  let keepShort = short;
  let keepLong = Math.max(short, budget - short);
  if (keepShort + keepLong > budget) {
    keepShort = Math.floor(budget / 2);
    keepLong = keepShort + (budget % 2);
  }
  return aShorter ? [keepShort, keepLong] : [keepLong, keepShort];
}

/** tokenizer_config.json writes special tokens as strings or as {content: ...}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

function padTokenFromJson(tokenizerJson: object): string | undefined {
  const padding = (tokenizerJson as { padding?: { pad_token?: unknown } }).padding;
  return typeof padding?.pad_token === 'string' ? padding.pad_token : undefined;
}
