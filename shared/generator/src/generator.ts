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
 *
 * The cache may hold more rows than the state (`slots`): when beam search drops finished questions,
 * their rows stay in the cache as dead rows rather than every live row's cross-attention cache being
 * copied into a smaller tensor; the cache is compacted once fewer than half its rows are live.
 */
export class DecoderState {
  private hiddenCache?: Tensor;
  private maskCache?: Tensor;
  private groupMaskCache?: Tensor;

  constructor(
    readonly encoder: EncoderStates,
    /** decoder row i attends to encoder row encRows[i] */
    readonly encRows: readonly number[],
    /** past_key_values.<layer>.<decoder|encoder>.<key|value> → [cacheRows, heads, len, headDim] */
    readonly past: Readonly<Record<string, Tensor>> | null,
    readonly pastLength: number,
    /** row i lives in cache row slots[i]; null: row i is cache row i */
    readonly slots: readonly number[] | null = null,
    /** encoder row of every cache row (live or dead); defaults to encRows */
    readonly cacheEncRows: readonly number[] = encRows,
    /**
     * Grouped layout (the grouped with-past graph): cache rows come in consecutive groups of this many
     * rows sharing one encoder row, and the cross-attention tensors hold one row per group
     * (cacheRows / groupBeams rows), not one per cache row. null: one cross row per cache row.
     */
    readonly groupBeams: number | null = null,
  ) {}

  get groups(): number {
    return this.groupBeams ? this.cacheRows / this.groupBeams : this.cacheRows;
  }

  get rows(): number {
    return this.encRows.length;
  }

  get cacheRows(): number {
    return this.cacheEncRows.length;
  }

  /** The same rows one step further: the gathered encoder tensors carry over. */
  advance(past: Readonly<Record<string, Tensor>>, newTokens: number): DecoderState {
    const next = new DecoderState(this.encoder, this.encRows, past, this.pastLength + newTokens, this.slots, this.cacheEncRows, this.groupBeams);
    next.inheritEncoderViews(this);
    return next;
  }

  /** Takes over `other`'s gathered encoder tensors; only valid when both have the same cacheEncRows. */
  inheritEncoderViews(other: DecoderState): void {
    this.hiddenCache = other.hiddenCache;
    this.maskCache = other.maskCache;
    this.groupMaskCache = other.groupMaskCache;
  }

  /** Encoder mask rows of the groups (grouped layout): [groups, seqLen]. */
  groupMask(): Tensor {
    const n = this.groupBeams!;
    this.groupMaskCache ??= gatherRows(this.encoder.mask, Array.from({ length: this.groups }, (_, g) => this.cacheEncRows[g * n]!));
    return this.groupMaskCache;
  }

  /** Encoder hidden states row-aligned with the cache rows (gathered once per layout). */
  hidden(): Tensor {
    this.hiddenCache ??= isIdentity(this.cacheEncRows, this.encoder.rows) ? this.encoder.hidden : gatherRows(this.encoder.hidden, this.cacheEncRows);
    return this.hiddenCache;
  }

