/**
 * The behaviour every ObjectStore must have, run against each backend by its own *.test.ts file.
 * Not a test file itself (no .test.ts suffix), so the runner only executes it through those.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ObjectNotFoundError, UsageError } from '@rag/core';
import type { ObjectStore } from './object-store.js';

export interface ContractOptions {
  /** A fresh, empty store (unique directory or bucket prefix) for one test. */
  makeStore(): Promise<ObjectStore>;
  /** True where concurrent putIfAbsent calls are guaranteed to have exactly one winner. */
  atomicPutIfAbsent: boolean;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

async function mapLimit<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export function objectStoreContract(name: string, opts: ContractOptions): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let scratch: string;
    const stores: ObjectStore[] = [];
    const fresh = async (): Promise<ObjectStore> => {
      const s = await opts.makeStore();
      stores.push(s);
      return s;
    };
    before(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'rag-storage-contract-'));
    });
    after(async () => {
      for (const s of stores) await s.close();
      await rm(scratch, { recursive: true, force: true });
    });

    for (const size of [0, 1, 1024 * 1024 + 7]) {
      it(`round-trips ${size} random bytes exactly through put/get/getStream/getToFile`, async () => {
        const store = await fresh();
        const data = randomBytes(size);
        if (size > 0) data[0] = 0; // make sure NUL bytes are in play
        const res = await store.put(`bin/${size}.bin`, data);
        assert.deepEqual(res, { key: `bin/${size}.bin`, size, sha256: sha(data) });
        assert.ok((await store.get(`bin/${size}.bin`)).equals(data));
        assert.ok((await readAll(await store.getStream(`bin/${size}.bin`))).equals(data));
        const out = join(scratch, `out-${size}-${Date.now()}`, 'nested', 'file.bin');
        await store.getToFile(`bin/${size}.bin`, out);
        assert.ok((await readFile(out)).equals(data));
        assert.equal(await store.exists(`bin/${size}.bin`), true);
      });
    }

    it('stores strings as UTF-8 and overwrites on a second put', async () => {
      const store = await fresh();
      await store.put('t.txt', 'first');
      const res = await store.put('t.txt', 'zweite Größe ✓');
      assert.equal(res.size, Buffer.byteLength('zweite Größe ✓'));
      assert.equal((await store.get('t.txt')).toString('utf8'), 'zweite Größe ✓');
    });

    it('uploads a 17 MiB file via putFile (multipart on S3) byte-exactly, with the right sha256', async (t) => {
      const store = await fresh();
      const data = randomBytes(17 * 1024 * 1024);
      const src = join(scratch, `big-${Date.now()}.bin`);
      await writeFile(src, data);
      const t0 = performance.now();
      const res = await store.putFile('big/shard-000.bin', src);
      const t1 = performance.now();
      const back = await store.get('big/shard-000.bin');
      const t2 = performance.now();
      assert.deepEqual(res, { key: 'big/shard-000.bin', size: data.length, sha256: sha(data) });
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data));
      const out = join(scratch, `big-out-${Date.now()}.bin`);
      await store.getToFile('big/shard-000.bin', out);
      assert.equal((await stat(out)).size, data.length);
      assert.equal(sha(await readFile(out)), res.sha256);
      const mb = data.length / 1e6;
      t.diagnostic(`${name}: putFile 17 MiB ${(mb / ((t1 - t0) / 1000)).toFixed(1)} MB/s, get ${(mb / ((t2 - t1) / 1000)).toFixed(1)} MB/s`);
    });

    it('putFile of a missing source file is a UsageError and stores nothing', async () => {
      const store = await fresh();
      await assert.rejects(store.putFile('x.bin', join(scratch, 'does-not-exist')), UsageError);
      assert.equal(await store.exists('x.bin'), false);
    });

    it('putIfAbsent writes once and never overwrites', async () => {
      const store = await fresh();
      assert.equal(await store.putIfAbsent('manifest.json', '{"v":1}'), true);
      assert.equal(await store.putIfAbsent('manifest.json', '{"v":2}'), false);
      assert.equal((await store.get('manifest.json')).toString(), '{"v":1}');
      // A plain put may still replace it; only putIfAbsent is conditional.
      assert.equal(await store.putIfAbsent('other/manifest.json', new Uint8Array([1, 2, 3])), true);
      assert.deepEqual([...(await store.get('other/manifest.json'))], [1, 2, 3]);
    });

    if (opts.atomicPutIfAbsent) {
      it('concurrent putIfAbsent calls have exactly one winner, whose bytes are stored', async () => {
        const store = await fresh();
        const bodies = Array.from({ length: 8 }, (_, i) => `writer-${i}-${'x'.repeat(10000 * i)}`);
        const won = await Promise.all(bodies.map((b) => store.putIfAbsent('race/manifest', b)));
        assert.equal(won.filter(Boolean).length, 1);
        assert.equal((await store.get('race/manifest')).toString(), bodies[won.indexOf(true)]);
        assert.deepEqual(await store.list('race/'), ['race/manifest']);
      });
    }

    it('getRange: the bytes [start, end) of an object', async () => {
      const store = await fresh();
      const body = Buffer.from('0123456789abcdef'.repeat(1000));
      await store.put('r/a', body);
      assert.equal((await store.getRange('r/a', 3, 7)).toString(), '3456');
      assert.deepEqual(await store.getRange('r/a', 15990, 16000), body.subarray(15990));
      assert.equal((await store.getRange('r/a', 5, 5)).length, 0);
      await assert.rejects(store.getRange('r/missing', 0, 1), ObjectNotFoundError);
      await assert.rejects(store.getRange('r/a', 4, 2), UsageError);
    });

    it('head: size and a recent write time, null when missing', async () => {
      const store = await fresh();
      const before = Date.now();
      await store.put('h/a', 'hello');
      const info = await store.head('h/a');
      assert.ok(info, 'head of an existing object');
      assert.equal(info.size, 5);
      // S3 keeps whole seconds; local file systems may round too.
      assert.ok(info.modifiedMs >= before - 2000 && info.modifiedMs <= Date.now() + 2000, `modifiedMs ${info.modifiedMs} near now`);
      assert.equal(await store.head('h/missing'), null);
    });

    it('exists/delete: delete removes, deleting a missing key is a no-op', async () => {
      const store = await fresh();
      await store.put('d/a', 'a');
      await store.put('d/b', 'b');
      assert.equal(await store.exists('d/a'), true);
      await store.delete('d/a');
      assert.equal(await store.exists('d/a'), false);
      await assert.rejects(store.get('d/a'), ObjectNotFoundError);
      await store.delete('d/a');
      await store.delete('never/was');
      assert.deepEqual(await store.list(''), ['d/b']);
    });

    it('missing keys raise ObjectNotFoundError (get, getStream, getToFile) and leave no file behind', async () => {
      const store = await fresh();
      await store.put('present/x', 'x');
      for (const key of ['absent', 'present/absent', 'present', 'present/x/deeper']) {
        await assert.rejects(store.get(key), (e: unknown) => e instanceof ObjectNotFoundError && (e as ObjectNotFoundError).code === 'OBJECT_NOT_FOUND' && !(e as ObjectNotFoundError).retryable);
        await assert.rejects(store.getStream(key), ObjectNotFoundError);
        const out = join(scratch, `missing-${Date.now()}`, 'f');
        await assert.rejects(store.getToFile(key, out), ObjectNotFoundError);
        await assert.rejects(stat(out), { code: 'ENOENT' });
        assert.equal(await store.exists(key), false);
      }
    });

    it('list: sorted, plain string-prefix semantics, nothing outside the prefix', async () => {
      const store = await fresh();
      const keys = ['s/b/2', 's/a1', 's/a/1', 's/a/0', 's/ab/c/d', 't/a', 'sa', 'z'];
      for (const k of keys) await store.put(k, k);
      assert.deepEqual(await store.list(''), [...keys].sort());
      assert.deepEqual(await store.list('s/'), ['s/a/0', 's/a/1', 's/a1', 's/ab/c/d', 's/b/2']);
      assert.deepEqual(await store.list('s/a'), ['s/a/0', 's/a/1', 's/a1', 's/ab/c/d']);
      assert.deepEqual(await store.list('s/a/'), ['s/a/0', 's/a/1']);
      assert.deepEqual(await store.list('s'), ['s/a/0', 's/a/1', 's/a1', 's/ab/c/d', 's/b/2', 'sa']);
      assert.deepEqual(await store.list('nothing/here/'), []);
      assert.deepEqual(await store.list('s/a/1'), ['s/a/1']);
    });

    it('lists and deletes more than 1000 keys under a prefix (pagination)', async () => {
      const store = await fresh();
      const n = 1105;
      const keys = Array.from({ length: n }, (_, i) => `many/p${String(i % 7)}/k-${String(i).padStart(5, '0')}`);
      await mapLimit(keys, 16, (k) => store.put(k, k));
      await store.put('keep/me', 'k');
      const listed = await store.list('many/');
      assert.equal(listed.length, n);
      assert.deepEqual(listed, [...keys].sort());
      assert.equal(await store.deletePrefix('many/'), n);
      assert.deepEqual(await store.list('many/'), []);
      assert.deepEqual(await store.list(''), ['keep/me']);
      assert.equal(await store.deletePrefix('many/'), 0);
    });

    it('rejects invalid keys and prefixes with UsageError', async () => {
      const store = await fresh();
      const bad = ['', '/abs', 'a/../b', '..', 'a/./b', 'a//b', 'a/', 'win\\path', 'a\0b', 'x/.y.rag-tmp-123'];
      for (const key of bad) {
        await assert.rejects(store.put(key, 'x'), UsageError, `put ${JSON.stringify(key)}`);
        await assert.rejects(store.get(key), UsageError, `get ${JSON.stringify(key)}`);
        await assert.rejects(store.exists(key), UsageError);
        await assert.rejects(store.delete(key), UsageError);
        await assert.rejects(store.putIfAbsent(key, 'x'), UsageError);
      }
      for (const prefix of ['/abs', '../x', 'a//', 'a\\b']) await assert.rejects(store.list(prefix), UsageError, prefix);
      await assert.rejects(store.deletePrefix(''), UsageError);
      assert.deepEqual(await store.list(''), []);
    });
  });
}
