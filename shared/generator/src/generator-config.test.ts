import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '@rag/core';
import { modelShape, readGeneratorConfig, resolveGenerationDefaults } from './generator-config.js';

const FIXTURE_GEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hf-rag', 'generator');

test('the fixture BART: shape from config.json, decoding settings from generation_config.json over HF defaults', () => {
  const c = readGeneratorConfig(FIXTURE_GEN);
  assert.equal(c.modelType, 'bart');
  assert.equal(c.headDim * c.numHeads, c.dModel);
  assert.deepEqual(c.eosTokenIds, [2]);
  assert.equal(c.decoderStartTokenId, 2);
  assert.equal(c.forcedBosTokenId, 0);
  assert.equal(c.padTokenId, 1);
  // Not in either file: transformers' GenerationConfig defaults.
  assert.equal(c.numBeams, 1);
  assert.equal(c.lengthPenalty, 1);
  assert.equal(c.earlyStopping, false);
  assert.equal(c.noRepeatNgramSize, 0);
});

test('generation_config.json wins over config.json, which wins over the defaults', () => {
  const d = resolveGenerationDefaults(
    { eos_token_id: 2, pad_token_id: 1, decoder_start_token_id: 2, num_beams: 4, max_length: 62, no_repeat_ngram_size: 3 },
    { num_beams: 5, early_stopping: true },
    'x',
  );
  assert.equal(d.numBeams, 5);
  assert.equal(d.maxLength, 62);
  assert.equal(d.noRepeatNgramSize, 3);
  assert.equal(d.earlyStopping, true);
  assert.equal(d.minLength, 0);
});

test('T5 conventions: no forced BOS, decoder start = pad, pad falls back to eos when unset', () => {
  const t5 = resolveGenerationDefaults({ eos_token_id: 1, pad_token_id: 0, decoder_start_token_id: 0 }, undefined, 't5');
  assert.equal(t5.forcedBosTokenId, null);
  assert.equal(t5.bosTokenId, null);
  assert.equal(t5.decoderStartTokenId, t5.padTokenId);
  const noPad = resolveGenerationDefaults({ eos_token_id: [7, 9], bos_token_id: 5 }, undefined, 'x');
  assert.equal(noPad.padTokenId, 7);
  assert.equal(noPad.decoderStartTokenId, 5, 'decoder start falls back to bos');
  assert.deepEqual(noPad.eosTokenIds, [7, 9]);
  assert.equal(resolveGenerationDefaults({ eos_token_id: 1, decoder_start_token_id: 0 }, { early_stopping: 'never' }, 'x').earlyStopping, 'never');
});

test('T5 and BART shapes come from their own config keys', () => {
  assert.deepEqual(modelShape({ model_type: 't5', vocab_size: 32128, d_model: 512, num_layers: 6, num_heads: 8, d_kv: 64 }, 't5'), {
    modelType: 't5',
    vocabSize: 32128,
    decoderLayers: 6,
    numHeads: 8,
    headDim: 64,
    dModel: 512,
  });
  assert.equal(modelShape({ model_type: 'bart', vocab_size: 50265, d_model: 1024, decoder_layers: 12, decoder_attention_heads: 16 }, 'b').headDim, 64);
  assert.throws(() => modelShape({ model_type: 'gpt2', vocab_size: 10 }, 'gpt2'), ModelLoadError);
});

test('a config without eos, or without config.json, is a ModelLoadError with a hint', () => {
  assert.throws(() => resolveGenerationDefaults({ pad_token_id: 0 }, undefined, 'x'), (e: unknown) => e instanceof ModelLoadError && /eos_token_id/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
  try {
    assert.throws(() => readGeneratorConfig(dir), (e: unknown) => e instanceof ModelLoadError && /config\.json/.test(e.message) && /modelkit/.test(e.hint ?? ''));
    writeFileSync(join(dir, 'config.json'), '{not json');
    assert.throws(() => readGeneratorConfig(dir), ModelLoadError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
