import { Tensor } from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelLoadError, UsageError } from '@rag/core';
import type { GeneratorConfig } from './generator-config.js';
import type { DecoderLayout, OnnxFiles } from './onnx-layout.js';
import type { Seq2SeqTokenizer } from './seq2seq-tokenizer.js';
import { gatherRows, int64Tensor, isIdentity, zerosFloat32 } from './tensors.js';

/** Encoder output for a batch of inputs: hidden [rows, seqLen, dModel] float32, mask [rows, seqLen] int64. */
export interface EncoderStates {
  readonly rows: number;
  readonly seqLen: number;
  readonly hidden: Tensor;
  readonly mask: Tensor;
}

/**
 * Where a batch of decoder rows stands: which encoder row each decoder row reads (`encRows`), and the
 * KV cache after `pastLength` tokens (null before the first step). Immutable: steps and reorders
 * return new states, so a caller can branch (e.g. score labels from a state it keeps decoding).
 */
export class DecoderState {
  private hiddenCache?: Tensor;
  private maskCache?: Tensor;

  constructor(
    readonly encoder: EncoderStates,
    /** decoder row i attends to encoder row encRows[i] */
    readonly encRows: readonly number[],
    /** past_key_values.<layer>.<decoder|encoder>.<key|value> → [rows, heads, len, headDim] */
    readonly past: Readonly<Record<string, Tensor>> | null,
    readonly pastLength: number,
  ) {}

  get rows(): number {
    return this.encRows.length;
  }

  /** The same rows one step further: the gathered encoder tensors carry over. */
  advance(past: Readonly<Record<string, Tensor>>, newTokens: number): DecoderState {
    const next = new DecoderState(this.encoder, this.encRows, past, this.pastLength + newTokens);
    next.hiddenCache = this.hiddenCache;
    next.maskCache = this.maskCache;
    return next;
  }

  /** Encoder hidden states row-aligned with the decoder rows (gathered once per state). */
  hidden(): Tensor {
    this.hiddenCache ??= isIdentity(this.encRows, this.encoder.rows) ? this.encoder.hidden : gatherRows(this.encoder.hidden, this.encRows);
    return this.hiddenCache;
  }

  mask(): Tensor {
    this.maskCache ??= isIdentity(this.encRows, this.encoder.rows) ? this.encoder.mask : gatherRows(this.encoder.mask, this.encRows);
    return this.maskCache;
  }
}

/** One decoder forward pass: logits for every new position, and the state to continue from. */
export interface DecodeStepResult {
  /** [rows, newTokens, vocab] row-major */
  logits: Float32Array;
  newTokens: number;
  vocabSize: number;
  state: DecoderState;
}

/** What loadGenerator hands the Generator; not for direct use. */
export interface GeneratorParts {
  name: string;
  sha256: string;
  dir: string;
  files: OnnxFiles;
  config: GeneratorConfig;
  tokenizer: Seq2SeqTokenizer;
  encoderSession: InferenceSession;
  decoderSession: InferenceSession;
  decoderWithPastSession?: InferenceSession;
}

const PAST_PREFIX = 'past_key_values.';
const PRESENT_PREFIX = 'present.';

/**
 * A seq2seq model (BART, T5) over ONNX Runtime: encoder forward, and decoder steps with a KV cache in
 * either Optimum layout. Knows nothing of decoding strategies; generation/ builds those on top.
 */
export class Generator {
  readonly name: string;
  /** sha256 over the ONNX files (encoder, decoder(s)), in that order: identifies the weights. */
  readonly sha256: string;
  readonly dir: string;
  readonly files: OnnxFiles;
  readonly config: GeneratorConfig;
  readonly tokenizer: Seq2SeqTokenizer;
  private readonly encoderSession: InferenceSession;
  private readonly decoderSession: InferenceSession;
  private readonly withPastSession?: InferenceSession;
  /** past_key_values.* input names of the cached decoder, in graph order */
  private readonly pastNames: string[];
  private readonly mergedNeedsHidden: boolean;
  private released = false;

