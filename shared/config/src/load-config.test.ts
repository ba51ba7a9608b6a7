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

test('safe defaults: loopback, read-only dashboard, worker path roots (cwd for sources; models/ and configured model dirs)', () => {
  const c = loadConfig({ RAG_HOME: '/tmp/h' });
  assert.equal(c.monitoring.host, '127.0.0.1');
  assert.equal(c.monitoring.adminToken, undefined);
  assert.deepEqual(c.paths.sourceRoots, [process.cwd()]);
  assert.ok(c.paths.modelRoots.includes(join(REPO_ROOT, 'models')));
  assert.equal(c.queue.shutdownMs, 5000);
  const custom = loadConfig({ RAG_HOME: '/tmp/h', RAG_SOURCE_ROOTS: '/data/dumps::relative', RAG_ENCODER: '/opt/enc', RAG_ADMIN_TOKEN: 'x'.repeat(20) });
  assert.deepEqual(custom.paths.sourceRoots, ['/data/dumps', join(process.cwd(), 'relative')]);
  assert.ok(custom.paths.modelRoots.includes('/opt/enc'), 'the configured encoder is a model root');
  assert.equal(custom.monitoring.adminToken, 'x'.repeat(20));
  assert.deepEqual(loadConfig({ RAG_HOME: '/tmp/h', RAG_MODEL_ROOTS: '/m' }).paths.modelRoots, ['/m']);
  assert.throws(() => loadConfig({ RAG_HOME: '/tmp/h', RAG_ADMIN_TOKEN: 'short' }), (e: unknown) => e instanceof ConfigError && /at least 16/.test(e.message) && !e.message.includes('short"'));
});
