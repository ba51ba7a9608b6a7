/**
 * Peer checks on the fixture generator in Optimum's merged layout (decoder_model_merged.onnx, built
 * from the two fixture decoders by merge_decoders.py):
 *   - our loader gives the same outputs from the merged graph as from the split pair;
 *   - transformers.js (the @huggingface/transformers devDependency) greedy `generate()` picks the same
 *     tokens as our greedy search. transformers.js only reads merged decoders, hence the merge.
 * transformers.js keeps decoding finished rows instead of padding them with <pad> as transformers
 * (Python) does, so rows are compared up to and including their first </s>.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { generate, lastPositionLogits, loadGenerator, type Generator } from '@rag/generator';
import { ragGenerateFromBatch } from '@rag/rag';
import { fixtureBatch, GENERATOR_DIR, loadFixtures, mergedGeneratorDir, padTo, skipNoFixtures, skipNoPython, type Fixtures } from './fixture.js';

/** Generated part of a row up to and including the first EOS (the decoder start is EOS for BART). */
function untilEos(row: readonly number[], eos: number): number[] {
  const gen = row.slice(1);
  const i = gen.indexOf(eos);
  return i < 0 ? gen : gen.slice(0, i + 1);
}

describe('merged decoder layout and transformers.js agree with us', { skip: skipNoFixtures || skipNoPython }, () => {
  let fx: Fixtures;
  let mergedDir: string;
  let split: Generator;
  let merged: Generator;

  before(async () => {
    fx = loadFixtures();
    mergedDir = mergedGeneratorDir();
    [split, merged] = await Promise.all([
      loadGenerator({ dir: GENERATOR_DIR, intraOpThreads: 1 }),
      loadGenerator({ dir: mergedDir, intraOpThreads: 1 }),
    ]);
  });
  after(async () => {
    await Promise.all([split?.release(), merged?.release()]);
    if (mergedDir) rmSync(mergedDir, { recursive: true, force: true });
  });

  it('the merged graph is detected and gives the split pair\'s logits at every cached step', async () => {
    assert.equal(split.layout, 'split');
    assert.equal(merged.layout, 'merged');
    assert.notEqual(split.sha256, merged.sha256);
    const ids = fx.batch.context_input_ids.slice(0, 4);
    const mask = fx.batch.context_attention_mask.slice(0, 4);
    let [s, m] = [split.startDecoding(await split.encode(ids, mask)), merged.startDecoding(await merged.encode(ids, mask))];
    const tokens = [[2], [0], [34], [186]];
    for (const t of tokens) {
      const rows = ids.map(() => t);
      const [rs, rm] = [await split.decodeStep(s, rows), await merged.decodeStep(m, rows)];
      const [ls, lm] = [lastPositionLogits(rs), lastPositionLogits(rm)];
      let maxDiff = 0;
      for (let i = 0; i < ls.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ls[i]! - lm[i]!));
      assert.ok(maxDiff < 1e-5, `step ${rs.state.pastLength}: max |logit diff| ${maxDiff}`);
      [s, m] = [rs.state, rm.state];
    }
  });

  it('RAG-Token beam search on the merged layout returns HF\'s sequences', async () => {
    const ref = fx.rag_token.beam;
    const answers = await ragGenerateFromBatch(merged, fixtureBatch(fx), {
      mode: 'rag-token',
      beams: ref.num_beams,
      numReturnSequences: ref.num_return_sequences,
      maxLength: fx.generation_kwargs.max_length,
    });
    assert.deepEqual(
      answers.map((a) => padTo(a.sequence, ref.sequences[0]!.length, merged.config.padTokenId)),
      ref.sequences,
    );
  });

  it('transformers.js greedy generate() picks the same tokens as ours on every context row', async () => {
    const { AutoModelForSeq2SeqLM, Tensor, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(mergedDir);
    const model = await AutoModelForSeq2SeqLM.from_pretrained(basename(mergedDir), { dtype: 'fp32', device: 'cpu' });
    try {
      const ids = fx.batch.context_input_ids;
      const mask = fx.batch.context_attention_mask;
      const width = ids[0]!.length;
      const big = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, width]);
      const out = (await model.generate({
        inputs: big(ids),
        attention_mask: big(mask),
        max_length: fx.generation_kwargs.max_length,
        num_beams: 1,
        do_sample: false,
      } as never)) as unknown as { tolist(): bigint[][] };
      const theirs = out.tolist().map((r) => r.map(Number));
      const ours = await generate(split, { inputIds: ids, attentionMask: mask }, { numBeams: 1, maxLength: fx.generation_kwargs.max_length });
      const eos = split.config.eosTokenIds[0]!;
      assert.equal(theirs.length, ids.length);
      theirs.forEach((row, i) => {
        assert.deepEqual(untilEos(ours.sequences[i]!, eos), untilEos(row, eos), `context row ${i}`);
        assert.equal(row[0], split.config.decoderStartTokenId);
      });
      // Where transformers.js keeps decoding, transformers (and we) pad finished rows with <pad>.
      for (const row of ours.sequences) {
        const end = row.indexOf(eos, 1);
        if (end > 0) assert.ok(row.slice(end + 1).every((t) => t === split.config.padTokenId));
      }
    } finally {
      await model.dispose();
    }
  });
});
