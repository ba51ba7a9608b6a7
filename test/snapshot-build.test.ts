// End-to-end: ./rag snapshot build on embedded defaults (private redis-server, local storage),
// then list/show/passages/search, rebuild refusal, and resume after a failed build.
// test-tier: full
// test-lane: serial
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRag, REPO } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const dir = tempDir('build');
const storage = join(dir.path, 'storage');
const corpus = join(dir.path, 'topics.jsonl');
const env = { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home') };

before(() => { writeTopicCorpus(corpus, 12); });
after(() => dir.cleanup());

test('build publishes a snapshot with a complete manifest', async () => {
  const r = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-v1', '--workers', '2', '--shard-size', '16', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /published topics-v1/);

  const show = await runRag(['snapshot', 'show', 'topics-v1', '--json'], env);
  assert.equal(show.code, 0, show.stderr);
  const m = JSON.parse(show.stdout);
  assert.equal(m.id, 'topics-v1');
  assert.equal(m.status, 'ready');
  assert.equal(m.passages, m.vectors);
  assert.ok(m.passages >= 36, `expected >= 36 passages, got ${m.passages}`);
  assert.equal(m.dim, 384);
  assert.ok(m.shards.length >= 3, 'shard size 16 must give several shards');
  assert.equal(m.shards.reduce((a: number, s: { passages: number }) => a + s.passages, 0), m.passages);
  for (const s of m.shards) {
    assert.match(s.sha256, /^[0-9a-f]{64}$/);
    assert.ok(existsSync(join(storage, s.key)), `shard object ${s.key} exists`);
  }
  assert.match(m.encoder.sha256, /^[0-9a-f]{64}$/);
  assert.ok(m.encoder.name.length > 0);
  assert.equal(m.source.path, corpus);
  assert.match(m.source.sha256, /^[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(Date.parse(m.createdAt)));

  const list = await runRag(['snapshot', 'list', '--json'], env);
  assert.deepEqual(JSON.parse(list.stdout).map((s: { id: string }) => s.id), ['topics-v1']);
});

test('passages come back in order with limit and offset', async () => {
  const all = await runRag(['snapshot', 'passages', 'topics-v1'], env);
  const rows = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'passage ids are unique');
  assert.deepEqual(Object.keys(rows[0]).sort(), ['id', 'text', 'title']);
  const page = await runRag(['snapshot', 'passages', 'topics-v1', '--offset', '17', '--limit', '5'], env);
  assert.deepEqual(page.stdout.trim().split('\n').map((l) => JSON.parse(l).id), rows.slice(17, 22).map((r) => r.id));
});

test('search returns the passage whose text is the query, first', async () => {
  const rows = (await runRag(['snapshot', 'passages', 'topics-v1', '--limit', '40'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
  for (const p of [rows[0], rows[13], rows[29]]) {
    const r = await runRag(['search', '--snapshot', 'topics-v1', '--query', p.text, '--k', '3', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const hits = JSON.parse(r.stdout);
    assert.equal(hits.length, 3);
    assert.equal(hits[0].id, p.id);
    assert.ok(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score, 'best first');
  }
  const q = await runRag(['search', '--snapshot', 'topics-v1', '--query', 'Which instrument is played with a bow and rosin?', '--json'], env);
  assert.match(JSON.parse(q.stdout)[0].title, /Violin/);
  // As text, the output says what the scores are: MiniLM's unit vectors give cosine similarity.
  const text = await runRag(['search', '--snapshot', 'topics-v1', '--query', 'Which instrument is played with a bow and rosin?', '--k', '2'], env);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n');
  assert.match(lines[0]!, /^score: cosine similarity/);
  const first = Number(/^1\. \[([\d.-]+)\]/.exec(lines[1]!)?.[1]);
  assert.ok(first > 0 && first <= 1, lines[1]);
});

test('building over a published snapshot id is refused and changes nothing', async () => {
  const before = statSync(join(storage, 'snapshots/topics-v1/manifest.json')).mtimeMs;
  const r = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-v1', '--no-progress'], env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already published/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one-line reason');
  assert.equal(statSync(join(storage, 'snapshots/topics-v1/manifest.json')).mtimeMs, before);
});

test('invalid snapshot ids are refused before any work', async () => {
  for (const id of ['../escape', 'Upper', 'a/b', '-x']) {
    const r = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', id, '--no-progress'], env);
    assert.equal(r.code, 2, `${id}: ${r.stderr}`);
    assert.match(r.stderr, /invalid snapshot id/);
  }
  assert.ok(!existsSync(join(storage, 'escape')));
});

test('a failed build publishes nothing, and re-running resumes without redoing ingest', async () => {
  // An encoder whose model file is corrupt: ingest succeeds, encoding fails.
  const bad = join(dir.path, 'bad-encoder');
  cpSync(join(REPO, 'models/all-MiniLM-L6-v2'), bad, { recursive: true });
  writeFileSync(join(bad, 'model.onnx'), Buffer.from('not an onnx model'));
  const r1 = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-resume', '--encoder', bad, '--shard-size', '16', '--no-progress'], env);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr, /failed/);
  assert.ok(!existsSync(join(storage, 'snapshots/topics-resume/manifest.json')), 'nothing published');
  // Ingest output is content-addressed; the ingest marker says where shard 0 went.
  const ingestMarker = JSON.parse(readFileSync(join(storage, 'snapshots/topics-resume/_build/ingest.json'), 'utf8'));
  const shardFile = join(storage, ingestMarker.shards[0].key);
  assert.ok(existsSync(shardFile), 'ingest output kept');
  const ingestMtime = statSync(shardFile).mtimeMs;

  const r2 = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-resume', '--shard-size', '16', '--no-progress'], env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r1.stderr, /resuming/, 'a first attempt is not a resume');
  assert.match(r2.stderr, new RegExp(`resuming the build of topics-resume from what the last attempt left: ingest done, 0 of ${ingestMarker.shards.length} shard\\(s\\) encoded, 0 of ${ingestMarker.shards.length} indexed`));
  // topics-v1 (the first test) encoded and indexed the same shards: found, not redone, and said so.
  assert.match(r2.stdout, /work: 0 passages encoded; found done by topics-v1: embeddings of \d+ passages/);
  assert.equal(statSync(shardFile).mtimeMs, ingestMtime, 'ingest was skipped on resume');
  // (Content-addressed writes skip identical objects anyway: the marker's finish time is the proof.)
  const after = JSON.parse(readFileSync(join(storage, 'snapshots/topics-resume/_build/ingest.json'), 'utf8'));
  assert.equal(after.finishedAt, ingestMarker.finishedAt, 'ingest marker not rewritten');
  const m = JSON.parse((await runRag(['snapshot', 'show', 'topics-resume', '--json'], env)).stdout);
  assert.equal(m.passages, m.vectors);
  const v1 = JSON.parse((await runRag(['snapshot', 'show', 'topics-v1', '--json'], env)).stdout);
  assert.deepEqual(m.shards.map((s: { sha256: string }) => s.sha256), v1.shards.map((s: { sha256: string }) => s.sha256),
    'same input gives byte-identical shards (idempotent)');
});

test('one shard split into encode jobs for 2 workers publishes the same embeddings as one encode job', async (t) => {
  const one = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-one-job', '--workers', '2', '--shard-size', '1000', '--encode-part', '0', '--no-progress'], env);
  assert.equal(one.code, 0, one.stderr);
  // The split build must encode for itself, not find the one-job build's work by its inputs.
  rmSync(join(storage, 'work'), { recursive: true, force: true });
  const split = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-split', '--workers', '2', '--shard-size', '1000', '--encode-part', '4', '--no-progress'], { ...env, RAG_LOG_LEVEL: 'info' });
  assert.equal(split.code, 0, split.stderr);
  const show = async (id: string) => JSON.parse((await runRag(['snapshot', 'show', id, '--json'], env)).stdout);
  const [a, b] = [await show('topics-one-job'), await show('topics-split')];
  assert.equal(b.shards.length, 1);
  assert.equal(b.vectors, a.vectors);
  assert.equal(b.shards[0].embeddingsSha256, a.shards[0].embeddingsSha256, 'byte-identical embeddings');
  assert.equal(b.shards[0].sha256, a.shards[0].sha256, 'byte-identical index');
  // Each part was a job of its own, taken by whichever worker was free.
  const logs = readdirSync(join(dir.path, 'home', 'logs')).map((f) => readFileSync(join(dir.path, 'home', 'logs', f), 'utf8'));
  const perWorker = logs.map((l) => l.split('\n').filter((line) => line.includes('"shard.part.encoded"') && line.includes('"topics-split"')).length);
  assert.equal(perWorker.reduce((x, y) => x + y, 0), Math.ceil(b.vectors / 4), 'one part job per 4 passages');
  t.diagnostic(`parts encoded per worker: ${perWorker.join(', ')}`);
});

test('a compressed index asked for a snapshot too small to train one is Flat, and the build says so once, with what to change', async () => {
  const r = await runRag(['snapshot', 'build', '--source', corpus, '--snapshot', 'topics-pq-small', '--shard-size', '16', '--index', 'ivfpq', '--no-progress', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.ok(m.shards.every((s: { index: { kind: string } }) => s.index.kind === 'flat'));
  const notes = r.stderr.split('\n').filter((l) => l.startsWith('rag: note:'));
  assert.equal(notes.length, 1, r.stderr);
  assert.match(notes[0]!, new RegExp(`${m.shards.length} of ${m.shards.length} shard\\(s\\) were built flat instead of ivfpq: ivfpq needs at least 9984 passages to train its quantizers; the snapshot has ${m.passages} .*--pq-bits 4 trains on 624`));
});

test('an empty corpus fails with a clear reason and publishes nothing', async () => {
  const empty = join(dir.path, 'empty.jsonl');
  writeFileSync(empty, '');
  const r = await runRag(['snapshot', 'build', '--source', empty, '--format', 'jsonl', '--snapshot', 'empty', '--no-progress'], env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no passages/);
  assert.ok(!existsSync(join(storage, 'snapshots/empty/manifest.json')));
  const ids = readdirSync(join(storage, 'snapshots')).filter((d) => existsSync(join(storage, 'snapshots', d, 'manifest.json')));
  assert.ok(!ids.includes('empty'));
  void copyFileSync;
});