  constructor(parts: GeneratorParts) {
    this.name = parts.name;
    this.sha256 = parts.sha256;
    this.dir = parts.dir;
    this.files = parts.files;
    this.config = parts.config;
    this.tokenizer = parts.tokenizer;
    this.encoderSession = parts.encoderSession;
    this.decoderSession = parts.decoderSession;
    this.withPastSession = parts.decoderWithPastSession;

    const enc = this.encoderSession.inputNames;
    if (!enc.includes('input_ids') || !enc.includes('attention_mask') || !this.encoderSession.outputNames.includes('last_hidden_state')) {
      throw new ModelLoadError(`${parts.files.encoder}: expected inputs input_ids, attention_mask and output last_hidden_state`, {
        hint: 'export the encoder in the Optimum seq2seq layout',
      });
    }
    const cached = this.withPastSession ?? this.decoderSession;
    this.pastNames = cached.inputNames.filter((n) => n.startsWith(PAST_PREFIX));
    const expectedPast = this.config.decoderLayers * 4;
    if (this.pastNames.length !== expectedPast) {
      throw new ModelLoadError(
        `${parts.files.decoderWithPast ?? parts.files.decoder}: ${this.pastNames.length} past_key_values inputs, expected ${expectedPast} (4 per decoder layer)`,
        { hint: 'export the decoder with past key values (task text2text-generation-with-past)' },
      );
    }
    const allowed = new Set(['input_ids', 'encoder_attention_mask', 'encoder_hidden_states', 'use_cache_branch', ...this.pastNames]);
    for (const s of [this.decoderSession, cached]) {
      const extra = s.inputNames.filter((n) => !allowed.has(n));
      if (extra.length > 0 || !s.inputNames.includes('input_ids')) {
        throw new ModelLoadError(`decoder inputs [${s.inputNames.join(', ')}] are not the Optimum seq2seq decoder's`, {
          hint: 'export with python -m modelkit export-seq2seq',
          details: { unexpected: extra },
        });
      }
    }
    if (this.files.layout === 'merged' && !this.decoderSession.inputNames.includes('use_cache_branch')) {
      throw new ModelLoadError(`${parts.files.decoder} has no use_cache_branch input`, { hint: 'merge the decoders with Optimum' });
    }
    this.mergedNeedsHidden = this.decoderSession.inputNames.includes('encoder_hidden_states');
  }