  mask(): Tensor {
    this.maskCache ??= isIdentity(this.cacheEncRows, this.encoder.rows) ? this.encoder.mask : gatherRows(this.encoder.mask, this.cacheEncRows);
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
  /** decoder_with_past_grouped_model.onnx, when the export has it (and it is not switched off) */
  decoderWithPastGroupedSession?: InferenceSession;
  /** see GeneratorOptions.encoderChunkBytes */
  encoderChunkBytes?: number;
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
  private readonly groupedSession?: InferenceSession;
  /** past_key_values.* input names of the cached decoder, in graph order */
  private readonly pastNames: string[];
  private readonly mergedNeedsHidden: boolean;
  private readonly encoderChunkBytes: number;
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
    this.groupedSession = parts.decoderWithPastGroupedSession;
    this.encoderChunkBytes = parts.encoderChunkBytes ?? ENCODER_CHUNK_BYTES;

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
    if (this.groupedSession) {
      const want = ['input_ids', 'encoder_attention_mask', ...this.pastNames].sort().join(',');
      if ([...this.groupedSession.inputNames].sort().join(',') !== want) {
        throw new ModelLoadError(`${parts.files.decoderWithPastGrouped} inputs [${this.groupedSession.inputNames.join(', ')}] are not the grouped decoder's`, {
          hint: 're-export it with python -m modelkit add-grouped-decoder, or delete it (the Optimum graphs suffice)',
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
    const fullMask = attentionMask ?? inputIds.map((r) => r.map((id) => (inferMask && id === pad ? 0 : 1)));
    // Columns masked out in every row (HF pads contexts to max_combined_length) change nothing the
    // decoder can see: masked keys get zero attention weight. Dropping them saves their FLOPs.
    const used = usedWidth(fullMask, width);
    const ids = used < width ? inputIds.map((r) => r.slice(0, used)) : inputIds;
    const mask = used < width ? fullMask.map((r) => r.slice(0, used)) : fullMask;
    const feeds = { input_ids: int64Tensor(ids, used), attention_mask: int64Tensor(mask, used) };
    const rows = inputIds.length;
    const step = encoderChunkRows(used, this.config.numHeads, this.encoderChunkBytes);
    if (step >= rows) return { rows, seqLen: used, hidden: await this.runEncoder(feeds), mask: feeds.attention_mask };
    // Rows are independent: run them a few at a time, so that each call's attention scores
    // (rows · heads · width² floats) stay in cache; one call over a whole RAG batch streams ~1 MB per
    // row through memory and was 20% slower on the world generator. Outputs are bit-identical (the
    // width, and so every row's arithmetic, is the whole batch's).
    const ids64 = feeds.input_ids.data as BigInt64Array;
    const mask64 = feeds.attention_mask.data as BigInt64Array;
    let data: Float32Array | undefined;
    let dModel = 0;
    for (let from = 0; from < rows; from += step) {
      const n = Math.min(step, rows - from);
      const rowsOf = (t: BigInt64Array) => new Tensor('int64', t.subarray(from * used, (from + n) * used), [n, used]);
      const out = await this.runEncoder({ input_ids: rowsOf(ids64), attention_mask: rowsOf(mask64) });
      dModel = out.dims[2]!;
      data ??= new Float32Array(Buffer.allocUnsafeSlow(rows * used * dModel * 4).buffer);
      data.set(out.data as Float32Array, from * used * dModel);
    }
    return { rows, seqLen: used, hidden: new Tensor('float32', data!, [rows, used, dModel]), mask: feeds.attention_mask };
  }

  private async runEncoder(feeds: { input_ids: Tensor; attention_mask: Tensor }): Promise<Tensor> {
    const hidden = (await this.encoderSession.run(feeds, ['last_hidden_state'])).last_hidden_state as Tensor;
    if (hidden.type !== 'float32') {
      throw new ModelLoadError(`encoder output is ${hidden.type}; only float32 exports are supported`, { hint: 'export in fp32' });
    }
    return hidden;
  }

  /** A decoder state over encoder rows (default: one decoder row per encoder row; repeat rows for beams). */
  startDecoding(encoder: EncoderStates, encRows?: readonly number[]): DecoderState {
    return new DecoderState(encoder, encRows ?? Array.from({ length: encoder.rows }, (_, i) => i), null, 0);
  }

  /**
   * Row i of the new state continues row src[i] of the old (beam reorder; may repeat or drop rows).
   * Only self-attention keys/values are copied: a row's cross-attention cache depends on its encoder
   * row alone, so each new row is placed in a cache row that already holds its encoder row's
   * cross-attention (beams reordered within a question never move it; HF's `_reorder_cache` copies it).
   * Rows of finished questions stay behind as dead cache rows until fewer than half are live.
   */
  reorder(state: DecoderState, src: readonly number[]): DecoderState {
    if (isIdentity(src, state.rows)) return state;
    const encRows = src.map((s) => state.encRows[s]!);
    if (!state.past) return new DecoderState(state.encoder, encRows, null, 0);
    const oldSlots = state.slots ?? identityRows(state.rows);
    const slots = 2 * encRows.length >= state.cacheRows ? placeRows(encRows, src, oldSlots, state.cacheEncRows) : null;
    if (!slots && state.groupBeams) return compactGroups(state, encRows, src.map((s) => oldSlots[s]!)) ?? this.reorder(ungroup(state), src);
    if (!slots) {
      // Compact: one gather of every tensor into exactly the live rows.
      const from = src.map((s) => oldSlots[s]!);
      const past: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(state.past)) past[k] = gatherRows(t, from);
      return new DecoderState(state.encoder, encRows, past, state.pastLength);
    }
    // Cache row p takes the self-attention cache of the row it now holds; dead rows keep theirs.
    const cacheSrc = identityRows(state.cacheRows);
    slots.forEach((p, i) => (cacheSrc[p] = oldSlots[src[i]!]!));
    const keep = isIdentity(cacheSrc, state.cacheRows);
    const past: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(state.past)) past[k] = keep || isCrossName(k) ? t : gatherRows(t, cacheSrc);
    const packed = slots.length === state.cacheRows && isIdentity(slots, slots.length);
    const next = new DecoderState(state.encoder, encRows, past, state.pastLength, packed ? null : slots, state.cacheEncRows, state.groupBeams);
    next.inheritEncoderViews(state);
    return next;
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
    if (state.past === null) {
      // First step: beams of one input start as identical rows (same encoder row, same prefix). Run each
      // distinct row once and copy its logits and cache; computing the cross-attention keys/values over
      // the whole context once per beam is most of a first step's FLOPs.
      const { unique, of } = distinctRows(state.encRows, inputIds);
      if (unique.length < state.rows) {
        const sub = await this.runDecoder(new DecoderState(state.encoder, unique.map((r) => state.encRows[r]!), null, 0), unique.map((r) => inputIds[r]!));
        const expanded = this.groupRows(sub.state, of) ?? this.reorder(sub.state, of);
        return { ...sub, logits: gatherFloatRows(sub.logits, n * sub.vocabSize, of), state: expanded };
      }
      // Teacher forcing (scoring candidates under each document): many rows read one encoder row with
      // different prefixes that share their first token (the decoder start). One token per encoder row
      // first, then the rest of every prefix in one cached step: the cross-attention keys/values are
      // computed once per encoder row, not once per row (RAG-Sequence's thorough re-scoring spent most
      // of its time recomputing them).
      if (n > 1 && 2 * distinctRows(state.encRows, inputIds.map((r) => [r[0]!])).unique.length <= state.rows) {
        const head = await this.decodeStep(state, inputIds.map((r) => [r[0]!]));
        const tail = await this.decodeStep(head.state, inputIds.map((r) => r.slice(1)));
        const V = head.vocabSize;
        const logits = new Float32Array(state.rows * n * V);
        for (let r = 0; r < state.rows; r++) {
          logits.set(head.logits.subarray(r * V, (r + 1) * V), r * n * V);
          logits.set(tail.logits.subarray(r * (n - 1) * V, (r + 1) * (n - 1) * V), r * n * V + V);
        }
        return { logits, newTokens: n, vocabSize: V, state: tail.state };
      }
    }
    // The grouped graph takes one new token per row; anything else runs on per-row caches.
    return this.runDecoder(state.groupBeams && n !== 1 ? ungroup(state) : state, inputIds);
  }

  /**
   * After a first step over distinct rows: row i continues distinct row of[i]. When every distinct row
   * has its own encoder row and the same number N > 1 of continuations (beam search), lays the cache
   * out in groups of N rows per distinct row and keeps the first step's cross-attention tensors as
   * they are, one row per group, for the grouped graph. null when that graph is absent or the rows
   * are not so uniform (the caller then copies per row).
   */
  private groupRows(sub: DecoderState, of: readonly number[]): DecoderState | null {
    if (!this.groupedSession || !sub.past) return null;
    const groups = sub.rows;
    const beams = of.length / groups;
    if (!Number.isInteger(beams) || beams < 2 || new Set(sub.encRows).size !== groups) return null;
    const count = new Array<number>(groups).fill(0);
    for (const u of of) count[u]!++;
    if (count.some((c) => c !== beams)) return null;
    // cache row g*N + j holds the j-th row continuing group g
    const next = new Array<number>(groups).fill(0);
    const slots = of.map((u) => u * beams + next[u]!++);
    const fromGroup = groupOfRows(groups * beams, beams);
    const cacheEncRows = fromGroup.map((g) => sub.encRows[g]!);
    const past: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(sub.past)) past[k] = isCrossName(k) ? t : gatherRows(t, fromGroup);
    const encRows = of.map((u) => sub.encRows[u]!);
    const packed = isIdentity(slots, slots.length);
    return new DecoderState(sub.encoder, encRows, past, sub.pastLength, packed ? null : slots, cacheEncRows, beams);
  }

  private async runDecoder(state: DecoderState, rowIds: readonly (readonly number[])[]): Promise<DecodeStepResult> {
    const n = rowIds[0]!.length;
    const first = state.past === null;
    // Dead cache rows are fed any token; their outputs are dropped.
    let inputIds = rowIds;
    if (state.slots) {
      const cacheIds: (readonly number[])[] = new Array(state.cacheRows).fill(rowIds[0]!);
      state.slots.forEach((p, i) => (cacheIds[p] = rowIds[i]!));
      inputIds = cacheIds;
    }
    const feeds: Record<string, Tensor> = {
      input_ids: int64Tensor(inputIds, n),
      encoder_attention_mask: state.mask(),
    };
    let session: InferenceSession;
    if (state.groupBeams) {
      session = this.groupedSession!;
      feeds.encoder_attention_mask = state.groupMask();
      Object.assign(feeds, state.past);
    } else if (this.files.layout === 'split') {
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
        for (const name of this.pastNames) feeds[name] = zerosFloat32([state.cacheRows, numHeads, 0, headDim]);
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
      const isCross = isCrossName(name);
      const keep = !first && isCross && state.past ? state.past[name] : undefined;
      const t = keep ?? present;
      if (!t) {
        throw new ModelLoadError(`decoder produced no ${PRESENT_PREFIX}${name.slice(PAST_PREFIX.length)}`, {
          hint: 'the decoder export lacks its cache outputs; export with past key values',
        });
      }
      past[name] = t;
    }
    const cacheLogits = logits.data as Float32Array;
    return {
      logits: state.slots ? gatherFloatRows(cacheLogits, n * logits.dims[2]!, state.slots) : cacheLogits,
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
    await this.groupedSession?.release();
  }
}

/** The group of each of `rows` cache rows laid out in consecutive groups of `n`: [0 × n, 1 × n, ...]. */
function groupOfRows(rows: number, n: number): number[] {
  return Array.from({ length: rows }, (_, p) => Math.floor(p / n));
}

/** The same state with one cross-attention row per cache row (what the Optimum graphs take). */
function ungroup(state: DecoderState): DecoderState {
  const n = state.groupBeams!;
  const past: Record<string, Tensor> = {};
  const fromGroup = groupOfRows(state.cacheRows, n);
  for (const [k, t] of Object.entries(state.past!)) past[k] = isCrossName(k) ? gatherRows(t, fromGroup) : t;
  const next = new DecoderState(state.encoder, state.encRows, past, state.pastLength, state.slots, state.cacheEncRows);
  next.inheritEncoderViews(state);
  return next;
}

/**
 * Compaction in the grouped layout: keeps the groups that still have live rows, each with all its N
 * rows live (beam search drops whole questions), copying N self-attention rows and one cross-attention
 * row per kept group. `from[i]` is the cache row new row i continues. null when some kept group is not
 * full (the caller falls back to per-row caches).
 */
function compactGroups(state: DecoderState, encRows: readonly number[], from: readonly number[]): DecoderState | null {
  const n = state.groupBeams!;
  const newGroup = new Map<number, number>();
  const filled: number[] = [];
  const slots = from.map((p) => {
    const g = Math.floor(p / n);
    let ng = newGroup.get(g);
    if (ng === undefined) {
      ng = newGroup.size;
      newGroup.set(g, ng);
      filled.push(0);
    }
    return ng * n + filled[ng]!++;
  });
  if (filled.some((c) => c !== n)) return null;
  const keptGroups = [...newGroup.keys()];
  const selfSrc = new Array<number>(slots.length);
  slots.forEach((p, i) => (selfSrc[p] = from[i]!));
  const past: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state.past!)) past[k] = gatherRows(t, isCrossName(k) ? keptGroups : selfSrc);
  const cacheEncRows = groupOfRows(slots.length, n).map((g) => state.cacheEncRows[keptGroups[g]! * n]!);
  const packed = isIdentity(slots, slots.length);
  return new DecoderState(state.encoder, encRows, past, state.pastLength, packed ? null : slots, cacheEncRows, n);
}

