// Job payloads come from Redis: a worker must not read files outside its configured roots, whoever
// wrote the job. A real worker process, a real Redis, jobs written directly to the queue.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisConnection, startEmbeddedRedis } from '@rag/queue';
import { enqueueBuild, waitForBuild, PAYLOAD_VERSION, type BuildRequest } from '@rag/pipeline';
import { loadConfig } from '@rag/config';
import { startRag, collect } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const dir = tempDir('roots');
after(() => dir.cleanup());

test('a worker refuses job sources and encoder directories outside RAG_SOURCE_ROOTS / RAG_MODEL_ROOTS', { timeout: 300_000 }, async () => {
  const data = join(dir.path, 'data');
  mkdirSync(data);
  const good = join(data, 'ok.jsonl');
  writeTopicCorpus(good, 3);
  symlinkSync('/etc/passwd', join(data, 'looks-fine.jsonl'));
  const storage = join(dir.path, 'storage');
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const connection = createRedisConnection(redis.url);
  const env = { REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'roots', RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home'), RAG_SOURCE_ROOTS: data };
  const worker = startRag(['worker'], env);
  const exited = collect(worker, 300_000);
  const config = loadConfig({});
  const ctx = { connection, prefix: 'roots', queue: { ...config.queue, attempts: 1 } };
  const request = (id: string, path: string, encoderDir = config.encoder.dir): BuildRequest => ({
    v: PAYLOAD_VERSION, snapshotId: id, source: { path, format: 'jsonl' }, shardSize: 100, wordsPerPassage: 100,
    index: { kind: 'flat', params: {} }, encoderDir, requestedAt: new Date().toISOString(),
  });
  const failure = async (req: BuildRequest) => {
    await enqueueBuild(ctx, req);
    const err = await waitForBuild({ connection, prefix: 'roots', snapshotId: req.snapshotId }).then(() => null, (e: Error) => e);
    assert.ok(err, `${req.snapshotId} should fail`);
    return err.message;
  };
  try {
    assert.match(await failure(request('passwd', '/etc/passwd')), /PATH_NOT_ALLOWED.*source \/etc\/passwd is outside .*RAG_SOURCE_ROOTS=/);
    assert.match(await failure(request('symlink', join(data, 'looks-fine.jsonl'))), /PATH_NOT_ALLOWED.*looks-fine\.jsonl is outside/);
    assert.match(await failure(request('encoder', good, '/etc')), /PATH_NOT_ALLOWED.*model directory \/etc is outside .*RAG_MODEL_ROOTS=/);
    for (const id of ['passwd', 'symlink', 'encoder']) assert.ok(!existsSync(join(storage, 'snapshots', id)), `${id}: nothing written`);
    assert.ok(!existsSync(join(storage, 'objects')), 'no file was copied into storage');
  } finally {
    worker.kill('SIGTERM');
    const r = await exited;
    assert.equal(r.code, 0, 'the worker stops cleanly on SIGTERM');
    connection.disconnect();
    await redis.stop();
  }
});
