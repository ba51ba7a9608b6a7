import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Generator } from '../generator.js';
import { loadGenerator } from '../load-generator.js';
import { beamSearch } from './beam-search.js';
import { resolveDecodeOptions, type DecodeOptions } from './decode-options.js';
import { generate } from './generate.js';
import { greedySearch } from './greedy-search.js';
import type { StepModel } from './step-model.js';

/**
 * A language model given as a table: next-token probabilities for each prefix (tokens after the
 * decoder start, joined by ','). Unlisted prefixes end the sentence.
 */
class TableModel implements StepModel<string> {
  rows: string[] = [];
  readonly calls: number[] = [];
  constructor(
    private readonly table: Record<string, number[]>,
    readonly vocabSize: number,
    private readonly eos: number,
  ) {}
  async next(seqs: readonly (readonly number[])[]): Promise<Float32Array> {
    this.calls.push(seqs.length);
    this.rows = seqs.map((s) => s.slice(1).join(','));
    const out = new Float32Array(seqs.length * this.vocabSize);
    this.rows.forEach((key, r) => {
      const p = this.table[key] ?? Array.from({ length: this.vocabSize }, (_, v) => (v === this.eos ? 1 : 0));
      p.forEach((x, v) => (out[r * this.vocabSize + v] = Math.log(x)));
    });
    return out;
  }
  reorder(src: readonly number[]): void {
    this.rows = src.map((s) => this.rows[s]!);
  }
  annotate(row: number, token: number): string {
    return `${this.rows[row]}>${token}`;
  }
}

const EOS = 0;
const opts = (o: Partial<DecodeOptions>): DecodeOptions =>
  resolveDecodeOptions(
    { decoderStartTokenId: 9, bosTokenId: null, eosTokenIds: [EOS], padTokenId: 8, forcedBosTokenId: null, forcedEosTokenId: null, maxLength: 6, minLength: 0, noRepeatNgramSize: 0, repetitionPenalty: 1, lengthPenalty: 1, numBeams: 1, earlyStopping: false },
    o,
  );

// The textbook case: greedy takes "1" (0.5) but "2 3" has probability 0.4·0.9 = 0.36 > 0.5·0.5 = 0.25.
const TABLE: Record<string, number[]> = {
  '': [0, 0.5, 0.4, 0.1, 0],
  '1': [0, 0, 0, 0.5, 0.5],
  '2': [0, 0, 0, 0.9, 0.1],
  '1,3': [1, 0, 0, 0, 0],
  '1,4': [1, 0, 0, 0, 0],
  '2,3': [1, 0, 0, 0, 0],
  '2,4': [1, 0, 0, 0, 0],
  '3': [1, 0, 0, 0, 0],
};

test('beam search finds the sequence greedy misses; scores are Σ log p / length, best first', async () => {
  const greedy = await greedySearch(new TableModel(TABLE, 5, EOS), 1, opts({}));
  assert.deepEqual(greedy.hypotheses[0]![0]!.tokens, [9, 1, 3, 0]);
  const beam = await beamSearch(new TableModel(TABLE, 5, EOS), 1, opts({ numBeams: 2, numReturnSequences: 2 }));
  const [best, second] = beam.hypotheses[0]!;
  assert.deepEqual(best!.tokens, [9, 2, 3, 0]);
  assert.ok(Math.abs(best!.score - Math.log(0.36) / 3) < 1e-6, `score ${best!.score}`);
  assert.ok(best!.score >= second!.score);
  assert.deepEqual(best!.annotations, ['>2', '2>3', '2,3>0'], 'annotations follow the beam through reorders');
  assert.ok(Math.abs(best!.transitionScores.reduce((a, b) => a + b, 0) - Math.log(0.36)) < 1e-6);
});

