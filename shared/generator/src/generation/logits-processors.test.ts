import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDecodeOptions } from './decode-options.js';
import { buildLogitsProcessors, forcedBos, forcedEos, minLength, noRepeatNgram, repetitionPenalty } from './logits-processors.js';

const V = 6;
const row = (...xs: number[]) => Float32Array.from(xs);

test('repetition penalty: seen tokens with negative scores are multiplied, positive ones divided, once each', () => {
  const s = row(2, -2, 1, -1, 0.5, 3);
  repetitionPenalty(2)([[0, 1, 1, 5]], s, V);
  assert.deepEqual([...s], [1, -4, 1, -1, 0.5, 1.5]);
});

test('no-repeat-ngram bans the tokens that would repeat an n-gram already in the row (HF example)', () => {
  // Row 7 8 9 7 8: bigram prefixes (7)->8, (8)->9, (9)->7, (7)->8; last token 8 → 9 is banned.
  const s = new Float32Array(2 * 10);
  noRepeatNgram(2)([[7, 8, 9, 7, 8], [1, 2]], s, 10);
  assert.deepEqual([...s.subarray(0, 10)].map((x, i) => (x === -Infinity ? i : -1)).filter((i) => i >= 0), [9]);
  assert.ok(s.subarray(10).every((x) => x === 0), 'row 2: 2 is new after 1... only (1)->2 exists and the tail is (2)');
  // Trigrams: tail (7, 8) was followed by 9.
  const t = new Float32Array(10);
  noRepeatNgram(3)([[7, 8, 9, 7, 8]], t, 10);
  assert.equal(t[9], -Infinity);
  assert.equal(t.filter((x) => x === -Infinity).length, 1);
  // Shorter than n-1 tokens: nothing banned.
  const u = new Float32Array(10);
  noRepeatNgram(3)([[7]], u, 10);
  assert.ok(u.every((x) => x === 0));
});

test('min length blocks every EOS id while the row (decoder start included) is shorter than min', () => {
  const s = new Float32Array(2 * V);
  minLength(3, [2, 4])([[0, 5], [0, 5, 5]], s, V);
  assert.deepEqual([...s.subarray(0, V)], [0, 0, -Infinity, 0, -Infinity, 0]);
  assert.ok(s.subarray(V).every((x) => x === 0));
});

test('forced BOS at length 1 and forced EOS at maxLength-1 leave exactly one finite score (0)', () => {
  const s = row(1, 2, 3, 4, 5, 6);
  forcedBos(0)([[2]], s, V);
  assert.deepEqual([...s], [0, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
  const untouched = row(1, 2, 3, 4, 5, 6);
  forcedBos(0)([[2, 0]], untouched, V);
  assert.deepEqual([...untouched], [1, 2, 3, 4, 5, 6]);
  const e = row(1, 2, 3, 4, 5, 6);
  forcedEos(4, [2])([[2, 0, 5]], e, V);
  assert.deepEqual([...e], [-Infinity, -Infinity, 0, -Infinity, -Infinity, -Infinity]);
});

test('buildLogitsProcessors follows transformers: only the configured processors, in its order', () => {
  const base = { decoderStartTokenId: 2, bosTokenId: 0, eosTokenIds: [2], padTokenId: 1, forcedBosTokenId: null, forcedEosTokenId: null, maxLength: 10, minLength: 0, noRepeatNgramSize: 0, repetitionPenalty: 1, lengthPenalty: 1, numBeams: 1, earlyStopping: false as const };
  assert.equal(buildLogitsProcessors(resolveDecodeOptions(base)).length, 0);
  const all = resolveDecodeOptions(base, { repetitionPenalty: 1.2, noRepeatNgramSize: 3, minLength: 2, forcedBosTokenId: 0, forcedEosTokenId: [2] });
  assert.equal(buildLogitsProcessors(all).length, 5);
  // Order matters: forced BOS runs after min length, so at length 1 the forced token survives.
  const s = new Float32Array(V);
  for (const p of buildLogitsProcessors(resolveDecodeOptions(base, { minLength: 5, forcedBosTokenId: 2 }))) p([[2]], s, V);
  assert.equal(s[2], 0);
  assert.throws(() => resolveDecodeOptions(base, { numBeams: 2, numReturnSequences: 3 }), /numReturnSequences/);
});
