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
    // Added tokens ([CLS], [SEP], ...) may live outside the model vocabulary; they win, as in encode().
    this.tokenToId = new Map();
    for (const [id, t] of this.tok.get_added_tokens_decoder()) this.tokenToId.set(t.content, id);
    const model = this.tok.model;
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
