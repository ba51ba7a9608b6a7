import { lastPositionLogits, type DecoderState, type Generator } from '../generator.js';
import { logSumExp } from './log-math.js';
import type { StepModel } from './step-model.js';

/**
 * A plain encoder-decoder as a StepModel: one decoder row per hypothesis, KV cache carried between
 * steps (the full prefix goes in only on the first call). annotate() gives the token's unprocessed
 * log-probability log p(y_t | x, y_<t), which RAG-Sequence's fast decoding sums per document.
 */
export class Seq2SeqStepModel implements StepModel<number> {
  private last: Float32Array | null = null;
  private lse: Float64Array | null = null;

  constructor(
    private readonly gen: Generator,
    private state: DecoderState,
  ) {}

  get vocabSize(): number {
    return this.gen.vocabSize;
  }

  get rows(): number {
    return this.state.rows;
  }

  async next(sequences: readonly (readonly number[])[]): Promise<Float32Array> {
    const ids = this.state.past ? sequences.map((s) => [s[s.length - 1]!]) : sequences;
    const res = await this.gen.decodeStep(this.state, ids);
    this.state = res.state;
    this.last = lastPositionLogits(res);
    this.lse = null;
    return this.last;
  }

  reorder(src: readonly number[]): void {
    this.state = this.gen.reorder(this.state, src);
  }

  annotate(row: number, token: number): number {
    const V = this.vocabSize;
    const last = this.last!;
    if (!this.lse) this.lse = new Float64Array(last.length / V).fill(NaN);
    if (Number.isNaN(this.lse[row]!)) this.lse[row] = logSumExp(last, row * V, (row + 1) * V);
    return last[row * V + token]! - this.lse[row]!;
  }
}
