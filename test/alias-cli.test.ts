// End-to-end: ./rag alias set/list/show/resolve/rollback and ./rag coordinator as a user runs them,
// on local storage and on an S3-API server, with and without REDIS_URL.
import '@rag/core/quiet-warnings';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { startEmbeddedRedis, createRedisConnection, type EmbeddedRedis } from '@rag/queue';
import { AliasRegistry, aliasCacheKey, type AliasRecord } from '@rag/registry';
import { publishManifestOnly } from '@rag/registry/testing';
import { LocalObjectStore, S3ObjectStore, startS3DevServer, type S3DevServer } from '@rag/storage';
import { collect, runRag, startRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('alias-cli');
const storage = join(dir.path, 'storage');
const env = { RAG_STORAGE: storage, RAG_HOME: join(dir.path, 'home') };
let redis: EmbeddedRedis;

before(async () => {
  const store = new LocalObjectStore(storage);
  for (const id of ['world-2016', 'world-2018']) await publishManifestOnly(store, id);
  redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
});
after(async () => {
  await redis.stop();
  dir.cleanup();
});

test('alias set, list, show, resolve and rollback on local storage', async () => {
  const set1 = await runRag(['alias', 'set', 'prod', 'world-2016'], env);
  assert.equal(set1.code, 0, set1.stderr);
  assert.match(set1.stdout, /^prod -> world-2016 \(version 1, /);
  assert.match(set1.stdout, /storage only/);
  const set2 = await runRag(['alias', 'set', 'prod', 'world-2018', '--json'], env);
  assert.equal(set2.code, 0, set2.stderr);
  const rec = JSON.parse(set2.stdout);
  assert.deepEqual([rec.schema, rec.name, rec.snapshot, rec.version, rec.previous], [1, 'prod', 'world-2018', 2, 'world-2016']);

  const list = await runRag(['alias', 'list', '--json'], env);
  assert.deepEqual(JSON.parse(list.stdout), [rec]);
  const table = await runRag(['alias', 'list'], env);
  assert.match(table.stdout, /^ALIAS\s+SNAPSHOT\s+VERSION/);
  assert.match(table.stdout, /\nprod\s+world-2018\s+2\s+world-2016\s/);
  const resolved = await runRag(['alias', 'resolve', 'prod'], env);
  assert.equal(resolved.stdout, 'world-2018\n');

  const back = await runRag(['alias', 'rollback', 'prod', '--json'], env);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual([JSON.parse(back.stdout).snapshot, JSON.parse(back.stdout).version], ['world-2016', 3]);
  const hist = await runRag(['alias', 'show', 'prod', '--history', '--json'], env);
  assert.deepEqual(JSON.parse(hist.stdout).map((h: AliasRecord) => h.snapshot), ['world-2016', 'world-2018', 'world-2016']);
});

test('bad names, unpublished snapshots and unknown refs fail with one line and a non-zero exit', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['alias', 'set', 'prod', 'world-2020'], 1, /snapshot world-2020 is not published .*published snapshots: world-2016, world-2018/],
    [['alias', 'set', 'Prod', 'world-2016'], 2, /invalid alias name "Prod"/],
    [['alias', 'set', 'world-2016', 'world-2018'], 2, /also a snapshot id/],
    [['alias', 'show', 'nope'], 1, /alias nope does not exist/],
    [['alias', 'resolve', 'nope'], 1, /no alias or published snapshot named nope .*snapshots: world-2016, world-2018/],
  ];
  const results = await Promise.all(cases.map(([args]) => runRag(args, env)));
  results.forEach((r, i) => {
    const [args, code, re] = cases[i]!;
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(r.stdout, '');
  });
  const help = await runRag(['alias', 'set', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: rag alias set \[options\] <name> <snapshot>/);
  const coordHelp = await runRag(['coordinator', '--help'], env);
  assert.match(coordHelp.stdout, /--port <n>/);
});

