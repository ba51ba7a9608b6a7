// `./rag dev s3` prints the environment for the bucket it created, and that environment works as printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { collect, REPO, runRag, startRag } from './helpers/run-rag.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const STATIC_ENCODER = join(REPO, 'models/minilm-static-256');
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('dev-s3');
after(() => dir.cleanup());

test('dev s3 prints the bucket it created; the printed environment reaches it', { timeout: 120_000 }, async () => {
  const child = startRag(['dev', 's3', '--port', '0', '--dir', join(dir.path, 's3'), '--bucket', 'nightly-test'], {});
  const done = collect(child, 120_000);
  try {
    let use: string | undefined;
    for await (const l of createInterface({ input: child.stdout! })) {
      if (l.startsWith('use: ')) { use = l.slice(5); break; }
    }
    assert.ok(use, 'a use: line');
    assert.doesNotMatch(use!, /BUCKET/);
    const env = Object.fromEntries(use!.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
    assert.equal(env.RAG_STORAGE, 's3://nightly-test/rag');
    const list = await runRag(['alias', 'list'], { ...env, RAG_HOME: join(dir.path, 'home') });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /no aliases in s3:\/\/nightly-test\/rag/);
    // The README's distributed steps on one machine: put a dump into the bucket with `dev upload`, build from it.
    const corpus = join(dir.path, 'pages.jsonl');
    writeTopicCorpus(corpus, 4);
    const up = await runRag(['dev', 'upload', corpus, 's3://nightly-test/dumps/pages.jsonl'], env);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /uploaded .*pages\.jsonl \(\d+ bytes\) to s3:\/\/nightly-test\/dumps\/pages\.jsonl/);
    const built = await runRag(['snapshot', 'build', '--source', 's3://nightly-test/dumps/pages.jsonl', '--snapshot', 'from-s3', '--encoder', STATIC_ENCODER, '--workers', '1', '--no-progress'], { ...env, RAG_HOME: join(dir.path, 'home') });
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /published from-s3: \d+ passages/);
    const badUrl = await runRag(['dev', 'upload', corpus, 's3://nightly-test'], env);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /is not s3:\/\/BUCKET\/KEY/);
    // Another bucket does not exist there: the printed one is the real one.
    const other = await runRag(['alias', 'list'], { ...env, RAG_STORAGE: 's3://no-such-bucket/rag', RAG_HOME: join(dir.path, 'home') });
    assert.notEqual(other.code, 0);
  } finally {
    child.kill('SIGTERM');
  }
  const end = await done;
  assert.equal(end.code, 0, end.stderr);
});
