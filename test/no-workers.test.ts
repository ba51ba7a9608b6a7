// Distributed mode with nobody listening: a build and a QA run say which queues have no worker and how to
// start one, stop waiting after RAG_NO_WORKER_WAIT_S with their jobs still queued, and the same command
// follows them to the end once a worker starts. A real redis-server on a loopback port, real workers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { collect, REPO, runRag, startRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const dir = tempDir('no-workers');
let redis: EmbeddedRedis | undefined;
after(async () => {
  await redis?.stop();
  dir.cleanup();
});

test('no worker listening: the queues and the command to start one, then it stops waiting; the same command finishes once a worker runs', { timeout: 300_000 }, async () => {
  redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const corpus = join(dir.path, 'pages.jsonl');
  writeTopicCorpus(corpus, 4);
  const env = {
    REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'nw', RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home'),
    RAG_NO_WORKER_WAIT_S: '1', RAG_ENCODER: join(REPO, 'models/minilm-static-256'), RAG_SOURCE_ROOTS: dir.path,
  };
  const build = ['snapshot', 'build', '--source', corpus, '--snapshot', 'nw', '--no-progress'];
  const first = await runRag(build, env);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /no worker is listening on queue\(s\) ingest, encode, index, publish \(prefix nw\); start some with the same REDIS_URL and RAG_STORAGE: \.\/rag worker --roles ingest,encode,index; waiting 1 s for one/);
  assert.match(first.stderr, /no worker has listened on queues ingest, encode, index, publish \(prefix nw\) for 1 s; stopped waiting/);
  assert.match(first.stderr, /the build of nw stays queued: .*run the same command again/);

  const questions = join(dir.path, 'q.txt');
  writeFileSync(questions, 'What is a volcano?\nWhat do bees make?\n');
  const worker = startRag(['worker', '--roles', 'ingest,encode,index'], env);
  const exited = collect(worker, 300_000);
  try {
    const again = await runRag(build, env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /published nw: \d+ passages/);
    // The build's worker does not answer questions: a QA run says the same of its queue.
    const qa = await runRag(['qa', 'run', '--questions', questions, '--snapshot', 'nw', '--mode', 'retrieve-only', '--no-progress'], env);
    assert.equal(qa.code, 1, qa.stderr);
    assert.match(qa.stderr, /no worker is listening on queue qa \(prefix nw\); start some with the same REDIS_URL and RAG_STORAGE: \.\/rag worker --roles generate; waiting 1 s/);
    assert.match(qa.stderr, /stays queued: .*--wait-for-workers/);
  } finally {
    worker.kill('SIGTERM');
    await exited;
  }
});
