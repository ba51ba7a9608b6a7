// Credentials and tokens never reach a log line, an output or a stored object: a full S3 build in
// distributed mode (password-protected Redis, a local worker), searches and the coordinator, at the
// most verbose log level, with distinctive secret values that are then looked for everywhere.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedRedis } from '@rag/queue';
import { startS3DevServer } from '@rag/storage';
import { runRag, startRag, type RagResult } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTopicCorpus } from './helpers/corpus-fixtures.js';

const dir = tempDir('secrets');
after(() => dir.cleanup());

const SECRETS = {
  accessKeyId: 'AKIADISTINCTIVE7Q3X',
  secretAccessKey: 'sEcReT-aws-key-9f8e7d6c5b4a-DISTINCTIVE',
  sessionToken: 'sEsSiOn-token-1a2b3c4d-DISTINCTIVE',
  redisPassword: 'rEdIs-pass-5e6f7a8b-DISTINCTIVE',
  adminToken: 'aDmIn-token-0c1d2e3f-DISTINCTIVE',
};

/** Every file under `root`, recursively. */
function files(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

test('a full S3 build, search and coordinator never log or store a credential or token', { timeout: 600_000 }, async () => {
  // s3rver checks the access key id (not SigV4 signatures): register the distinctive one on this in-process server.
  const require = createRequire(import.meta.url);
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  DUMMY_ACCOUNT.createKeyPair(SECRETS.accessKeyId, SECRETS.secretAccessKey);
  const s3Requests: string[] = [];
  const s3 = await startS3DevServer({ port: 0, dir: join(dir.path, 's3'), buckets: ['rag'], onRequest: (r) => s3Requests.push(String(r.headers.authorization ?? '')) });
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis'), password: SECRETS.redisPassword });
  const source = join(dir.path, 'corpus.jsonl');
  writeTopicCorpus(source, 12);
  const home = join(dir.path, 'home');
  const env = {
    REDIS_URL: redis.url,
    RAG_QUEUE_PREFIX: 'secrets',
    RAG_STORAGE: 's3://rag/secret-test',
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: SECRETS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SECRETS.secretAccessKey,
    AWS_SESSION_TOKEN: SECRETS.sessionToken,
    RAG_ADMIN_TOKEN: SECRETS.adminToken,
    RAG_HOME: home,
    RAG_LOG_LEVEL: 'trace',
    RAG_DEBUG: '1',
  };
  const outputs: RagResult[] = [];
  try {
    const build = await runRag(['snapshot', 'build', '--source', source, '--snapshot', 'secret-snap', '--workers', '1', '--shard-size', '20', '--no-progress'], env);
    outputs.push(build);
    assert.equal(build.code, 0, build.stderr.slice(-3000));
    assert.match(build.stdout, /published secret-snap/);
    assert.ok(s3Requests.some((a) => a.includes(SECRETS.accessKeyId)), 'the build really went through S3 with these credentials');
    outputs.push(await runRag(['search', '--snapshot', 'secret-snap', '--query', 'volcano lava', '--json'], env));
    assert.equal(outputs.at(-1)!.code, 0, outputs.at(-1)!.stderr.slice(-2000));
    outputs.push(await runRag(['snapshot', 'list'], env));
    // A failure path too: errors print the Redis URL (redacted) and storage.
    outputs.push(await runRag(['snapshot', 'build', '--source', source, '--snapshot', 'secret-snap', '--no-progress'], env));
    assert.notEqual(outputs.at(-1)!.code, 0);

    // The coordinator with the admin token, taking an authenticated and an unauthenticated write.
    const coord = startRag(['coordinator', '--port', '0'], env);
    let out = '';
    coord.stdout!.on('data', (d) => { out += d; });
    coord.stderr!.on('data', (d) => { out += d; });
    const deadline = Date.now() + 60_000;
    while (!/coordinator on (http:\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const url = /coordinator on (http:\S+)/.exec(out)?.[1];
    assert.ok(url, out);
    assert.equal((await fetch(`${url}/queues/api/queues/ingest/pause`, { method: 'PUT', headers: { authorization: `Bearer ${SECRETS.adminToken}` } })).status, 200);
    assert.equal((await fetch(`${url}/queues/api/queues/ingest/resume`, { method: 'PUT', headers: { authorization: 'Bearer not-the-token-xxxxxxxx' } })).status, 401);
    coord.kill('SIGTERM');
    await new Promise((r) => coord.once('close', r));
    outputs.push({ code: coord.exitCode, signal: null, stdout: out, stderr: '' });

    const texts: Array<[string, string]> = outputs.flatMap((o, i) => [[`output ${i} stdout`, o.stdout], [`output ${i} stderr`, o.stderr]] as Array<[string, string]>);
    // Worker logs, the embedded worker's everything, and every stored object (manifests, markers, metadata).
    for (const f of [...files(home), ...files(join(dir.path, 's3'))]) texts.push([f, readFileSync(f).toString('latin1')]);
    assert.ok(texts.some(([name, t]) => name.includes('worker-0.log') && /"level":(10|20|30)/.test(t)), 'the worker logged at debug level or below');
    for (const [what, secret] of Object.entries(SECRETS)) {
      for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
        for (const [name, t] of texts) assert.ok(!t.includes(form), `${what} found in ${name}`);
      }
    }
  } finally {
    await redis.stop();
    await s3.close();
  }
});
