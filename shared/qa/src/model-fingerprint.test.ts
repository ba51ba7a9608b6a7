import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFingerprint } from './model-fingerprint.js';
import { qaRunId, type QuestionSet } from './qa-run.js';

test('the model fingerprint follows file contents, and a different model gives a different QA run id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-'));
  try {
    const gen = join(dir, 'gen');
    mkdirSync(join(gen, 'onnx'), { recursive: true });
    writeFileSync(join(gen, 'config.json'), '{"d_model":128}');
    writeFileSync(join(gen, 'onnx', 'decoder_model.onnx'), 'weights v1');
    const first = await modelFingerprint([gen]);
    assert.equal(await modelFingerprint([gen]), first, 'same files, same fingerprint');
    writeFileSync(join(gen, 'onnx', 'decoder_model.onnx'), 'weights v2');
    const retrained = await modelFingerprint([gen]);
    assert.notEqual(retrained, first, 'retrained weights change the fingerprint');
    // Files the model is not loaded from do not count; its configs and tokenizers do.
    writeFileSync(join(gen, 'README.md'), 'notes about this export\n');
    writeFileSync(join(gen, 'retrained.txt'), 'a note\n');
    writeFileSync(join(gen, '.DS_Store'), 'x');
    mkdirSync(join(gen, '.git'));
    writeFileSync(join(gen, '.git', 'HEAD'), 'ref: main\n');
    assert.equal(await modelFingerprint([gen]), retrained, 'stray files leave the fingerprint alone');
    writeFileSync(join(gen, 'tokenizer.json'), '{"model":{}}');
    assert.notEqual(await modelFingerprint([gen]), retrained, 'a tokenizer file counts');

    const set: QuestionSet = { questions: [{ id: 'q1', index: 0, question: 'Who?' }], source: { path: 'q.jsonl', sha256: 'abc', format: 'text' } };
    const settings = { target: 'prod', mode: 'rag-token' as const, k: 5, beams: 4 };
    assert.equal(qaRunId(set, settings, 16, undefined, first), qaRunId(set, settings, 16, undefined, first));
    assert.notEqual(qaRunId(set, settings, 16, undefined, first), qaRunId(set, settings, 16, undefined, retrained), 'a new model is a new run, not a resume');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
