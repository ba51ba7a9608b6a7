// Real questions (NQ-open dev) on an enwiki snapshot with the shipped models, through the real CLI: the world-only
// generator says so in one line and points at retrieve-only, whose hits@K must equal an independent computation.
// test-tier: full
// test-lane: serial
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@rag/config';
import { readPassages } from '@rag/corpus';
import { loadEncoder } from '@rag/encoder';
import { SnapshotRetriever } from '@rag/retrieval';
import { SnapshotRegistry } from '@rag/snapshot';
import { createObjectStore } from '@rag/storage';
import { ENWIKI, REPO, runRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { hasWorldModels, jsonl, TINY_GENERATOR } from './helpers/world-snapshots.js';

const NQ = join(REPO, '../shared/data/nq-open/NQ-open.dev.jsonl');
const skip = !existsSync(ENWIKI) || !existsSync(NQ) ? 'shared/data enwiki sample or NQ-open absent' : !hasWorldModels ? 'world models absent (npm run models)' : false;
const dir = tempDir('real-q');
after(() => dir.cleanup());
// No RAG_GENERATOR / RAG_QUESTION_ENCODER: the shipped models, as a new user has them.
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home'), RAG_QA_CHUNK: '10' };
const QUESTIONS = 30;
const nq = existsSync(NQ) ? readFileSync(NQ, 'utf8').split('\n').filter(Boolean).slice(0, QUESTIONS).map((l) => JSON.parse(l) as { question: string; answer: string[] }) : [];

// DPR's has_answer, written again here on purpose (not imported): NFD, lowercase, tokens = runs of letters, digits
// and marks or single visible characters; the answer's tokens must appear contiguously in the passage's.
const SEP = '\u0001';
const tokens = (s: string) => s.normalize('NFD').toLowerCase().match(/[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}]/gu) ?? [];
const contains = (text: string, golds: string[]) => golds.some((g) => {
  const t = tokens(g);
  return t.length > 0 && `${SEP}${tokens(text).join(SEP)}${SEP}`.includes(`${SEP}${t.join(SEP)}${SEP}`);
});

before(async () => {
  if (skip) return;
  // A small enwiki snapshot that still answers some NQ questions: the sample's passages that contain a gold answer
  // of the first questions (by plain substring, a looser test than the one scored), plus the first 250 others.
  const golds = nq.flatMap((q) => q.answer.map((a) => a.toLowerCase())).filter((a) => a.length >= 4);
  const keep: string[] = [];
  let others = 0, withAnswer = 0;
  for await (const p of readPassages(ENWIKI)) {
    const lower = p.text.toLowerCase();
    const answers = golds.some((g) => lower.includes(g));
    if (answers ? withAnswer++ >= 150 : others++ >= 250) continue;
    keep.push(JSON.stringify({ id: `p${keep.length}`, title: p.title, text: p.text }));
  }
  const corpus = join(dir.path, 'enwiki-nq.jsonl');
  writeFileSync(corpus, keep.join('\n') + '\n');
  const r = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'enwiki-nq', '--workers', '1', '--shard-size', '200', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
});

