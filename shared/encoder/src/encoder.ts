import { endianness } from 'node:os';
import { Tensor } from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelLoadError, UsageError } from '@rag/core';
import type { EncoderSettings } from './encoder-options.js';
import { l2NormalizeRows, poolBatch } from './pooling.js';
import { releaseSession } from './session-pool.js';
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
  session: InferenceSession;
  sessionKey: string;
  tokenizer: TextTokenizer;
  /**
   * The graph quantizes activations dynamically (DynamicQuantizeLinear: one scale per call, over
   * every row of the batch), so a row's vector would depend on its batch neighbours. Such models
   * run one text per call: a passage's vector is then a function of the passage alone, which
   * incremental builds (embeddings reused from a base snapshot) and reproducible answers need.
   */
  rowDependentBatches?: boolean;
}

type IntType = 'int64' | 'int32';

// int64 tensors are filled through an Int32 view (low word = id, high word = 0): no BigInt per token.
const LITTLE_ENDIAN = endianness() === 'LE';

/** A batch's input tensors for rows of token ids already sorted into it. */
function makeIntTensor(type: IntType, rows: number, seqLen: number): { tensor: Tensor; view: Int32Array } {
  if (type === 'int32') {
    const data = new Int32Array(rows * seqLen);
    return { tensor: new Tensor('int32', data, [rows, seqLen]), view: data };
  }
  const data = new BigInt64Array(rows * seqLen);
  return { tensor: new Tensor('int64', data, [rows, seqLen]), view: new Int32Array(data.buffer) };
}

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
  private readonly session: InferenceSession;
  private readonly sessionKey: string;
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
    this.session = parts.session;
    this.sessionKey = parts.sessionKey;
    this.tokenizer = parts.tokenizer;
    this.callBatchSize = parts.rowDependentBatches ? 1 : parts.settings.batchSize;

    const inputs = new Map(this.session.inputMetadata.map((m) => [m.name, m]));
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

    const outs = this.session.outputNames;
    const wanted = parts.settings.outputName;
    if (wanted && !outs.includes(wanted)) {
      throw new ModelLoadError(`${this.modelPath} has no output "${wanted}" (outputs: ${outs.join(', ')})`, {
        hint: 'fix outputName in rag_encoder.json',
      });
    }
    this.outputName = wanted ?? (outs.includes('last_hidden_state') ? 'last_hidden_state' : outs[0]!);
    const outMeta = this.session.outputMetadata.find((m) => m.name === this.outputName);
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
    await releaseSession(this.sessionKey);
  }

  private async encodeTokenized(toks: TokenizedInput[]): Promise<Float32Array> {
    if (this.released) throw new UsageError('encoder used after release()', { hint: 'load a new encoder' });
    const n = toks.length;
    if (n === 0) return new Float32Array(0);
    // Length-sorted order: batches of similar lengths waste little compute on padding.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => toks[a]!.ids.length - toks[b]!.ids.length || a - b);
    let out: Float32Array | undefined = this._dim > 0 ? new Float32Array(n * this._dim) : undefined;
    const bs = this.callBatchSize;
    for (let start = 0; start < n; start += bs) {
      const rows = order.slice(start, start + bs);
      const { hidden, dims, mask } = await this.forward(rows.map((i) => toks[i]!));
      const dim = dims[dims.length - 1]!;
      if (!out) {
        this._dim = dim;
        out = new Float32Array(n * dim);
      } else if (dim !== this._dim) {
        throw new ModelLoadError(`model output width changed from ${this._dim} to ${dim}`, { hint: 'check outputName' });
      }
      if (dims.length === 3) {
        poolBatch(hidden, rows.length, dims[1]!, dim, mask, this.settings.pooling, out, rows);
      } else {
        // Already pooled by the graph ([rows, dim], e.g. a sentence_embedding or pooler output).
        for (let r = 0; r < rows.length; r++) out.set(hidden.subarray(r * dim, (r + 1) * dim), rows[r]! * dim);
      }
    }
    if (this.settings.normalize) l2NormalizeRows(out!, this._dim);
    return out!;
  }

  private async forward(batch: TokenizedInput[]): Promise<{ hidden: Float32Array; dims: readonly number[]; mask: Uint8Array }> {
    const rows = batch.length;
    let seqLen = 1;
    for (const t of batch) if (t.ids.length > seqLen) seqLen = t.ids.length;
    const stride = this.inputType === 'int64' ? 2 : 1;
    const ids = makeIntTensor(this.inputType, rows, seqLen);
    const att = makeIntTensor(this.inputType, rows, seqLen);
    const types = this.hasTokenTypes ? makeIntTensor(this.inputType, rows, seqLen) : undefined;
    const mask = new Uint8Array(rows * seqLen);
    const pad = this.tokenizer.padId;
    for (let r = 0; r < rows; r++) {
      const t = batch[r]!;
      const len = t.ids.length;
      const rowBase = r * seqLen;
      for (let j = 0; j < seqLen; j++) {
        const k = (rowBase + j) * stride;
        if (j < len) {
          ids.view[k] = t.ids[j]!;
          att.view[k] = 1;
          if (types) types.view[k] = t.typeIds[j]!;
          mask[rowBase + j] = 1;
        } else {
          ids.view[k] = pad;
        }
      }
    }
    const feeds: Record<string, Tensor> = { input_ids: ids.tensor, attention_mask: att.tensor };
    if (types) feeds.token_type_ids = types.tensor;
    const result = await this.session.run(feeds, [this.outputName]);
    const y = result[this.outputName] as Tensor;
    const dims = y.dims;
    if (y.type !== 'float32' || (dims.length !== 3 && dims.length !== 2) || dims[0] !== rows) {
      throw new ModelLoadError(`unexpected output ${this.outputName}: ${y.type} [${dims.join(', ')}]`, {
        hint: 'set outputName in rag_encoder.json to the token-states output',
      });
    }
    const hidden = y.data as Float32Array;
    return { hidden, dims, mask };
  }
}