test('length penalty 0 ranks finished hypotheses by total log-prob (3 beams keep 2 3, 1 3, 1 4 and drop 3)', async () => {
  const lp0 = await beamSearch(new TableModel(TABLE, 5, EOS), 1, opts({ numBeams: 3, numReturnSequences: 3, lengthPenalty: 0, earlyStopping: 'never' }));
  const got = lp0.hypotheses[0]!.map((h) => [h.tokens.join(','), h.score] as const);
  assert.deepEqual(got.map(([t]) => t), ['9,2,3,0', '9,1,3,0', '9,1,4,0']);
  [0.36, 0.25, 0.25].forEach((p, i) => assert.ok(Math.abs(got[i]![1] - Math.log(p)) < 1e-6, `score ${i}`));
  // With the default penalty 1 the same pool is ranked by log-prob per token: still 2 3 first.
  const lp1 = await beamSearch(new TableModel(TABLE, 5, EOS), 1, opts({ numBeams: 3, numReturnSequences: 3 }));
  assert.ok(Math.abs(lp1.hypotheses[0]![0]!.score - Math.log(0.36) / 3) < 1e-6);
});

test('maxLength cuts hypotheses: every returned sequence has at most maxLength tokens and rows are padded', async () => {
  const loop: Record<string, number[]> = {};
  const res = await beamSearch(
    new (class extends TableModel {
      override async next(seqs: readonly (readonly number[])[]): Promise<Float32Array> {
        await super.next(seqs);
        // Never EOS: every continuation equally likely except EOS.
        return Float32Array.from({ length: seqs.length * 5 }, (_, i) => (i % 5 === EOS ? -Infinity : Math.log(0.25)));
      }
    })(loop, 5, EOS),
    2,
    opts({ numBeams: 2, numReturnSequences: 2, maxLength: 4 }),
  );
  assert.equal(res.sequences.length, 4);
  for (const s of res.sequences) assert.equal(s.length, 4);
  for (const h of res.hypotheses.flat()) assert.equal(h.tokens.length, 4);
});

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'hf-rag');
const fx = JSON.parse(readFileSync(join(FIXTURE, 'fixtures.json'), 'utf8')) as { batch: { context_input_ids: number[][]; context_attention_mask: number[][] } };

let gen: Generator;
before(async () => {
  gen = await loadGenerator({ dir: join(FIXTURE, 'generator'), intraOpThreads: 1 });
});
after(async () => {
  await gen.release();
});

test('a batch decodes exactly like its rows one by one (finished items leave the batch mid-way)', async () => {
  const ids = fx.batch.context_input_ids.slice(0, 6);
  const mask = fx.batch.context_attention_mask.slice(0, 6);
  for (const numBeams of [1, 3]) {
    const together = await generate(gen, { inputIds: ids, attentionMask: mask }, { numBeams, numReturnSequences: numBeams });
    for (let i = 0; i < ids.length; i++) {
      const alone = await generate(gen, { inputIds: [ids[i]!], attentionMask: [mask[i]!] }, { numBeams, numReturnSequences: numBeams });
      const a = alone.results[0]!;
      const t = together.results[i]!;
      assert.deepEqual(t.map((h) => h.tokenIds), a.map((h) => h.tokenIds), `beams ${numBeams} row ${i}`);
      t.forEach((h, k) => assert.ok(Math.abs(h.score - a[k]!.score) < 1e-5, `beams ${numBeams} row ${i} score`));
    }
  }
});

test('beam search with one beam and greedy search agree on the fixture model; scores equal Σ transition scores', async () => {
  const ids = fx.batch.context_input_ids.slice(0, 4);
  const mask = fx.batch.context_attention_mask.slice(0, 4);
  const g = await generate(gen, { inputIds: ids, attentionMask: mask }, { numBeams: 1 });
  for (const [h] of g.results) {
    assert.equal(h!.tokenIds[1], gen.config.forcedBosTokenId, 'BART forces <s> first');
    assert.equal(h!.transitionScores[0], 0, 'the forced token costs nothing');
    assert.ok(Math.abs(h!.score - h!.transitionScores.reduce((a, b) => a + b, 0)) < 1e-9);
    assert.ok(h!.tokenLogprobs.every((lp, t) => t === 0 || Math.abs(lp - h!.transitionScores[t]!) < 1e-5));
  }
});
