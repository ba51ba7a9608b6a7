import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@rag/config';
import { ModelLoadError } from '@rag/core';
import { cudaProviderInstalled } from '@rag/encoder';
import { lazyQaModels } from './qa-models.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hf-rag');

test('RAG_ONNX_EP=cuda reaches the generation models; without the CUDA provider the load fails saying how to install it', { skip: cudaProviderInstalled() && 'this host has the CUDA provider' }, async () => {
  const env = { RAG_HOME: '/tmp/rag-qa-models-test', RAG_ONNX_EP: 'cuda', RAG_GENERATOR: join(FIXTURE, 'generator'), RAG_QUESTION_ENCODER: join(FIXTURE, 'question_encoder') };
  const config = loadConfig(env);
  assert.equal(config.onnx.executionProvider, 'cuda');
  const models = lazyQaModels(config.generation, config.onnx);
  await assert.rejects(models.get(), (e: unknown) => {
    assert.ok(e instanceof ModelLoadError, String(e));
    assert.match(e.message, /cuda/i);
    assert.match(e.hint ?? '', /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    return true;
  });
  // The same config on cpu loads both (so the failure above is the provider, not the paths).
  const cpu = lazyQaModels(loadConfig({ ...env, RAG_ONNX_EP: 'cpu' }).generation, loadConfig({ ...env, RAG_ONNX_EP: 'cpu' }).onnx);
  const m = await cpu.get();
  assert.equal(m.generator.name, 'generator');
  await cpu.release();
});
