import { ModelLoadError, UsageError } from '@rag/core';
import { buildFeeds, LITTLE_ENDIAN, type BatchFeeds, type IntType, type PoolSpec } from './batch-feeds.js';
import type { BatchRunner } from './batch-runner.js';
import type { EncoderSettings } from './encoder-options.js';
import { l2NormalizeRows } from './pooling.js';
import type { TextTokenizer, TokenizedInput } from './text-tokenizer.js';

export interface PassageInput {
  title: string;
  text: string;
}

/** What loadEncoder hands the Encoder; not for direct use. */
export interface EncoderParts {
  name: string;
  sha256: string;
  modelPath: string;
  settings: EncoderSettings;
  /** The session (or the lanes of sessions) that runs batches. */
  runner: BatchRunner;
  tokenizer: TextTokenizer;
  /**
   * The graph quantizes activations dynamically (DynamicQuantizeLinear: one scale per call, over
   * every row of the batch), so a row's vector would depend on its batch neighbours. Such models
   * run one text per call: a passage's vector is then a function of the passage alone, which
   * incremental builds (embeddings reused from a base snapshot) and reproducible answers need.
   */
  rowDependentBatches?: boolean;
}

/** Tokens (rows x padded length) a lane is sent per message, at most. */
const GROUP_TOKENS = 4096;

/**
 * A sentence/passage encoder over one ONNX model. encode() returns row-major [n, dim] float32.
 * Inputs are sorted by token length and batched so each batch pads only to its own longest text,
 * then rows are written back in the caller's order.
 */
export class Encoder {
  readonly name: string;
  /** sha256 of the ONNX file: identifies the embedding space in manifests. */
  readonly sha256: string;
  readonly modelPath: string;
  readonly maxLength: number;
  readonly settings: EncoderSettings;
  private readonly runner: BatchRunner;
  private readonly tokenizer: TextTokenizer;
  private readonly inputType: IntType;
  private readonly hasTokenTypes: boolean;
  private readonly outputName: string;
  private _dim = 0;
  private released = false;
  /** Texts per ONNX call: settings.batchSize, or 1 for graphs whose rows depend on their batch. */
  readonly callBatchSize: number;

  constructor(parts: EncoderParts) {
    this.name = parts.name;
    this.sha256 = parts.sha256;
    this.modelPath = parts.modelPath;
    this.settings = parts.settings;
    this.maxLength = parts.settings.maxLength;
    this.runner = parts.runner;
    this.tokenizer = parts.tokenizer;
    this.callBatchSize = parts.rowDependentBatches ? 1 : parts.settings.batchSize;

    const inputs = new Map(this.runner.inputMetadata.map((m) => [m.name, m]));
    const unknown = [...inputs.keys()].filter((n) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(n));
    if (!inputs.has('input_ids') || !inputs.has('attention_mask') || unknown.length > 0) {
      throw new ModelLoadError(`${this.modelPath} has inputs [${[...inputs.keys()].join(', ')}]; expected input_ids, attention_mask and optionally token_type_ids`, {
        hint: 'export a feature-extraction encoder (optimum-cli export onnx --task feature-extraction)',
      });
    }
    const idMeta = inputs.get('input_ids')!;
    const idType = idMeta.isTensor ? idMeta.type : 'int64';
    if (idType !== 'int64' && idType !== 'int32') {
      throw new ModelLoadError(`${this.modelPath}: input_ids is ${idType}, expected int64 or int32`, { hint: 'export the model again' });
    }
    if (idType === 'int64' && !LITTLE_ENDIAN) {
      throw new ModelLoadError('this encoder packs int64 inputs assuming a little-endian CPU', { hint: 'run on x86_64 or arm64' });
    }
    this.inputType = idType;
    // BERT exports take segment ids; DistilBERT/MPNet-style exports do not, and reject extra inputs.
    this.hasTokenTypes = inputs.has('token_type_ids');

    const outs = this.runner.outputNames;
    const wanted = parts.settings.outputName;
    if (wanted && !outs.includes(wanted)) {
      throw new ModelLoadError(`${this.modelPath} has no output "${wanted}" (outputs: ${outs.join(', ')})`, {
        hint: 'fix outputName in rag_encoder.json',
      });
    }
    this.outputName = wanted ?? (outs.includes('last_hidden_state') ? 'last_hidden_state' : outs[0]!);
    const outMeta = this.runner.outputMetadata.find((m) => m.name === this.outputName);
    if (outMeta?.isTensor && outMeta.type !== 'float32') {
      throw new ModelLoadError(`${this.modelPath}: output ${this.outputName} is ${outMeta.type}; only float32 outputs are supported`, {
        hint: 'export in fp32 (or int8 dynamic quantization, whose outputs stay float32)',
      });
    }
  }

