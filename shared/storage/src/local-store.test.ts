import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { ObjectNotFoundError, StorageError } from '@rag/core';
import { LocalObjectStore } from './local-store.js';
import { objectStoreContract } from './object-store.contract.js';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-local-store-'));
  roots.push(dir);
  return dir;
}
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

objectStoreContract('local directory', {
  makeStore: async () => new LocalObjectStore(join(await freshRoot(), 'store')),
  atomicPutIfAbsent: true,
});

describe('LocalObjectStore specifics', () => {
  it('describes itself as a file:// URL of the absolute root', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    assert.equal(store.description, pathToFileURL(root).href);
  });

  it('ignores temp files a crashed write left behind, and leaves none after normal writes', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('shards/000.bin', 'whole');
    // What a crash between write and rename leaves: a temp file next to the target.
    await writeFile(join(root, 'shards', '.001.bin.rag-tmp-deadbeef'), 'half-writt');
    assert.deepEqual(await store.list(''), ['shards/000.bin']);
    await assert.rejects(store.get('shards/001.bin'), ObjectNotFoundError);
    await store.putFile('shards/002.bin', join(root, 'shards', '000.bin'));
    assert.equal(await store.putIfAbsent('shards/003.bin', 'y'), true);
    assert.equal(await store.putIfAbsent('shards/003.bin', 'z'), false);
    const names = (await readdir(join(root, 'shards'))).sort();
    assert.deepEqual(names, ['.001.bin.rag-tmp-deadbeef', '000.bin', '002.bin', '003.bin']);
  });

  it('removes directories emptied by deletes', async () => {
    const root = await freshRoot();
    const store = new LocalObjectStore(root);
    await store.put('a/b/c/d', 'x');
    await store.put('a/keep', 'x');
    await store.delete('a/b/c/d');
    assert.deepEqual(await readdir(join(root, 'a')), ['keep']);
    assert.equal(await store.deletePrefix('a/'), 1);
    assert.deepEqual(await readdir(root), []);
  });

  it('a key that is also a prefix of another key is a StorageError with a hint', async () => {
    const store = new LocalObjectStore(await freshRoot());
    await store.put('a', 'file');
    await assert.rejects(store.put('a/b', 'x'), (e: unknown) => e instanceof StorageError && /file where a directory is needed/.test(e.message) && !!e.hint);
    await store.put('c/d', 'x');
    await assert.rejects(store.put('c', 'x'), StorageError);
    assert.equal((await store.get('a')).toString(), 'file');
  });

  it('a root that is a file is a StorageError whose hint names the root', async () => {
    const root = await freshRoot();
    await writeFile(join(root, 'plain-file'), 'x');
    const store = new LocalObjectStore(join(root, 'plain-file'));
    await assert.rejects(store.put('k', 'v'), (e: unknown) => e instanceof StorageError && !!e.hint?.includes(join(root, 'plain-file')));
    assert.deepEqual(await store.list(''), []);
  });

  it('an unwritable root is a StorageError naming the directory', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root ignores permissions');
    const root = await freshRoot();
    await mkdir(join(root, 'ro'), { mode: 0o500 });
    const store = new LocalObjectStore(join(root, 'ro'));
    await assert.rejects(store.put('x', 'y'), (e: unknown) => e instanceof StorageError && e.hint !== undefined);
  });

  it('a root where mkdir fails although the parent exists (/proc) fails instead of hanging', { skip: !existsSync('/proc/self') && 'no /proc' }, async () => {
    // Node's recursive mkdir never settles there; the build waited forever.
    const store = new LocalObjectStore('/proc/rag-no-such-dir');
    await assert.rejects(store.put('a/b/c', 'v'), (e: unknown) => e instanceof StorageError && /\/proc\/rag-no-such-dir/.test(e.message) && /RAG_STORAGE=/.test(e.hint ?? ''));
    await assert.rejects(store.putIfAbsent('a/b', 'v'), StorageError);
  });
});
