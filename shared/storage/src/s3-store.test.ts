import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ConditionalWritesUnsupportedError, ConfigError, ObjectNotFoundError, RagError, StorageError, TransientStorageError } from '@rag/core';
import { createObjectStore, parseStorageUrl } from './create-object-store.js';
import { LocalObjectStore } from './local-store.js';
import { objectStoreContract } from './object-store.contract.js';
import { startS3DevServer, type S3DevServer } from './s3-dev-server.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-store.js';

const BUCKET = 'rag-test';
let dir: string;
let server: S3DevServer;
const requests: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
const opened: S3ObjectStore[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-s3-store-'));
  server = await startS3DevServer({ port: 0, dir: join(dir, 's3rver'), buckets: [BUCKET], onRequest: (r) => requests.push(r) });
});
after(async () => {
  for (const s of opened) await s.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function s3(overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  const store = new S3ObjectStore({
    bucket: BUCKET,
    prefix: `t-${randomUUID()}`, // a private corner of the bucket for every test
    endpoint: server.endpoint,
    region: 'us-east-1',
    multipartMb: 5,
    credentials: server.credentials,
    ...overrides,
  });
  opened.push(store);
  return store;
}

/** A port that was just free: nothing listens there. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A real HTTP server that answers every request with one status and body (a broken or non-S3 endpoint). */
async function httpStub(status: number, body: string): Promise<{ srv: Server; url: string; hits: () => number }> {
  let n = 0;
  const srv = createHttpServer((req, res) => {
    n++;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return { srv, url: `http://127.0.0.1:${port}`, hits: () => n };
}

objectStoreContract('S3 (s3rver behind the dev server)', { makeStore: async () => s3(), atomicPutIfAbsent: true });

describe('conditional writes (put-if-absent)', () => {
  it('a server that ignores If-None-Match is found by the probe, and create-if-absent is refused in one clear line', async () => {
    const raw = await startS3DevServer({ port: 0, dir: join(dir, 's3rver-raw'), buckets: [BUCKET], conditionalWrites: false });
    try {
      const store = s3({ endpoint: raw.endpoint });
      const err = await store.putIfAbsent('leases/x.json', '{}').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ConditionalWritesUnsupportedError, `expected a refusal, got ${String(err)}`);
      assert.match(err.message, /ignores conditional writes \(If-None-Match: \*\)/);
      assert.equal(await store.exists('leases/x.json'), false, 'nothing written');
      assert.deepEqual(await store.list('probes/'), [], 'probe object removed');
      // Plain reads and writes still work there.
      await store.put('a.txt', 'x');
      assert.equal((await store.get('a.txt')).toString(), 'x');
    } finally {
      await raw.close();
    }
  });

  it('an SDK retry of a conditional PUT that committed (its answer lost) reads as won, not lost', async () => {
    // A proxy that forwards the first conditional PUT of the key, then cuts the connection instead of
    // answering: the SDK retries, the server answers 412 for the client's own committed write.
    let cut = 0;
    const proxy = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = new URL(req.url ?? '/', server.endpoint);
        const fwd = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
          const body: Buffer[] = [];
          up.on('data', (c: Buffer) => body.push(c));
          up.on('end', () => {
            if (req.method === 'PUT' && req.headers['if-none-match'] === '*' && req.url?.includes('claim.json') && cut === 0) {
              cut++;
              req.socket.destroy();
              return;
            }
            res.writeHead(up.statusCode ?? 500, up.headers);
            res.end(Buffer.concat(body));
          });
        });
        fwd.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const { port } = proxy.address() as { port: number };
      const store = s3({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 3 });
      assert.equal(await store.putIfAbsent('claim.json', 'mine'), true, 'the retried write is this call\'s');
      assert.equal(cut, 1, 'the first answer was lost');
      assert.equal(await store.putIfAbsent('claim.json', 'theirs'), false, 'other bytes still lose');
      assert.equal((await store.get('claim.json')).toString(), 'mine');
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('S3ObjectStore specifics', () => {
  it('starts the dev server on the reported ephemeral loopback port', () => {
    assert.ok(server.port > 0);
    assert.equal(server.endpoint, `http://127.0.0.1:${server.port}`);
  });

  it('stores exactly the sent bytes on the server (no aws-chunked framing), single PUT and multipart', async () => {
    const store = s3();
    const seenBefore = requests.length;
    const small = randomBytes(70_001);
    await store.put('raw/small.bin', small);
    const big = randomBytes(11 * 1024 * 1024 + 3); // 3 parts of 5 MiB
    const src = join(dir, `raw-${randomUUID()}.bin`);
    await (await import('node:fs/promises')).writeFile(src, big);
    await store.putFile('raw/big.bin', src);
    // s3rver keeps each object as a plain file: compare what is on its disk, not just what comes back.
    const onDisk = (key: string): string => join(dir, 's3rver', BUCKET, store.prefix, `${key}._S3rver_object`);
    assert.ok((await readFile(onDisk('raw/small.bin'))).equals(small));
    assert.equal((await stat(onDisk('raw/big.bin'))).size, big.length);
    assert.ok((await readFile(onDisk('raw/big.bin'))).equals(big));
    const mine = requests.slice(seenBefore).filter((r) => r.url.includes(store.prefix));
    const parts = mine.filter((r) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url));
    assert.equal(parts.length, 3, 'putFile of 11 MiB with 5 MiB parts uploads 3 parts');
    for (const r of mine.filter((x) => x.method === 'PUT')) {
      assert.notEqual(r.headers['content-encoding'], 'aws-chunked');
      assert.equal(r.headers['x-amz-decoded-content-length'], undefined);
      assert.ok(r.headers['content-length'] !== undefined, 'uploads carry a Content-Length');
    }
  });

  it('keeps stores with different prefixes apart, including prefixes that share a start', async () => {
    const base = `iso-${randomUUID()}`;
    const a = s3({ prefix: base });
    const b = s3({ prefix: `${base}2/` });
    await a.put('k', 'a');
    await b.put('k', 'b');
    assert.deepEqual(await a.list(''), ['k']);
    assert.deepEqual(await b.list(''), ['k']);
    assert.equal((await a.get('k')).toString(), 'a');
    assert.equal(a.description, `s3://${BUCKET}/${base}`);
    assert.equal(b.description, `s3://${BUCKET}/${base}2`);
    assert.equal(await a.deletePrefix('k'), 1);
    assert.equal((await b.get('k')).toString(), 'b');
  });

  it('an unreachable endpoint (closed port) fails within seconds with "cannot reach S3 endpoint"', async () => {
    const port = await closedPort();
    const store = s3({ endpoint: `http://127.0.0.1:${port}` });
    for (const op of [() => store.get('x'), () => store.put('x', 'y'), () => store.list('')]) {
      const t0 = Date.now();
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof TransientStorageError, String(e));
        assert.equal(e.retryable, true);
        assert.match(e.message, new RegExp(`cannot reach S3 endpoint http://127\\.0\\.0\\.1:${port}`));
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    }
  });

  it('an endpoint that is not S3 (bare 404s) is a StorageError about the endpoint, except for key reads', async () => {
    const { srv, url } = await httpStub(404, '');
    try {
      const store = s3({ endpoint: url });
      await assert.rejects(store.list(''), (e: unknown) => e instanceof StorageError && /AWS_ENDPOINT_URL/.test(e.hint ?? ''));
      await assert.rejects(store.put('k', 'v'), (e: unknown) => e instanceof StorageError && /answered 404/.test(e.message));
      assert.equal(await store.exists('k'), false);
    } finally {
      srv.close();
    }
  });

  it('5xx / SlowDown answers are retried by the SDK and then surface as TransientStorageError', async () => {
    const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
    const { srv, url, hits } = await httpStub(503, body);
    try {
      const store = s3({ endpoint: url, maxAttempts: 2 });
      const t0 = Date.now();
      await assert.rejects(store.get('k'), (e: unknown) => e instanceof TransientStorageError && e.retryable && /SlowDown/.test(e.message));
      assert.equal(hits(), 2, 'one try plus one SDK retry');
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      srv.close();
    }
  });

  it('a missing bucket is a non-retryable StorageError telling the user to create it', async () => {
    const store = s3({ bucket: `missing-${randomUUID().slice(0, 8)}` });
    for (const op of [() => store.put('x', 'y'), () => store.get('x'), () => store.list('')]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, 'STORAGE');
        assert.equal(e.retryable, false);
        assert.match(e.message, /does not exist/);
        assert.match(e.hint ?? '', /create the bucket/);
        return true;
      });
    }
  });

  it('rejected credentials give a hint about AWS_* and never leak the secret', async () => {
    const secret = `secret-${randomUUID()}`;
    const keyId = `AKIA${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
    const store = s3({ credentials: { accessKeyId: keyId, secretAccessKey: secret } });
    let caught: unknown;
    try {
      await store.put('x', 'y');
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof StorageError, String(caught));
    assert.match(caught.hint ?? '', /AWS_ACCESS_KEY_ID/);
    const views = [
      store.description, store.endpoint, JSON.stringify(store), inspect(store, { depth: 20, showHidden: true }), String(store),
      caught.message, caught.oneLine(), String(caught), inspect(caught, { depth: 20 }), JSON.stringify(caught.details),
      JSON.stringify(caught, Object.getOwnPropertyNames(caught)),
    ];
    for (const v of views) assert.ok(!v.includes(secret), `secret leaked in: ${v.slice(0, 200)}`);
    assert.ok(!JSON.stringify(store).includes(keyId));
    assert.ok(!inspect(store, { depth: 20, showHidden: true }).includes(keyId));
  });

  it('redacts a password embedded in the endpoint URL', () => {
    const store = s3({ endpoint: `http://user:hunter2@127.0.0.1:${server.port}` });
    assert.ok(!store.endpoint.includes('hunter2'));
    assert.ok(!inspect(store, { depth: 20 }).includes('hunter2'));
  });
});