  /** Embedding width; known after the first forward pass (loadEncoder runs one). */
  get dim(): number {
    return this._dim;
  }

  get pooling(): EncoderSettings['pooling'] {
    return this.settings.pooling;
  }

  get normalize(): boolean {
    return this.settings.normalize;
  }

  /** Factor on query vectors (rag_encoder.json queryScale; 1 = none). */
  get queryScale(): number {
    return this.settings.queryScale;
  }

  /** Encodes plain texts as they are (no prefixes). */
  async encode(texts: string[]): Promise<Float32Array> {
    return this.encodeTokenized(texts.map((t) => this.tokenizer.encode(t)));
  }

  /** Encodes queries, with the model's query prefix if rag_encoder.json sets one. */
  async encodeQueries(qs: string[]): Promise<Float32Array> {
    const p = this.settings.queryPrefix;
    const vecs = await this.encodeTokenized(qs.map((q) => this.tokenizer.encode(p + q)));
    const scale = this.settings.queryScale;
    if (scale !== 1) for (let i = 0; i < vecs.length; i++) vecs[i]! *= scale;
    return vecs;
  }

  /** Encodes passages in the model's passage format (see PassageFormat). */
  async encodePassages(ps: PassageInput[]): Promise<Float32Array> {
    const { passageFormat, titleSeparator, passagePrefix: p } = this.settings;
    const toks = ps.map((x) => {
      if (passageFormat === 'pair') return this.tokenizer.encode(p + x.title, x.text);
      if (passageFormat === 'text' || x.title.length === 0) return this.tokenizer.encode(p + x.text);
      return this.tokenizer.encode(p + x.title + titleSeparator + x.text);
    });
    return this.encodeTokenized(toks);
  }

  /** Token count of a text after truncation, specials included (for tests and stats). */
  tokenCount(text: string): number {
    return this.tokenizer.encode(text).ids.length;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.runner.release();
  }

  /** Batches this encoder keeps in flight: its lanes (1 for a single in-thread session). */
  get lanes(): number {
    return this.runner.width;
  }

  private async encodeTokenized(toks: TokenizedInput[]): Promise<Float32Array> {
    if (this.released) throw new UsageError('encoder used after release()', { hint: 'load a new encoder' });
    const n = toks.length;
    if (n === 0) return new Float32Array(0);
    // Length-sorted order: batches of similar lengths waste little compute on padding.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => toks[a]!.ids.length - toks[b]!.ids.length || a - b);
    let out: Float32Array | undefined = this._dim > 0 ? new Float32Array(n * this._dim) : undefined;
    const bs = this.callBatchSize;
    const batches = Math.ceil(n / bs);
    const spec: PoolSpec = { outputName: this.outputName, pooling: this.settings.pooling };
    // The batches are the same whatever the lanes: a batch's vectors do not depend on where it ran.
    // Lanes take several batches per message, since a message wakes a sleeping thread, which on a loaded
    // machine can wait a scheduler tick: up to GROUP_TOKENS tokens and a quarter of what is left per lane
    // (guided self-scheduling), so groups shrink towards the end and no lane is left with a long tail.
    const width = this.runner.width;
    let next = 0;
    let tokensLeft = width > 1 ? toks.reduce((s, t) => s + t.ids.length, 0) : 0;
    const place = (rows: number[], vecs: Float32Array): void => {
      const dim = vecs.length / rows.length;
      if (!out) {
        this._dim = dim;
        out = new Float32Array(n * dim);
      } else if (dim !== this._dim) {
        throw new ModelLoadError(`model output width changed from ${this._dim} to ${dim}`, { hint: 'check outputName' });
      }
      for (let r = 0; r < rows.length; r++) out.set(vecs.subarray(r * dim, (r + 1) * dim), rows[r]! * dim);
    };
    const drain = async (): Promise<void> => {
      while (next < batches) {
        const group: number[][] = [];
        const feeds: BatchFeeds[] = [];
        const groupTokens = Math.min(GROUP_TOKENS, tokensLeft / (width * 4));
        let tokens = 0;
        do {
          const b = next++;
          const rows = order.slice(b * bs, (b + 1) * bs);
          const f = buildFeeds(rows.map((i) => toks[i]!), this.inputType, this.hasTokenTypes, this.tokenizer.padId);
          group.push(rows);
          feeds.push(f);
          tokens += f.rows * f.seqLen;
          for (const i of rows) tokensLeft -= toks[i]!.ids.length;
        } while (next < batches && tokens < groupTokens);
        const vecs = await this.runner.run(feeds, spec);
        group.forEach((rows, g) => place(rows, vecs[g]!));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.runner.width, batches) }, drain));
    if (this.settings.normalize) l2NormalizeRows(out!, this._dim);
    return out!;
  }
}