/** past_key_values.<layer>.encoder.* are cross-attention tensors (a function of the encoder row only). */
function isCrossName(name: string): boolean {
  return name.includes('.encoder.');
}

/** Bytes of attention scores one encoder call may hold by default: about a core's L2 cache. */
export const ENCODER_CHUNK_BYTES = 1 << 20;

/** Encoder rows per call for a width: as many as keep heads · width² float32 scores within `budget` bytes (at least 1). */
export function encoderChunkRows(width: number, heads: number, budget = ENCODER_CHUNK_BYTES): number {
  return Math.max(1, Math.floor(budget / (heads * width * width * 4)));
}

/** Widest column any row's mask keeps (at least 1): trailing columns masked in every row can go. */
function usedWidth(mask: readonly (readonly number[])[], width: number): number {
  let used = 1;
  for (const row of mask) {
    for (let j = width - 1; j >= used; j--) {
      if (row[j] !== 0) {
        used = j + 1;
        break;
      }
    }
  }
  return used;
}

function identityRows(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Cache rows for the rows of a reorder, each one already holding its encoder row's cross-attention:
 * a row stays in its parent's cache row when it can, otherwise takes a free one with the same
 * encoder row. null when some row finds none (the cache must be compacted).
 */
function placeRows(encRows: readonly number[], src: readonly number[], oldSlots: readonly number[], cacheEncRows: readonly number[]): number[] | null {
  const taken = new Uint8Array(cacheEncRows.length);
  const slots = new Array<number>(encRows.length).fill(-1);
  src.forEach((s, i) => {
    const p = oldSlots[s]!;
    if (!taken[p]) {
      taken[p] = 1;
      slots[i] = p;
    }
  });
  const free = new Map<number, number[]>();
  cacheEncRows.forEach((e, p) => {
    if (taken[p]) return;
    const list = free.get(e);
    if (list) list.push(p);
    else free.set(e, [p]);
  });
  for (let i = 0; i < slots.length; i++) {
    if (slots[i] !== -1) continue;
    const p = free.get(encRows[i]!)?.shift();
    if (p === undefined) return null;
    slots[i] = p;
  }
  return slots;
}

/** Distinct (encoder row, input ids) rows: `unique` lists the first row of each, `of[i]` is row i's index in it. */
function distinctRows(encRows: readonly number[], inputIds: readonly (readonly number[])[]): { unique: number[]; of: number[] } {
  const seen = new Map<string, number>();
  const unique: number[] = [];
  const of = encRows.map((e, i) => {
    const key = `${e}|${inputIds[i]!.join(',')}`;
    let u = seen.get(key);
    if (u === undefined) {
      u = unique.length;
      seen.set(key, u);
      unique.push(i);
    }
    return u;
  });
  return { unique, of };
}

/** out[i] = x[src[i]] for rows of `width` floats. */
function gatherFloatRows(x: Float32Array, width: number, src: readonly number[]): Float32Array {
  const out = new Float32Array(src.length * width);
  for (let i = 0; i < src.length; i++) out.set(x.subarray(src[i]! * width, (src[i]! + 1) * width), i * width);
  return out;
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