test('qa run with the shipped models on NQ-open: a one-line notice, and the retrieval-only score on offer', { skip, timeout: 600_000 }, async () => {
  const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--limit', '4', '--k', '5', '--beams', '1', '--workers', '1', '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  const notes = r.stderr.split('\n').filter((l) => l.startsWith('rag: note:'));
  assert.equal(notes.length, 1, r.stderr);
  assert.match(notes[0]!, /the generator \(models\/world-generator\) was trained only on the synthetic world, so its answers to these nq-jsonl questions are not real answers/);
  assert.match(notes[0]!, /--mode retrieve-only/);
  assert.match(notes[0]!, /RAG_GENERATOR/);
  const s = JSON.parse(r.stdout);
  assert.equal(s.n, 4);
  assert.deepEqual(Object.keys(s.retrieval.hits), ['1', '5'], 'retrieval hits@K beside EM');
  // The caveat travels with the results, not only on stderr.
  assert.equal(s.knowledge, 'synthetic-world-only');
  assert.match(s.notice, /not real answers/);
  // Without --json the summary line offers it in words.
  const plain = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--limit', '4', '--k', '5', '--beams', '1', '--workers', '1', '--no-progress', '--out', join(dir.path, 'nq.jsonl')], env);
  assert.equal(plain.code, 0, plain.stderr);
  for (const row of jsonl(readFileSync(join(dir.path, 'nq.jsonl'), 'utf8'))) assert.equal(row.knowledge, 'synthetic-world-only');
  assert.match(plain.stderr, /retrieval alone: gold answer in the top 1 \/ 5 passages: [\d.]+% \/ [\d.]+% of 4 questions \(hits@K, as DPR reports\)/);
  const help = await runRag(['qa', 'run', '--help'], env);
  assert.match(help.stdout, /trained only on the synthetic world/);
  assert.match(help.stdout, /--mode retrieve-only/);
  assert.match(help.stdout, /RAG_GENERATOR=DIR/);
});

test('retrieve-only: passages with provenance, hits@K equal to an independent computation', { skip, timeout: 600_000 }, async () => {
  const out = join(dir.path, 'retrieved.jsonl');
  const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--mode', 'retrieve-only', '--limit', String(QUESTIONS), '--workers', '1', '--out', out, '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes('rag: note:'), 'no generator, no notice');
  const recs = jsonl(readFileSync(out, 'utf8'));
  const summary = JSON.parse(readFileSync(join(dir.path, 'retrieved.summary.json'), 'utf8'));
  assert.equal(recs.length, QUESTIONS);
  assert.equal(summary.k, 20, 'retrieve-only defaults to DPR\'s top-20');

  // The same retrieval in-process, with the same models and snapshot, scored by this file's own matcher.
  const config = loadConfig(env);
  const store = createObjectStore(config.storage);
  const retriever = await SnapshotRetriever.load(store, 'enwiki-nq');
  const encoder = await loadEncoder({ dir: config.generation.questionEncoderDir, executionProvider: 'cpu', intraOpThreads: 0 });
  const found: Awaited<ReturnType<typeof retriever.search>> = [];
  try {
    // Chunk by chunk as the workers encode (RAG_QA_CHUNK): the int8 encoder's activation scales are per batch.
    for (let i = 0; i < nq.length; i += 10) found.push(...(await retriever.search(encoder, nq.slice(i, i + 10).map((q) => q.question), 20)));
  } finally {
    await encoder.release();
  }
  const ranks = nq.map((q, i) => {
    const at = found[i]!.findIndex((p) => contains(p.text, q.answer));
    return at < 0 ? null : at + 1;
  });
  recs.forEach((rec, i) => {
    assert.equal(rec.mode, 'retrieve-only');
    assert.equal(rec.answer, '');
    assert.deepEqual(rec.gold, nq[i]!.answer);
    // Provenance: the same passages, best first, with their text.
    assert.deepEqual(rec.docs.map((d: { id: string }) => d.id), found[i]!.map((p) => p.id), `question ${i}`);
    assert.deepEqual(rec.docs.map((d: { text: string }) => d.text), found[i]!.map((p) => p.text));
    assert.equal(rec.gold_rank, ranks[i], `question ${i}: ${nq[i]!.question}`);
  });
  const hitsAt = (k: number) => ranks.filter((x) => x !== null && x <= k).length / QUESTIONS;
  const expected = { 1: hitsAt(1), 5: hitsAt(5), 20: hitsAt(20) };
  assert.ok(expected[20] >= 0.1, `the corpus was built to answer some questions: hits@20 ${expected[20]}`);
  assert.ok(expected[1] < expected[20], 'hits grow with K');
  // hits@K's ceiling: questions whose gold occurs in any passage of the snapshot, by this file's matcher.
  const manifest = await new SnapshotRegistry(store).read('enwiki-nq');
  const texts: string[] = [];
  for await (const p of SnapshotRetriever.readPassages(store, manifest)) texts.push(p.text);
  const answerable = nq.filter((q) => texts.some((t) => contains(t, q.answer))).length;
  assert.ok(answerable >= Math.round(expected[20] * QUESTIONS) && answerable < QUESTIONS, `ceiling ${answerable}`);
  assert.deepEqual(summary.retrieval, { k: 20, scored: QUESTIONS, hits: expected, ceiling: { snapshot: 'enwiki-nq', answerable, passages: texts.length } });
  assert.match(r.stderr, new RegExp(`a gold answer occurs anywhere in the ${texts.length} passages of enwiki-nq for ${answerable} of them`));
  assert.equal(summary.em, null, 'nothing generated, nothing to score as EM');
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  assert.match(r.stderr, new RegExp(`gold answer in the top 1 / 5 / 20 passages: ${pct(expected[1])} / ${pct(expected[5])} / ${pct(expected[20])} of ${QUESTIONS} questions`));
  // Retrieval needs no generator: workers do not load one for retrieve-only chunks.
  const noGen = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--mode', 'retrieve-only', '--limit', '3', '--workers', '1', '--json', '--no-progress'], { ...env, RAG_GENERATOR: join(dir.path, 'no-such-generator') });
  assert.equal(noGen.code, 0, noGen.stderr);
  assert.deepEqual([JSON.parse(noGen.stdout).answered, JSON.parse(noGen.stdout).failed], [3, 0]);
});

