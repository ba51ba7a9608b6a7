import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '@rag/core';
import { loadEncoder } from './load-encoder.js';
import { cudaProviderInstalled } from './session-pool.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MODEL_DIR = join(repo, 'models', 'all-MiniLM-L6-v2');
const skip = existsSync(MODEL_DIR)
  ? false
  : `model dir ${MODEL_DIR} is absent; export it with \`python -m modelkit export-encoder\` (services/modelkit)`;

function isModelLoadError(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${String(e)}`);
    assert.equal(e.code, 'MODEL_LOAD');
    assert.match(e.message, pattern);
    assert.match(e.hint ?? '', /optimum-cli export onnx|modelkit export-encoder|cuda|CUDA/);
    return true;
  };
}

/** A scratch model dir holding links to some of the real model's files. */
function partialDir(files: string[], onnxSubdir = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'enc-load-'));
  for (const f of files) {
    const src = join(MODEL_DIR, f);
    if (!existsSync(src)) continue;
    const dst = f === 'model.onnx' && onnxSubdir ? join(dir, 'onnx', 'model.onnx') : join(dir, f);
    mkdirSync(dirname(dst), { recursive: true });
    symlinkSync(src, dst);
  }
  return dir;
}

test('a missing directory fails with ModelLoadError and an export hint', async () => {
  const dir = join(tmpdir(), `no-such-model-${process.pid}`);
  await assert.rejects(loadEncoder({ dir }), isModelLoadError(/does not exist/));
});

test('a directory without model.onnx names both places it looked and how to export', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enc-empty-'));
  try {
    await assert.rejects(loadEncoder({ dir }), (e: unknown) => {
      isModelLoadError(/no ONNX model/)(e);
      const err = e as ModelLoadError;
      assert.ok(err.message.includes(dir));
      assert.match(err.message, /onnx\/model\.onnx/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model.onnx without tokenizer.json fails with the missing path', { skip }, async () => {
  const dir = partialDir(['model.onnx', 'config.json', 'tokenizer_config.json']);
  try {
    await assert.rejects(loadEncoder({ dir }), isModelLoadError(/tokenizer\.json/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Hub layout onnx/model.onnx is accepted and gives the same vectors', { skip }, async () => {
  const dir = partialDir(readdirSync(MODEL_DIR).filter((f) => f !== 'onnx'), true);
  const a = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1 });
  const b = await loadEncoder({ dir, intraOpThreads: 1 });
  try {
    assert.ok(b.modelPath.endsWith(join('onnx', 'model.onnx')));
    assert.equal(a.sha256, b.sha256, 'same bytes, same hash');
    assert.match(a.sha256, /^[0-9a-f]{64}$/);
    const [va, vb] = [await a.encode(['Paris is in France.']), await b.encode(['Paris is in France.'])];
    assert.deepEqual([...va], [...vb]);
  } finally {
    await a.release();
    await b.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encoders of the same model share one session; release() of one leaves the other working', { skip }, async () => {
  const a = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1 });
  const b = await loadEncoder({ dir: MODEL_DIR, intraOpThreads: 1, batchSize: 4 });
  try {
    assert.equal((a as unknown as { runner: { session: unknown } }).runner.session, (b as unknown as { runner: { session: unknown } }).runner.session);
    await a.release();
    await assert.rejects(a.encode(['x']), /after release/);
    assert.equal((await b.encode(['still works'])).length, b.dim);
  } finally {
    await a.release();
    await b.release();
  }
});

test('executionProvider cuda without a CUDA provider fails clearly', { skip: skip || (cudaProviderInstalled() && 'this host has the CUDA provider') }, async () => {
  await assert.rejects(loadEncoder({ dir: MODEL_DIR, executionProvider: 'cuda' }), isModelLoadError(/cuda/i));
});
