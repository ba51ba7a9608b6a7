import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { CorruptInputError, ModelLoadError, UsageError, readTextFileSync } from '@rag/core';
import { TextTokenizer } from '@rag/encoder';

/** A padded batch: every row has the same length; mask 1 = real token. */
export interface TokenBatch {
  inputIds: number[][];
  attentionMask: number[][];
}

export interface BatchEncodeOptions {
  /** Token limit incl. special tokens. @defaultValue the tokenizer's model_max_length */
  maxLength?: number;
  /** 'longest' pads to the longest row, 'max_length' to maxLength (HF RagRetriever uses the latter). */
  padding?: 'longest' | 'max_length';
}

/**
 * The generator's tokenizer: encode with the model's special tokens (BART `<s> … </s>`, T5 `… </s>`),
 * truncated as transformers truncates (content cut, specials kept), right-padded; decode back to text.
 * Encoding reuses @rag/encoder's TextTokenizer so the encoder and generator agree on truncation.
 */
export class Seq2SeqTokenizer {
  readonly padId: number;
  readonly modelMaxLength: number;
  private readonly tok: Tokenizer;
  private readonly byMaxLength = new Map<number, TextTokenizer>();
  private readonly specialIds: Set<number>;

  constructor(
    private readonly tokenizerJson: object,
    private readonly tokenizerConfig: Record<string, unknown>,
    modelMaxLength: number,
  ) {
    this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.modelMaxLength = modelMaxLength;
    this.padId = this.textTokenizer(modelMaxLength).padId;
    this.specialIds = new Set([...this.tok.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  private textTokenizer(maxLength: number): TextTokenizer {
    let t = this.byMaxLength.get(maxLength);
    if (!t) {
      t = new TextTokenizer(this.tokenizerJson, this.tokenizerConfig, maxLength);
      this.byMaxLength.set(maxLength, t);
    }
    return t;
  }

  /** Ids of one text with special tokens, truncated to maxLength. */
  encode(text: string, maxLength = this.modelMaxLength): number[] {
    return [...this.textTokenizer(maxLength).encode(text).ids];
  }

  /** transformers' batch_encode_plus(texts, truncation=True, padding=…, max_length=…). */
  encodeBatch(texts: string[], opts: BatchEncodeOptions = {}): TokenBatch {
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    const rows = texts.map((t) => this.encode(t, maxLength));
    const width = opts.padding === 'max_length' ? maxLength : Math.max(1, ...rows.map((r) => r.length));
    return {
      inputIds: rows.map((r) => r.concat(new Array<number>(width - r.length).fill(this.padId))),
      attentionMask: rows.map((r) => r.map(() => 1).concat(new Array<number>(width - r.length).fill(0))),
    };
  }

  /** Text of token ids; special tokens (`<s>`, `</s>`, `<pad>`) dropped by default, as generate() callers do. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? true });
  }

  /** The vocabulary entry of one id (byte-level pieces look like `Ġword`); for per-token displays use decode([id]). */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }
}

/** Loads tokenizer.json (+ tokenizer_config.json) from a generator directory. */
export function loadSeq2SeqTokenizer(dir: string, fallbackMaxLength: number): Seq2SeqTokenizer {
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) {
    throw new ModelLoadError(`no tokenizer.json in ${dir}`, {
      hint: 'export the generator with its fast tokenizer (python -m modelkit export-seq2seq)',
      details: { dir, missing: [tokPath] },
    });
  }
  const cfgPath = join(dir, 'tokenizer_config.json');
  let json: object;
  let cfg: Record<string, unknown> = {};
  try {
    json = JSON.parse(readTextFileSync(tokPath, { expected: 'a tokenizer.json' })) as object;
    if (existsSync(cfgPath)) cfg = JSON.parse(readTextFileSync(cfgPath, { expected: 'a JSON tokenizer config' })) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof CorruptInputError) throw err; // not text at all: the shared wording
    throw new ModelLoadError(`cannot parse the tokenizer files in ${dir}: ${(err as Error).message}`, {
      cause: err,
      hint: 'export the generator again',
    });
  }
  const cfgMax = cfg.model_max_length;
  // transformers writes a huge sentinel when the model sets no limit.
  const maxLength = typeof cfgMax === 'number' && Number.isInteger(cfgMax) && cfgMax > 0 && cfgMax < 1e6 ? cfgMax : fallbackMaxLength;
  try {
    return new Seq2SeqTokenizer(json, cfg, maxLength);
  } catch (err) {
    if (err instanceof ModelLoadError || err instanceof UsageError) throw err;
    throw new ModelLoadError(`@huggingface/tokenizers cannot build the tokenizer in ${tokPath}: ${(err as Error).message}`, {
      cause: err,
      hint: 'export the tokenizer again with a recent transformers release',
    });
  }
}
