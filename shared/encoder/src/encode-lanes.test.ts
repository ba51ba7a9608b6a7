// test-lane: serial (two ONNX Runtime threads per session)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEncoder } from './load-encoder.js';
import type { Encoder } from './encoder.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Every encoder the repository ships: int8 (one text per call) and fp32 (batched). */
const SHIPPED = ['all-MiniLM-L6-v2', 'minilm-static-256', 'world-question-encoder'].map((m) => join(repo, 'models', m));
const FIXTURE = join(repo, 'test', 'fixtures', 'static-encoder-reference.json');
const missing = [...SHIPPED, FIXTURE].filter((p) => !existsSync(p));
const skip = missing.length > 0 ? `absent: ${missing.join(', ')} (npm run models)` : false;

/** Real texts of very different lengths: reference sentences and 100-word enwiki passages. */
function realTexts(): string[] {
  const f = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { texts: { text: string }[] };
  return f.texts.map((t) => t.text);
}

async function vectors(enc: Encoder, texts: string[]): Promise<{ passages: Float32Array; queries: Float32Array }> {
  const passages = await enc.encodePassages(texts.map((t, i) => ({ title: i % 3 === 0 ? '' : `Title ${i}`, text: t })));
  const queries = await enc.encodeQueries(texts.slice(0, 12));
  return { passages, queries };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${what}: bytes differ`);
}

for (const dir of SHIPPED) {
  test(`lanes give the same bits as one session, for ${dir.split('/').pop()}`, { skip }, async (t) => {
    const texts = realTexts();
    // batchSize 4: the fp32 model runs many batches, spread over both lanes out of order.
    const one = await loadEncoder({ dir, intraOpThreads: 1, batchSize: 4 });
    const intraOp = await loadEncoder({ dir, intraOpThreads: 2, threading: 'intra-op', batchSize: 4 });
    const lanes = await loadEncoder({ dir, intraOpThreads: 2, batchSize: 4 });
    try {
      assert.equal(one.lanes, 1);
      assert.equal(intraOp.lanes, 1);
      assert.equal(lanes.lanes, 2);
      const ref = await vectors(one, texts);
      for (const [name, enc] of [['intra-op x2', intraOp], ['2 lanes', lanes]] as const) {
        const got = await vectors(enc, texts);
        sameBits(got.passages, ref.passages, `${name} passages`);
        sameBits(got.queries, ref.queries, `${name} queries`);
      }
      // Concurrent calls share the lanes and still get their own rows.
      const [a, b] = await Promise.all([lanes.encode(texts.slice(0, 20)), lanes.encode(texts.slice(20))]);
      sameBits(a, await one.encode(texts.slice(0, 20)), 'concurrent call 1');
      sameBits(b, await one.encode(texts.slice(20)), 'concurrent call 2');
      t.diagnostic(`${texts.length} texts, textsPerCall=${lanes.callBatchSize}, dim=${lanes.dim}`);
    } finally {
      await Promise.all([one.release(), intraOp.release(), lanes.release()]);
    }
  });
}

test('a released lane encoder refuses work and lets the process exit', { skip }, async () => {
  const enc = await loadEncoder({ dir: SHIPPED[1]!, intraOpThreads: 2 });
  assert.equal(enc.lanes, 2);
  await enc.release();
  await assert.rejects(enc.encode(['x']), /after release/);
  await enc.release(); // idempotent
});

test('threading must be lanes or intra-op', async () => {
  await assert.rejects(loadEncoder({ dir: SHIPPED[1]!, threading: 'many' as never }), /threading must be/);
});
