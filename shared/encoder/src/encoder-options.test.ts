import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ModelLoadError } from '@rag/core';
import { resolveEncoderSettings } from './encoder-options.js';

function modelDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'enc-opts-'));
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, JSON.stringify(content));
  }
  return dir;
}

// The metadata a sentence-transformers mean-pooling model ships with.
const sbertFiles = {
  'config.json': { model_type: 'bert', max_position_embeddings: 512, hidden_size: 384 },
  'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: false },
  'modules.json': [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ],
  '1_Pooling/config.json': { word_embedding_dimension: 384, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true },
};

test('sentence-transformers metadata decides pooling, normalisation, length and passage format', () => {
  const dir = modelDir(sbertFiles);
  try {
    const s = resolveEncoderSettings({ dir });
    assert.equal(s.pooling, 'mean');
    assert.equal(s.normalize, true);
    assert.equal(s.maxLength, 256);
    assert.equal(s.passageFormat, 'concat');
    assert.equal(s.titleSeparator, '. ');
    assert.equal(s.executionProvider, 'cpu');
    assert.equal(s.batchSize, 32);
    assert.equal(s.sources.maxLength, 'sentence_bert_config.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a DPR-style export (no pooling module) defaults to CLS, no normalisation, title/text pairs', () => {
  const dir = modelDir({ 'config.json': { model_type: 'dpr', max_position_embeddings: 512 }, 'tokenizer_config.json': { model_max_length: 512 } });
  try {
    const s = resolveEncoderSettings({ dir });
    assert.equal(s.pooling, 'cls');
    assert.equal(s.normalize, false);
    assert.equal(s.maxLength, 512);
    assert.equal(s.passageFormat, 'pair');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RoBERTa-style configs use the tokenizer limit, not the padded position count', () => {
  const dir = modelDir({ 'config.json': { max_position_embeddings: 514 }, 'tokenizer_config.json': { model_max_length: 512 } });
  try {
    assert.equal(resolveEncoderSettings({ dir }).maxLength, 512);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rag_encoder.json overrides model metadata, and explicit options override both', () => {
  const dir = modelDir({
    ...sbertFiles,
    'rag_encoder.json': { pooling: 'cls', normalize: false, passageFormat: 'pair', maxLength: 128, queryPrefix: 'query: ' },
  });
  try {
    const s = resolveEncoderSettings({ dir });
    assert.deepEqual([s.pooling, s.normalize, s.passageFormat, s.maxLength, s.queryPrefix], ['cls', false, 'pair', 128, 'query: ']);
    assert.equal(s.sources.pooling, 'rag_encoder.json');
    const o = resolveEncoderSettings({ dir, pooling: 'mean', normalize: true, maxLength: 64, batchSize: 8, intraOpThreads: 1 });
    assert.deepEqual([o.pooling, o.normalize, o.maxLength, o.batchSize, o.intraOpThreads], ['mean', true, 64, 8, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad settings fail with typed errors that say what to change', () => {
  const dir = modelDir({ ...sbertFiles, 'rag_encoder.json': { pooling: 'max', colour: 'blue' } });
  try {
    assert.throws(() => resolveEncoderSettings({ dir }), (e: unknown) => e instanceof ConfigError && /rag_encoder\.json/.test(e.message) && /allowed keys/.test(e.hint ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const dir2 = modelDir(sbertFiles);
  try {
    assert.throws(() => resolveEncoderSettings({ dir: dir2, maxLength: 1024 }), (e: unknown) => e instanceof ConfigError && /512/.test(e.message));
    assert.throws(() => resolveEncoderSettings({ dir: dir2, batchSize: 0 }), ConfigError);
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
  const dir3 = modelDir({ ...sbertFiles, '1_Pooling/config.json': { pooling_mode_max_tokens: true } });
  try {
    assert.throws(() => resolveEncoderSettings({ dir: dir3 }), (e: unknown) => e instanceof ModelLoadError && /rag_encoder\.json/.test(e.hint ?? ''));
  } finally {
    rmSync(dir3, { recursive: true, force: true });
  }
});

test('a question encoder names the passage encoder it was trained against; a malformed hash is refused', () => {
  const sha = 'a'.repeat(64);
  const dir = modelDir({ ...sbertFiles, 'rag_encoder.json': { passageEncoderSha256: sha, queryScale: 20 } });
  const bad = modelDir({ ...sbertFiles, 'rag_encoder.json': { passageEncoderSha256: 'not-a-hash' } });
  try {
    assert.equal(resolveEncoderSettings({ dir }).passageEncoderSha256, sha);
    assert.equal(resolveEncoderSettings({ dir }).queryScale, 20);
    assert.equal(resolveEncoderSettings({ dir: modelDirNoOverrides() }).queryScale, 1);
    assert.equal(resolveEncoderSettings({ dir: modelDirNoOverrides() }).passageEncoderSha256, undefined);
    assert.throws(() => resolveEncoderSettings({ dir: bad }), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  }
});

function modelDirNoOverrides(): string {
  return modelDir(sbertFiles);
}
