/**
 * Conformance, T5 layout: a tiny random T5 exported by modelkit (make_tiny_t5.py writes it and
 * transformers' own generate() outputs). T5 differs from BART where it matters to a port: decoder start =
 * pad = 0, no forced BOS, relative position bias computed from the cache length, and beam-search rows
 * filled with eos rather than pad (transformers fills with `pad or eos`, and pad is 0).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, loadGenerator, type Generator } from '@rag/generator';
import { assertClose, GENERATOR_DIR, PYTHON, REPO, skipNoFixtures, skipNoPython } from './fixture.js';

interface T5Reference {
  max_length: number;
  input_ids: number[][];
  attention_mask: number[][];
  greedy: number[][];
  beam: { num_beams: number; num_return_sequences: number; sequences: number[][]; sequences_scores: number[] };
}

describe('T5 (decoder start = pad, no forced BOS) matches transformers generate()', { skip: skipNoFixtures || skipNoPython }, () => {
  let dir: string;
  let ref: T5Reference;
  let gen: Generator;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiny-t5-'));
    execFileSync(PYTHON, [join(REPO, 'test', 'conformance', 'make_tiny_t5.py'), dir, GENERATOR_DIR], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', OMP_NUM_THREADS: '1' },
    });
    ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as T5Reference;
    gen = await loadGenerator({ dir, intraOpThreads: 1 });
  });
  after(async () => {
    await gen?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('config: T5 shape and special tokens', () => {
    assert.equal(gen.config.modelType, 't5');
    assert.equal(gen.config.decoderStartTokenId, 0);
    assert.equal(gen.config.padTokenId, 0);
    assert.deepEqual(gen.config.eosTokenIds, [1]);
    assert.equal(gen.config.forcedBosTokenId, null);
  });

  it('greedy: identical rows, finished ones padded with pad (0)', async () => {
    const res = await generate(gen, { inputIds: ref.input_ids, attentionMask: ref.attention_mask }, { numBeams: 1, maxLength: ref.max_length });
    assert.deepEqual(res.sequences, ref.greedy);
    assert.ok(ref.greedy.some((r) => r.includes(1)) && ref.greedy.some((r) => !r.includes(1)), 'the reference has early and full-length rows');
  });

  it('beam search: identical rows (filled with eos), sequences_scores', async () => {
    const res = await generate(gen, { inputIds: ref.input_ids, attentionMask: ref.attention_mask }, {
      numBeams: ref.beam.num_beams,
      numReturnSequences: ref.beam.num_return_sequences,
      maxLength: ref.max_length,
    });
    assert.deepEqual(res.sequences, ref.beam.sequences);
    res.results.flat().forEach((h, i) => assertClose(h.score, ref.beam.sequences_scores[i]!, `row ${i} score`, 1e-3));
  });
});