test('with an unreachable REDIS_URL, alias set still flips in storage and says it cannot reach that Redis', async () => {
  // A loopback port nothing listens on.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const r = await runRag(['alias', 'set', 'unreached', 'world-2016'], { ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`storage only \\(cannot reach Redis at redis://127\\.0\\.0\\.1:${port}\\)`));
  assert.doesNotMatch(r.stdout, /no REDIS_URL/);
  // Said once: the result line says it, so no warning repeats it (with --json, whose output has no such line, the warning does).
  assert.doesNotMatch(r.stderr, /cannot reach Redis/);
  const json = await runRag(['alias', 'set', 'unreached', 'world-2016', '--json'], { ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr.match(/written to storage only/g)?.length, 1, json.stderr);
  assert.equal(JSON.parse(json.stdout).snapshot, 'world-2016');
  const show = await runRag(['alias', 'show', 'unreached', '--json'], env);
  assert.equal(JSON.parse(show.stdout).snapshot, 'world-2016');
});

test('with REDIS_URL, alias set announces the flip to subscribers; the coordinator serves it', async () => {
  const conn = createRedisConnection(redis.url);
  const listener = new AliasRegistry({ store: new LocalObjectStore(storage), redis: conn });
  const heard: AliasRecord[] = [];
  await listener.subscribe((r) => heard.push(r));
  const renv = { ...env, REDIS_URL: redis.url };
  try {
    const r = await runRag(['alias', 'set', 'staging', 'world-2018', '--json'], renv);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    const deadline = Date.now() + 3000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(heard, [rec]);
    assert.deepEqual(JSON.parse((await conn.hget(aliasCacheKey('rag', listener.deployment), 'staging'))!), rec);

    const child = startRag(['coordinator', '--port', '0'], renv);
    const done = collect(child, 30_000);
    const first = await new Promise<string>((res) => createInterface({ input: child.stdout! }).once('line', res));
    const url = /coordinator on (http:\/\/\S+)/.exec(first)?.[1];
    assert.ok(url, first);
    const aliases = (await (await fetch(`${url}/api/aliases`)).json()) as AliasRecord[];
    // What storage holds (`alias list`, which has the earlier tests' aliases too), prod and staging among them.
    const listed = (JSON.parse((await runRag(['alias', 'list', '--json'], env)).stdout) as AliasRecord[]).map((a) => `${a.name}->${a.snapshot}`);
    assert.deepEqual(aliases.map((a) => `${a.name}->${a.snapshot}`), listed);
    assert.ok(listed.includes('prod->world-2016') && listed.includes('staging->world-2018'), listed.join(', '));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^rag_alias_version\{alias="staging",snapshot="world-2018",service="coordinator"\} 1$/m);
    assert.match(metrics, /^rag_snapshots_published\{service="coordinator"\} 2$/m);
    assert.match(metrics, /^rag_queue_jobs\{queue="qa",state="waiting",service="coordinator"\} 0$/m);
    assert.match(await (await fetch(`${url}/queues`)).text(), /<title>rag queues<\/title>/);
    child.kill('SIGINT');
    const end = await done;
    assert.equal(end.code, 0, end.stderr);
  } finally {
    await listener.close();
    conn.disconnect();
  }
});

test('alias set and list against an S3-API server', async () => {
  let s3: S3DevServer | undefined;
  try {
    s3 = await startS3DevServer({ port: 0, dir: join(dir.path, 's3rver'), buckets: ['rag'] });
    const store = new S3ObjectStore({ bucket: 'rag', prefix: 'deploy', endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, multipartMb: 5 });
    await publishManifestOnly(store, 'enwiki-2018');
    await store.close();
    const s3env = {
      RAG_HOME: join(dir.path, 'home'), RAG_STORAGE: 's3://rag/deploy', AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1',
    };
    const set = await runRag(['alias', 'set', 'prod', 'enwiki-2018'], s3env);
    assert.equal(set.code, 0, set.stderr);
    const bad = await runRag(['alias', 'set', 'prod', 'enwiki-2016'], s3env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not published in s3:\/\/rag\/deploy/);
    const list = await runRag(['alias', 'list', '--json'], s3env);
    assert.deepEqual(JSON.parse(list.stdout).map((a: AliasRecord) => [a.name, a.snapshot, a.version]), [['prod', 'enwiki-2018', 1]]);
  } finally {
    await s3?.close();
  }
});

/** Two `alias set --expect-version` processes started together, no REDIS_URL (so no lock): one wins. */
async function raceTwoWriters(env: Record<string, string>, expect: number): Promise<void> {
  const [a, b] = await Promise.all([
    collect(startRag(['alias', 'set', 'race', 'world-2016', '--expect-version', String(expect)], env), 60_000),
    collect(startRag(['alias', 'set', 'race', 'world-2018', '--expect-version', String(expect)], env), 60_000),
  ]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 1], `exactly one winner: ${a.stderr} | ${b.stderr}`);
  const loser = a.code === 0 ? b : a;
  assert.match(loser.stderr, new RegExp(`alias race is at version ${expect + 1}, not ${expect}`));
  assert.equal(loser.stderr.trim().split('\n').length <= 2, true, loser.stderr);
}

test('two processes racing alias set --expect-version: exactly one winner and one conflict error (local and S3)', async () => {
  for (let v = 0; v < 3; v++) await raceTwoWriters(env, v);
  const hist = await runRag(['alias', 'show', 'race', '--history', '--json'], env);
  assert.deepEqual(JSON.parse(hist.stdout).map((h: AliasRecord) => h.version), [1, 2, 3]);
  let s3: S3DevServer | undefined;
  try {
    s3 = await startS3DevServer({ port: 0, dir: join(dir.path, 's3race'), buckets: ['rag'] });
    const store = new S3ObjectStore({ bucket: 'rag', prefix: 'race', endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, multipartMb: 5 });
    for (const id of ['world-2016', 'world-2018']) await publishManifestOnly(store, id);
    await store.close();
    const s3env = {
      RAG_HOME: join(dir.path, 'home'), RAG_STORAGE: 's3://rag/race', AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1',
    };
    for (let v = 0; v < 2; v++) await raceTwoWriters(s3env, v);
  } finally {
    await s3?.close();
  }
});
