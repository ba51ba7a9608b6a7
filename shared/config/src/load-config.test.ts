import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigError } from '@rag/core';
import { loadConfig, REPO_ROOT } from './load-config.js';

test('generation settings: explicit env wins; a user passage encoder is also the question encoder by default', () => {
  const c = loadConfig({ RAG_HOME: '/tmp/h', RAG_GENERATOR: '/models/gen', RAG_QUESTION_ENCODER: '/models/q', RAG_QA_CHUNK: '4' });
  assert.equal(c.generation.generatorDir, '/models/gen');
  assert.equal(c.generation.questionEncoderDir, '/models/q');
  assert.equal(c.generation.chunkSize, 4);
  const own = loadConfig({ RAG_HOME: '/tmp/h', RAG_ENCODER: '/models/my-dpr' });
  assert.equal(own.generation.questionEncoderDir, '/models/my-dpr');
  const dflt = loadConfig({ RAG_HOME: '/tmp/h' });
  assert.equal(dflt.generation.generatorDir, join(REPO_ROOT, 'models', 'world-generator'));
  assert.equal(dflt.generation.chunkSize, 16);
});

test('bad numbers are reported together with the variable path', () => {
  assert.throws(() => loadConfig({ RAG_HOME: '/tmp/h', RAG_QA_CHUNK: 'many', RAG_JOB_ATTEMPTS: '0' }), (e: unknown) => e instanceof ConfigError && /generation\.chunkSize/.test(e.message) && /queue\.attempts/.test(e.message));
});