describe('createObjectStore', () => {
  it('parses s3:// URLs into bucket and prefix', () => {
    assert.deepEqual(parseStorageUrl('s3://b/some/prefix/'), { kind: 's3', bucket: 'b', prefix: 'some/prefix' });
    assert.deepEqual(parseStorageUrl('s3://b'), { kind: 's3', bucket: 'b', prefix: '' });
    assert.throws(() => parseStorageUrl('s3:///x'), ConfigError);
    assert.throws(() => parseStorageUrl('gs://bucket/x'), ConfigError);
  });

  it('builds a working S3 store from StorageConfig and a local store from a path or file:// URL', async () => {
    const prefix = `cfg-${randomUUID()}`;
    const store = createObjectStore(
      { url: `s3://${BUCKET}/${prefix}`, endpoint: server.endpoint, region: 'us-east-1', multipartMb: 8 },
      { credentials: server.credentials },
    );
    try {
      assert.ok(store instanceof S3ObjectStore);
      assert.equal(store.description, `s3://${BUCKET}/${prefix}`);
      await store.put('hello.txt', 'hi');
      assert.equal((await store.get('hello.txt')).toString(), 'hi');
      await assert.rejects(store.get('nope'), ObjectNotFoundError);
    } finally {
      await store.close();
    }
    const local = createObjectStore({ url: join(dir, 'local-a'), region: 'us-east-1', multipartMb: 8 });
    assert.ok(local instanceof LocalObjectStore);
    assert.equal(local.root, join(dir, 'local-a'));
    const viaUrl = createObjectStore({ url: `file://${join(dir, 'local-b')}`, region: 'us-east-1', multipartMb: 8 });
    assert.ok(viaUrl instanceof LocalObjectStore);
    assert.equal(viaUrl.root, join(dir, 'local-b'));
    const rel = createObjectStore({ url: 'some/rel', region: 'us-east-1', multipartMb: 8 }) as LocalObjectStore;
    assert.equal(rel.root, join(process.cwd(), 'some/rel'));
  });

  it('every failure is a RagError with a stable code', async () => {
    const store = s3();
    const errs = await Promise.all([store.get('nope').catch((e) => e), store.put('../x', 'y').catch((e) => e)]);
    assert.deepEqual(errs.map((e) => (e instanceof RagError ? e.code : String(e))), ['OBJECT_NOT_FOUND', 'USAGE']);
  });
});