  get layout(): DecoderLayout {
    return this.files.layout;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  private assertLive(): void {
    if (this.released) throw new UsageError('generator used after release()', { hint: 'load a new generator' });
  }

  /**
   * Encoder forward over right-padded rows. Without a mask, transformers infers one from `<pad>` when pad
   * differs from eos (RagSequenceForGeneration.generate passes attention_mask=None); so do we.
   */
  async encode(inputIds: readonly (readonly number[])[], attentionMask?: readonly (readonly number[])[]): Promise<EncoderStates> {
    this.assertLive();
    if (inputIds.length === 0) throw new UsageError('encode() needs at least one row');
    const width = inputIds[0]!.length;
    const pad = this.config.padTokenId;
    const inferMask = !this.config.eosTokenIds.includes(pad) && inputIds.some((r) => r.includes(pad));
    const mask = attentionMask ?? inputIds.map((r) => r.map((id) => (inferMask && id === pad ? 0 : 1)));
    const feeds = { input_ids: int64Tensor(inputIds, width), attention_mask: int64Tensor(mask, width) };
    const out = await this.encoderSession.run(feeds, ['last_hidden_state']);
    const hidden = out.last_hidden_state as Tensor;
    if (hidden.type !== 'float32') {
      throw new ModelLoadError(`encoder output is ${hidden.type}; only float32 exports are supported`, { hint: 'export in fp32' });
    }
    return { rows: inputIds.length, seqLen: width, hidden, mask: feeds.attention_mask };
  }

  /** A decoder state over encoder rows (default: one decoder row per encoder row; repeat rows for beams). */
  startDecoding(encoder: EncoderStates, encRows?: readonly number[]): DecoderState {
    return new DecoderState(encoder, encRows ?? Array.from({ length: encoder.rows }, (_, i) => i), null, 0);
  }

  /** Row i of the new state continues row src[i] of the old (beam reorder; may repeat or drop rows). */
  reorder(state: DecoderState, src: readonly number[]): DecoderState {
    if (isIdentity(src, state.rows)) return state;
    const encRows = src.map((s) => state.encRows[s]!);
    let past: Record<string, Tensor> | null = null;
    if (state.past) {
      past = {};
      for (const [k, t] of Object.entries(state.past)) past[k] = gatherRows(t, src);
    }
    return new DecoderState(state.encoder, encRows, past, state.pastLength);
  }

  /**
   * Runs the decoder on `inputIds` (rows × n new tokens; n = the whole prefix on the first step, usually 1
   * after). Returns logits for each new position and the grown cache.
   */
  async decodeStep(state: DecoderState, inputIds: readonly (readonly number[])[]): Promise<DecodeStepResult> {
    this.assertLive();
    if (inputIds.length !== state.rows) throw new UsageError(`decodeStep: ${inputIds.length} input rows for a state of ${state.rows} rows`);
    const n = inputIds[0]!.length;
    if (n === 0) throw new UsageError('decodeStep: no new tokens');
    const first = state.past === null;
    const feeds: Record<string, Tensor> = {
      input_ids: int64Tensor(inputIds, n),
      encoder_attention_mask: state.mask(),
    };
    let session: InferenceSession;
    if (this.files.layout === 'split') {
      session = first ? this.decoderSession : this.withPastSession!;
      if (first) feeds.encoder_hidden_states = state.hidden();
      else Object.assign(feeds, state.past);
    } else {
      session = this.decoderSession;
      if (this.mergedNeedsHidden) feeds.encoder_hidden_states = state.hidden();
      feeds.use_cache_branch = new Tensor('bool', new Uint8Array([first ? 0 : 1]), [1]);
      if (first) {
        // Unused by the no-cache branch but still graph inputs: empty past, as transformers.js feeds.
        const { numHeads, headDim } = this.config;
        for (const name of this.pastNames) feeds[name] = zerosFloat32([state.rows, numHeads, 0, headDim]);
      } else Object.assign(feeds, state.past);
    }
    for (const k of Object.keys(feeds)) if (!session.inputNames.includes(k)) delete feeds[k];
    const out = await session.run(feeds);
    const logits = out.logits as Tensor;
    if (logits.type !== 'float32') {
      throw new ModelLoadError(`decoder logits are ${logits.type}; only float32 exports are supported`, { hint: 'export in fp32' });
    }
    const past: Record<string, Tensor> = {};
    for (const name of this.pastNames) {
      const present = out[PRESENT_PREFIX + name.slice(PAST_PREFIX.length)] as Tensor | undefined;
      // Cross-attention keys/values depend on the encoder only: the with-past graph does not re-emit them
      // (split) or echoes them (merged); either way the first step's copy stays valid.
      const isCross = name.includes('.encoder.');
      const keep = !first && isCross && state.past ? state.past[name] : undefined;
      const t = keep ?? present;
      if (!t) {
        throw new ModelLoadError(`decoder produced no ${PRESENT_PREFIX}${name.slice(PAST_PREFIX.length)}`, {
          hint: 'the decoder export lacks its cache outputs; export with past key values',
        });
      }
      past[name] = t;
    }
    return {
      logits: logits.data as Float32Array,
      newTokens: n,
      vocabSize: logits.dims[2]!,
      state: state.advance(past, n),
    };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.encoderSession.release();
    await this.decoderSession.release();
    await this.withPastSession?.release();
  }
}

/** Logits of the last new position of each row: [rows, vocab]. */
export function lastPositionLogits(res: DecodeStepResult): Float32Array {
  const { newTokens: n, vocabSize: v } = res;
  if (n === 1) return res.logits;
  const rows = res.logits.length / (n * v);
  const out = new Float32Array(rows * v);
  for (let r = 0; r < rows; r++) out.set(res.logits.subarray((r * n + n - 1) * v, (r * n + n) * v), r * v);
  return out;
}