test('a generator of your own (RAG_GENERATOR) gets no notice', { skip, timeout: 600_000 }, async () => {
  const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--limit', '3', '--k', '2', '--beams', '1', '--workers', '1', '--json', '--no-progress'], { ...env, RAG_GENERATOR: TINY_GENERATOR });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes('rag: note:'), r.stderr);
  assert.equal(JSON.parse(r.stdout).n, 3);
});

const PYTHON = join(REPO, 'services/modelkit/.venv/bin/python');

test('a Hugging Face checkpoint converts to our ONNX layout in one command and answers as RAG_GENERATOR, without the notice', { skip: skip || (!existsSync(PYTHON) && 'services/modelkit/.venv absent (bash infra/setup-python.sh)'), timeout: 900_000 }, async () => {
  const ckpt = join(dir.path, 'my-bart');
  const out = join(dir.path, 'my-generator');
  const pyEnv = { ...process.env, HF_HUB_OFFLINE: '1', PYTHONPATH: join(REPO, 'services/modelkit/src') };
  const made = spawnSync(PYTHON, [join(REPO, 'test/helpers/save-tiny-bart.py'), ckpt], { env: pyEnv, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  // The command docs/models.md shows, as written there (from the repository root).
  const conv = spawnSync(PYTHON, ['-m', 'modelkit', 'export-seq2seq', '--model', ckpt, '--out', out], { cwd: REPO, env: pyEnv, encoding: 'utf8' });
  assert.equal(conv.status, 0, conv.stderr);
  assert.equal(JSON.parse(conv.stdout).verification.greedy_ids_equal_generate, true);
  for (const f of ['config.json', 'tokenizer.json', 'onnx/encoder_model.onnx', 'onnx/decoder_model.onnx', 'onnx/decoder_with_past_model.onnx']) assert.ok(existsSync(join(out, f)), f);
  const r = await runRag(['qa', 'run', '--questions', NQ, '--snapshot', 'enwiki-nq', '--limit', '2', '--k', '2', '--beams', '1', '--workers', '1', '--json', '--no-progress'], { ...env, RAG_GENERATOR: out });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes('rag: note:'), r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual([s.n, s.failed], [2, 0]);
});
