import { endianness } from 'node:os';
import { Tensor } from 'onnxruntime-node';
import { ModelLoadError } from '@rag/core';
import type { Pooling } from './encoder-options.js';
import { poolBatch } from './pooling.js';
import type { TokenizedInput } from './text-tokenizer.js';

export type IntType = 'int64' | 'int32';

// int64 tensors are filled through an Int32 view (low word = id, high word = 0): no BigInt per token.
export const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * One padded batch as plain typed arrays (no ORT objects), so that it can be run in this thread or
 * posted to a lane's worker thread: ids, attention mask and segment ids as int64 (BigInt64Array) or
 * int32, [rows, seqLen] row-major; `mask` is the attention mask again as bytes, for pooling.
 */
export interface BatchFeeds {
  rows: number;
  seqLen: number;
  type: IntType;
  ids: BigInt64Array | Int32Array;
  attention: BigInt64Array | Int32Array;
  tokenTypes?: BigInt64Array | Int32Array;
  mask: Uint8Array;
}

/** How a runner turns a batch into vectors: which output, how to pool it. */
export interface PoolSpec {
  outputName: string;
  pooling: Pooling;
}

function intArray(type: IntType, n: number): { data: BigInt64Array | Int32Array; view: Int32Array } {
  if (type === 'int32') {
    const data = new Int32Array(n);
    return { data, view: data };
  }
  const data = new BigInt64Array(n);
  return { data, view: new Int32Array(data.buffer) };
}

/** Pads a batch of tokenized texts to its longest row. */
export function buildFeeds(batch: readonly TokenizedInput[], type: IntType, withTokenTypes: boolean, padId: number): BatchFeeds {
  const rows = batch.length;
  let seqLen = 1;
  for (const t of batch) if (t.ids.length > seqLen) seqLen = t.ids.length;
  const stride = type === 'int64' ? 2 : 1;
  const ids = intArray(type, rows * seqLen);
  const att = intArray(type, rows * seqLen);
  const types = withTokenTypes ? intArray(type, rows * seqLen) : undefined;
  const mask = new Uint8Array(rows * seqLen);
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
        ids.view[k] = padId;
      }
    }
  }
  return { rows, seqLen, type, ids: ids.data, attention: att.data, tokenTypes: types?.data, mask };
}

/** ORT tensors over the feeds' arrays (no copy). */
export function feedTensors(f: BatchFeeds): Record<string, Tensor> {
  const shape = [f.rows, f.seqLen];
  const feeds: Record<string, Tensor> = {
    input_ids: new Tensor(f.type, f.ids, shape),
    attention_mask: new Tensor(f.type, f.attention, shape),
  };
  if (f.tokenTypes) feeds.token_type_ids = new Tensor(f.type, f.tokenTypes, shape);
  return feeds;
}

/**
 * One model output → [rows, dim] vectors: token states [rows, seq, dim] are pooled, an output the
 * graph already pooled ([rows, dim]) is copied. The same code runs in this thread and in lanes, so a
 * batch gives the same bits wherever it runs.
 */
export function poolOutput(y: Tensor, f: BatchFeeds, spec: PoolSpec): Float32Array {
  const dims = y.dims;
  if (y.type !== 'float32' || (dims.length !== 3 && dims.length !== 2) || dims[0] !== f.rows) {
    throw new ModelLoadError(`unexpected output ${spec.outputName}: ${y.type} [${dims.join(', ')}]`, {
      hint: 'set outputName in rag_encoder.json to the token-states output',
    });
  }
  const hidden = y.data as Float32Array;
  const dim = dims[dims.length - 1]!;
  if (dims.length === 2) return hidden.slice(0, f.rows * dim);
  const out = new Float32Array(f.rows * dim);
  const identity = Array.from({ length: f.rows }, (_, r) => r);
  poolBatch(hidden, f.rows, dims[1]!, dim, f.mask, spec.pooling, out, identity);
  return out;
}
